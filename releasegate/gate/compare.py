"""The compare stage: one oriented estimate per check, candidate vs incumbent, from records.

Orientation follows :mod:`releasegate.stats`: Δ < 0 means the candidate is worse. Quality is
a difference of mean scores over items paired by id; latency tails a log-ratio of
Harrell–Davis quantiles over paired rounds; throughput and peak memory a mean log-ratio over
paired rounds. Load rounds are paired by (workload, round), with the rules for zero ITL gaps
and dead rounds of :mod:`releasegate.records.paired` — the same view the sequential looks
read (:func:`tail_pairs`, :func:`value_pairs`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from releasegate.gate.error_rate import compare_errors  # noqa: F401 (moved; re-exported)
from releasegate.gate.result import Verdict
from releasegate.probes.metrics import memory_unknown_reason
from releasegate.records.paired import TailPairs, ValuePairs
from releasegate.records.views import RunRecords
from releasegate.stats import (
    Estimate,
    harrell_davis,
    paired_binary,
    paired_log_ratio,
    paired_numeric,
    tail_ratio,
)
from releasegate.stats.estimate import t_estimate
from releasegate.suite import CheckSpec, Suite

TAILS = {  # metric → (sample column of records.paired, quantile)
    "ttft_p95": ("ttft", 0.95),
    "ttft_p99": ("ttft", 0.99),
    "e2e_p95": ("e2e", 0.95),
    "e2e_p99": ("e2e", 0.99),
    "itl_p95": ("itl", 0.95),
}
MEMORY_SE_FLOOR = 0.005  # log-ratio: 0.5 % when no calibration is known
ROUND_VALUES = {"output_tokens_per_s": "output_tokens_per_s", "requests_per_s": "requests_per_s"}


def metric_unit(metric: str) -> str:
    """The unit people read a metric's plain values in."""
    if metric in TAILS:
        return "ms"
    return {
        "peak_rss": "MB",
        "output_tokens_per_s": "tok/s",
        "requests_per_s": "req/s",
        "quality": "score",
        "error_rate": "error rate",
    }.get(metric, "")


@dataclass(frozen=True)
class Comparison:
    """A check's estimate with the plain per-arm values people read."""

    check: CheckSpec
    estimate: Estimate | None
    scale: str
    margin: float
    candidate_value: float | None
    incumbent_value: float | None
    unit: str
    note: str = ""
    verdict: Verdict | None = None  # set by threshold checks that are not tested
    units_run: int | None = None  # items or round pairs run for this check (est.n may be fewer)

    @classmethod
    def no_data(
        cls,
        check: CheckSpec,
        scale: str,
        margin: float,
        unit: str,
        why: str,
        units_run: int | None = None,
    ) -> Comparison:
        """A check that could not be estimated, with the reason (it stays inconclusive)."""
        return cls(check, None, scale, margin, None, None, unit, why, units_run=units_run)


def _workloads(check: CheckSpec) -> list[str] | None:
    return None if check.workload is None else [check.workload]


def _item_score(scores: dict[str, float], scorer: str | None) -> float | None:
    if scorer is None:
        return float(np.mean(list(scores.values()))) if scores else None
    return scores.get(scorer)


def compare_quality(check: CheckSpec, run: RunRecords, confidence: float) -> Comparison:
    """Paired comparison of eval scores on the items both arms answered.

    An item whose request failed on either arm is left out here (it is not a wrong answer,
    and the request-error check judges it).
    """
    failed = {(i.workload, i.item_id) for i in run.items if not i.timing.ok}
    by_key: dict[tuple[str, str], dict[str, float]] = {}
    clusters: dict[tuple[str, str], str] = {}
    for item in run.items:
        if (item.workload, item.item_id) in failed:
            continue
        if check.workload is not None and item.workload != check.workload:
            continue
        if check.category is not None and item.category != check.category:
            continue
        value = _item_score(item.scores, check.scorer)
        if value is not None:
            by_key.setdefault((item.workload, item.item_id), {})[item.arm] = value
            if item.cluster is not None:
                clusters[(item.workload, item.item_id)] = f"{item.workload}/{item.cluster}"
    keys = [k for k, v in by_key.items() if len(v) == 2]
    pairs = [(by_key[k]["candidate"], by_key[k]["incumbent"]) for k in keys]
    if not pairs:
        return Comparison.no_data(
            check, "difference", check.margin, "score", "no eval items scored on both arms"
        )
    cand = np.array([p[0] for p in pairs])
    inc = np.array([p[1] for p in pairs])
    binary = bool(np.isin(cand, (0.0, 1.0)).all() and np.isin(inc, (0.0, 1.0)).all())
    # Items sharing a context are correlated: cluster-robust SE (unclustered items alone).
    groups = [clusters.get(k, f"{k[0]}/item/{k[1]}") for k in keys] if clusters else None
    est = (paired_binary if binary else paired_numeric)(cand, inc, confidence, groups)
    return Comparison(
        check,
        est,
        "difference",
        check.margin,
        float(cand.mean()),
        float(inc.mean()),
        "score",
        units_run=len(keys),
    )


def tail_pairs(check: CheckSpec, run: RunRecords, order: Sequence[str] = ()) -> TailPairs:
    """The paired round samples a tail check compares (both the fixed-n and sequential gate)."""
    return run.rounds.tail_pairs(TAILS[check.metric][0], check.workload, order)


