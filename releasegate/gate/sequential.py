"""Sequential stopping of load rounds: an always-valid look after each completed round pair.

Load rounds run in interleaved pairs. After each completed pair k ≥ ``min_pairs`` the runner
calls :func:`look`, which gives every load check (tails, throughput, peak memory) an
always-valid estimate from the per-pair effects r₁…r_k (negative = candidate worse): for
tails rᵢ = log HD_q(incumbentᵢ) − log HD_q(candidateᵢ) (Harrell–Davis); for throughput
log(candidateᵢ / incumbentᵢ); for peak memory log(incumbentᵢ / candidateᵢ).

Inference is the mSPRT (:func:`releasegate.stats.msprt`) with a N(0, τ²) mixture,
τ = ``tau_scale``·M, M = log(1 + margin). τ = 2M weights regressions of about twice the
margin, the size the default sample sizes are powered for (τ = M decided clear-cut
regressions ~20 % later in simulation). V, the per-pair variance, comes from the data: at
look j the 98 % (``variance_confidence``) upper confidence bound s²·(j − 1)/χ²_{j−1}(0.02),
never below (``variance_floor``·M)² so near-identical pairs (peak memory) cannot claim
impossible precision. The bound, not s², keeps the looks honest: s² on 2–4 degrees of
freedom is often far too small, and with it the simulated false-FAIL rate of the looks was
~8 % instead of ≤ 1 %.

- ci: the (1 − (1 − pass_confidence)) confidence sequence, intersected over looks; its lower
  bound is a one-sided always-valid bound at level ≥ ``pass_confidence``.
- p_worse: always-valid one-sided p for H0: Δ ≥ 0, the least 1/Λ_j over looks j whose
  running mean was below 0 (never increases).
- verdicts: :func:`releasegate.gate.decide.decide_checks` on these estimates (quality and
  request errors compared as usual) at family α = ``alpha_share``·gate.alpha, Holm over all
  the gate's checks as the final decide does, so a look's verdicts are what the report
  says: pass when the CS lower bound > −M, fail when the adjusted p rejects and the
  estimate < −M, else undecided.
- stop (never before ``min_pairs`` round pairs have run, dead rounds included): every
  critical load check decided, or (``stop_on_fail``) a critical check, quality and request
  errors included, failed — even when a dead candidate left no complete pair — or every undecided
  critical load check reached its cap.

Why α holds under looks: for known V, Λ_j(θ₀) is a non-negative martingale under θ₀, so by
Ville's inequality P(∃ j: Λ_j ≥ 1/α) ≤ α however often one looks and whenever one stops; a
lower-side crossing is less likely at any θ > 0 than at 0, so the one-sided p is valid for
H0: Δ ≥ 0, and Holm over valid p-values keeps the family-wise rate. A run that reaches the
cap undecided falls back to the fixed-n gate at the remaining (1 − ``alpha_share``)·α
(:func:`fallback_suite`): looks plus fallback spend at most α.

Caveat: Ville's bound assumes V known and normal effects. V is a plug-in (a random upper
bound), so the guarantee is approximate; the inflated V, the floor, ``min_pairs`` ≥ 3 and
the α split keep the simulated false-FAIL rate below α (``benchmarks/gate_calibration.py``),
but noise far from normal (rare huge stalls in a few rounds) can still break it.
Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as sps

from releasegate.gate.compare import (
    ROUND_VALUES,
    TAILS,
    Comparison,
    compare_all,
    compare_errors,
    compare_quality,
    metric_unit,
    tail_pairs,
    tail_values,
    value_pairs,
)
from releasegate.gate.decide import decide_checks
from releasegate.gate.result import CheckResult, Verdict
from releasegate.records.views import RunRecords
from releasegate.stats import Estimate, msprt
from releasegate.stats.tails import round_log_ratios
from releasegate.suite import CheckSpec, Suite

__all__ = [
    "Look",
    "SequentialConfig",
    "always_valid",
    "compare_evals",
    "fallback_suite",
    "final_checks",
    "is_load_check",
    "look",
    "pair_effects",
]


@dataclass(frozen=True)
class SequentialConfig:
    """How the looks behave (the lead may map a suite section onto this).

    Attributes:
        min_pairs: first look after this many completed pairs.
        max_pairs: cap on pairs per check; None = the rounds of the check's load workloads.
        alpha_share: share of gate.alpha the looks spend; the fixed-n fallback gets the rest.
        tau_scale: mixing SD τ as a multiple of the log margin M.
        variance_confidence: V at look j is this upper confidence bound of the per-pair
            variance, s²·(j − 1)/χ²_{j−1}(1 − variance_confidence), not s² itself.
        variance_floor: per-pair SD floor as a multiple of M.
        stop_on_fail: also stop once any critical check (quality and request errors
            included) has failed and at least ``min_pairs`` round pairs have run — on by
            default, as in the suite schema (``gate.sequential.stop_on_fail``); off, every
            critical load check gets decided.
    """

    min_pairs: int = 3
    max_pairs: int | None = None
    alpha_share: float = 0.5
    tau_scale: float = 2.0
    variance_confidence: float = 0.98
    variance_floor: float = 0.25
    stop_on_fail: bool = True

    def __post_init__(self) -> None:
        if self.min_pairs < 2:
            raise ValueError("min_pairs must be at least 2 (a variance needs two pairs)")
        if self.max_pairs is not None and self.max_pairs < self.min_pairs:
            raise ValueError("max_pairs must be at least min_pairs")
        if not 0.0 < self.alpha_share <= 1.0:
            raise ValueError("alpha_share must lie in (0, 1]")
        if not (self.tau_scale > 0 and self.variance_floor > 0):
            raise ValueError("tau_scale and variance_floor must be positive")
        if not 0.5 <= self.variance_confidence < 1.0:
            raise ValueError("variance_confidence must lie in [0.5, 1)")

    @classmethod
    def from_policy(cls, policy: object) -> SequentialConfig:
        """The config a policy carries as ``sequential`` (a mapping or object), else defaults."""
        given = getattr(policy, "sequential", None)
        if given is None:
            return cls()
        if isinstance(given, SequentialConfig):
            return given
        data = given if isinstance(given, dict) else getattr(given, "__dict__", {})
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Look:
    """The state of the gate after a look.

    Attributes:
        pairs: fewest round pairs run (dead rounds included) over the critical load checks'
            workloads (0 if none).
        estimates: load check name → always-valid estimate.
        comparisons: every check, load checks carrying the sequential estimate.
        checks: decide_checks of ``comparisons`` at the looks' α.
        stop: whether to stop running load rounds now.
        decided: stopped because the verdicts are settled (not merely at the cap);
            then ``checks`` is final, otherwise use :func:`final_checks`.
        reason: why it stops or goes on.
    """

    pairs: int
    estimates: dict[str, Estimate]
    comparisons: list[Comparison]
    checks: list[CheckResult]
    stop: bool
    decided: bool
    reason: str

    @property
    def verdicts(self) -> dict[str, Verdict]:
        """Check name → verdict at this look."""
        return {c.name: c.verdict for c in self.checks}


def is_load_check(check: CheckSpec) -> bool:
    """Whether a check is judged from load rounds (and so sequentially)."""
    return check.metric in TAILS or check.metric in ROUND_VALUES or check.metric == "peak_rss"


def _wanted(check: CheckSpec, workload: str) -> bool:
    return check.workload is None or workload == check.workload


@dataclass(frozen=True)
class _Pairs:
    """A load check's per-pair effects, the arms' plain values, and the round pairs run."""

    effects: np.ndarray
    candidate: float | None
    incumbent: float | None
    ran: int
    note: str


def _pairs(check: CheckSpec, run: RunRecords, order: Sequence[str]) -> _Pairs:
    """Per-pair effects from the run's one paired view (the fixed-n gate reads the same)."""
    ran = len(run.rounds.ran(check.workload))
    if check.metric in TAILS:
        q = TAILS[check.metric][1]
        tails = tail_pairs(check, run, order)
        if not tails.keys:
            return _Pairs(np.zeros(0), None, None, ran, tails.note())
        r = round_log_ratios(tails.candidate, tails.incumbent, q)  # what tail_ratio averages
        cand, inc = tail_values(tails, q)
        return _Pairs(r, cand, inc, ran, tails.note())
    values = value_pairs(check, run, order)
    if not values.keys:
        return _Pairs(np.zeros(0), None, None, ran, values.note())
    c, i = values.candidate, values.incumbent
    memory = check.metric == "peak_rss"
    r = np.log(i / c) if memory else np.log(c / i)
    scale = 1e-6 if memory else 1.0
    return _Pairs(r, scale * float(c.mean()), scale * float(i.mean()), ran, values.note())