def value_pairs(check: CheckSpec, run: RunRecords, order: Sequence[str] = ()) -> ValuePairs:
    """The paired round values a throughput or peak-memory check compares (both gates)."""
    return run.rounds.value_pairs(check.metric, check.workload, order)


def tail_values(pairs: TailPairs, q: float) -> tuple[float, float]:
    """Each arm's geometric mean over the paired rounds of the round's HD ``q``-quantile (ms).

    Their ratio is exactly exp(estimate) of the per-pair log-ratio the tail checks use, fixed-n
    and sequential alike, so the plain values shown beside an effect always agree with it.
    """

    def geo_mean(rounds: Sequence[np.ndarray]) -> float:
        return 1000 * math.exp(float(np.mean([math.log(harrell_davis(r, q)) for r in rounds])))

    return geo_mean(pairs.candidate), geo_mean(pairs.incumbent)


def compare_tail(
    check: CheckSpec,
    run: RunRecords,
    confidence: float,
    n_boot: int,
    seed: int,
    order: Sequence[str] = (),
) -> Comparison:
    """Tail latency: log-ratio of HD quantiles over round pairs keyed by (workload, round)."""
    q = TAILS[check.metric][1]
    pairs = tail_pairs(check, run, order)
    margin = math.log1p(check.margin)
    ran = len(pairs.keys) + len(pairs.skipped)
    if not pairs.keys:
        why = "no round pair with successful measured requests on both arms"
        return Comparison.no_data(check, "log-ratio", margin, "ms", why, ran)
    est = tail_ratio(
        pairs.candidate,
        pairs.incumbent,
        q,
        higher_is_better=False,
        confidence=confidence,
        n_boot=n_boot,
        rng=np.random.default_rng(seed),
    )
    cand, inc = tail_values(pairs, q)
    return Comparison(check, est, "log-ratio", margin, cand, inc, "ms", pairs.note(), units_run=ran)


def _floor_se(est: Estimate, floor: float, confidence: float) -> Estimate:
    """Widen an estimate whose standard error is below ``floor`` (t on n − 1 df).

    A zero spread (``se`` None from the exact sign-flip path) is floored too: the floor is
    the noise known from calibration, which a handful of identical rounds cannot undercut.
    """
    if est.n < 2 or not math.isfinite(est.estimate) or (est.se is not None and est.se >= floor):
        return est
    return t_estimate(
        est.estimate,
        floor,
        est.n - 1,
        est.n,
        confidence,
        f"{est.method}, SE floored at {floor:.3g}",
    )


def compare_rounds(
    check: CheckSpec,
    run: RunRecords,
    confidence: float,
    noise: float | None = None,
    order: Sequence[str] = (),
) -> Comparison:
    """Throughput or peak memory: one value per arm per round, rounds paired.

    Round pairs are keyed by (workload, round); a dead incumbent round drops its pair and a
    dead candidate round counts at 1 % of the incumbent's throughput
    (:mod:`releasegate.records.paired`); the note names both.

    Peak memory is nearly deterministic, so its round-to-round spread can be ~0 and would
    make any tiny growth "significant". Its standard error is floored at the A/A noise
    measured by ``releasegate calibrate`` (``noise``) or, without one, at 0.5 %; the
    decision is then by margin against that noise.
    """
    margin = math.log1p(check.margin)
    memory = check.metric == "peak_rss"
    unit, scale = metric_unit(check.metric), (1e-6 if memory else 1.0)
    pairs = value_pairs(check, run, order)
    ran = len(pairs.keys) + len(pairs.dropped)
    note = pairs.note()
    if not pairs.keys:
        why = (memory and memory_unknown_reason(run)) or "no complete round pair on both arms"
        return Comparison.no_data(
            check, "log-ratio", margin, unit, f"{why}; {note}" if note else why, ran
        )
    cand, inc = pairs.candidate, pairs.incumbent
    est = paired_log_ratio(cand, inc, higher_is_better=not memory, confidence=confidence)
    if memory:
        est = _floor_se(est, noise if noise is not None else MEMORY_SE_FLOOR, confidence)
    return Comparison(
        check,
        est,
        "log-ratio",
        margin,
        scale * float(np.mean(cand)),
        scale * float(np.mean(inc)),
        unit,
        note,
        units_run=ran,
    )


def compare_all(
    suite: Suite, run: RunRecords, noise: dict[str, float] | None = None
) -> list[Comparison]:
    """Every check of the suite's gate, in the order written.

    Args:
        noise: A/A noise per check name from calibration (a stored baseline), if known.
    """
    noise = noise or {}
    policy = suite.gate
    order = [w.name for w in suite.load]
    out = []
    for index, check in enumerate(policy.all_checks()):
        if check.metric == "error_rate":
            out.append(compare_errors(check, run, policy.pass_confidence))
        elif check.metric == "quality":
            out.append(compare_quality(check, run, policy.pass_confidence))
        elif check.metric in TAILS:
            out.append(
                compare_tail(
                    check,
                    run,
                    policy.pass_confidence,
                    policy.bootstrap_resamples,
                    policy.seed + index,
                    order,
                )
            )
        else:
            out.append(
                compare_rounds(check, run, policy.pass_confidence, noise.get(check.name), order)
            )
    return out