def pair_effects(
    check: CheckSpec, run: RunRecords, order: Sequence[str] = ()
) -> tuple[np.ndarray, float | None, float | None]:
    """Per-pair effects of a load check (negative = candidate worse) and the arms' values.

    Rounds are paired by (workload, round) and ordered as they ran (workloads in ``order``,
    the suite's load order, then by round), with the zero-gap and dead-round rules of
    :mod:`releasegate.records.paired` — the pairs the fixed-n gate compares. The values are
    what people read: HD quantile in ms, mean tok/s or req/s, MB.
    """
    found = _pairs(check, run, order)
    return found.effects, found.candidate, found.incumbent


@lru_cache(maxsize=512)
def _inflation(df: int, confidence: float) -> float:
    """s² → its one-sided ``confidence`` upper bound: df / χ²_df(1 − confidence)."""
    return df / float(sps.chi2.ppf(1.0 - confidence, df))


def always_valid(
    effects: np.ndarray, margin: float, confidence: float, config: SequentialConfig
) -> Estimate:
    """mSPRT estimate after the last of ``effects`` (looks at min_pairs, …, len(effects)).

    Look j uses V_j (the inflated, floored variance of r₁…r_j) and the sufficient statistic
    r̄_j ~ N(θ, V_j/j), so ``msprt([r̄_j], V_j/j, τ²)`` gives exactly Λ_j and the look's
    interval; p and the interval are then combined over looks (min / intersection).
    """
    n = int(effects.size)
    scale = margin if margin > 0 else 0.01
    method = f"mSPRT confidence sequence, {max(0, n - config.min_pairs + 1)} looks"
    if n < config.min_pairs:
        mean = float(effects.mean()) if n else math.nan
        return Estimate(mean, -math.inf, math.inf, 1.0, n, method, None)
    tau2 = (config.tau_scale * scale) ** 2
    floor = (config.variance_floor * scale) ** 2
    low, high, p_worse, v = -math.inf, math.inf, 1.0, floor
    for j in range(config.min_pairs, n + 1):
        head = effects[:j]
        mean = float(head.mean())
        v = max(floor, float(head.var(ddof=1)) * _inflation(j - 1, config.variance_confidence))
        res = msprt([mean], v / j, tau2, alpha=1.0 - confidence)
        low, high = max(low, float(res.ci_low[0])), min(high, float(res.ci_high[0]))
        if mean < 0:
            p_worse = min(p_worse, float(res.p_values[0]))
    mean = float(effects.mean())
    if low > high:  # plug-in variances disagree: keep the latest look's interval
        low, high = float(res.ci_low[0]), float(res.ci_high[0])
    return Estimate(mean, low, high, p_worse, n, method, math.sqrt(v / n))


def _with_alpha(suite: Suite, alpha: float) -> Suite:
    return suite.model_copy(update={"gate": suite.gate.model_copy(update={"alpha": alpha})})


def fallback_suite(suite: Suite, config: SequentialConfig | None = None) -> Suite:
    """The suite whose gate.alpha is what is left for the fixed-n gate after the looks."""
    config = config or SequentialConfig.from_policy(suite.gate)
    if config.alpha_share >= 1.0:
        return suite
    return _with_alpha(suite, suite.gate.alpha * (1.0 - config.alpha_share))


def _caps(suite: Suite, check: CheckSpec, config: SequentialConfig) -> int:
    if config.max_pairs is not None:
        return config.max_pairs
    rounds = [w.rounds for w in suite.load if _wanted(check, w.name)]
    return max(config.min_pairs, sum(rounds))


def compare_evals(suite: Suite, run: RunRecords) -> dict[str, Comparison]:
    """Quality comparisons (eval is complete before load), to compute once and pass to looks."""
    policy = suite.gate
    return {
        c.name: compare_quality(c, run, policy.pass_confidence)
        for c in policy.all_checks()
        if c.metric == "quality"
    }


def look(
    suite: Suite,
    run: RunRecords,
    config: SequentialConfig | None = None,
    *,
    evals: dict[str, Comparison] | None = None,
) -> Look:
    """Judge the run so far: always-valid load estimates, verdicts and whether to stop.

    Args:
        suite: the suite (its gate policy: alpha, pass_confidence, checks).
        run: the records so far (eval items complete, load rounds up to the last full pair).
        config: look settings; default from ``suite.gate`` (see `SequentialConfig.from_policy`).
        evals: quality comparisons from :func:`compare_evals`, reused instead of recomputed.
    """
    config = config or SequentialConfig.from_policy(suite.gate)
    policy = suite.gate
    evals = evals if evals is not None else compare_evals(suite, run)
    comparisons: list[Comparison] = []
    estimates: dict[str, Estimate] = {}
    ran: dict[str, int] = {}  # critical load check → round pairs run
    capped: dict[str, bool] = {}
    order = [w.name for w in suite.load]
    for check in policy.all_checks():
        if not is_load_check(check):
            if check.metric == "quality":
                comparisons.append(evals[check.name])
            else:
                comparisons.append(compare_errors(check, run, policy.pass_confidence))
            continue
        margin = math.log1p(check.margin)
        found = _pairs(check, run, order)
        est = always_valid(found.effects, margin, policy.pass_confidence, config)
        estimates[check.name] = est
        unit = metric_unit(check.metric)
        note = found.note if found.effects.size else "no complete round pairs yet"
        if not found.effects.size and found.note:
            note = f"{note}; {found.note}"
        comparisons.append(
            Comparison(
                check,
                est if found.effects.size else None,
                "log-ratio",
                margin,
                found.candidate,
                found.incumbent,
                unit,
                note,
                units_run=found.ran,
            )
        )
        if check.severity == "critical":
            ran[check.name] = found.ran
            capped[check.name] = found.ran >= _caps(suite, check, config)
    checks = decide_checks(_with_alpha(suite, policy.alpha * config.alpha_share), comparisons)
    by_name = {c.name: c for c in checks}
    critical_failed = [c.name for c in checks if c.severity == "critical" and c.verdict == "fail"]
    open_ = [n for n in capped if by_name[n].verdict == "inconclusive"]
    # Pairs *run*, not pairs with data: a dead candidate yields no complete pair, yet its
    # failed requests (the request-error check) must be able to stop the run. A failed
    # critical check stops once min_pairs pairs of any workload ran; deciding the load
    # checks needs min_pairs of each.
    pairs = min(ran.values(), default=0)
    early = bool(ran) and len(run.rounds.ran()) < config.min_pairs
    if config.stop_on_fail and critical_failed and not early:
        stop, decided, reason = True, True, f"critical check failed: {', '.join(critical_failed)}"
    elif ran and pairs < config.min_pairs:
        stop, decided, reason = False, False, f"fewer than {config.min_pairs} round pairs"
    elif not open_:
        stop, decided = True, True
        reason = "every critical load check is decided" if ran else "no critical load checks"
    elif all(capped[n] for n in open_):
        stop, decided, reason = True, False, f"cap reached with {', '.join(open_)} undecided"
    else:
        stop, decided, reason = False, False, f"undecided: {', '.join(open_)}"
    return Look(pairs, estimates, comparisons, checks, stop, decided, reason)


def final_checks(
    suite: Suite,
    run: RunRecords,
    last: Look,
    config: SequentialConfig | None = None,
    comparisons: list[Comparison] | None = None,
) -> list[CheckResult]:
    """Per-check results of a sequential run: the look's when decided, else fixed-n fallback.

    The fallback decides ``comparisons`` (default: ``compare_all(suite, run)``) at the α the
    looks left over (:func:`fallback_suite`).
    """
    if last.decided:
        return last.checks
    found = comparisons if comparisons is not None else compare_all(suite, run)
    return decide_checks(fallback_suite(suite, config), found)
