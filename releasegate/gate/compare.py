"""The compare stage: one oriented estimate per check, candidate vs incumbent, from records.

Orientation follows :mod:`releasegate.stats`: Δ < 0 means the candidate is worse. Quality is
a difference of mean scores over items paired by id; latency tails a log-ratio of
Harrell–Davis quantiles with a bootstrap over paired rounds; throughput and peak memory a
mean log-ratio over paired rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from releasegate.gate.result import Verdict
from releasegate.probes.metrics import memory_unknown_reason
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

TAILS = {
    "ttft_p95": ("ttft_s", 0.95),
    "ttft_p99": ("ttft_s", 0.99),
    "e2e_p95": ("e2e_s", 0.95),
    "e2e_p99": ("e2e_s", 0.99),
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
        return Comparison(
            check,
            None,
            "difference",
            check.margin,
            None,
            None,
            "score",
            "no eval items scored on both arms",
        )
    cand = np.array([p[0] for p in pairs])
    inc = np.array([p[1] for p in pairs])
    binary = bool(np.isin(cand, (0.0, 1.0)).all() and np.isin(inc, (0.0, 1.0)).all())
    # Items sharing a context are correlated: cluster-robust SE (unclustered items alone).
    groups = [clusters.get(k, f"{k[0]}/item/{k[1]}") for k in keys] if clusters else None
    est = (paired_binary if binary else paired_numeric)(cand, inc, confidence, groups)
    return Comparison(
        check, est, "difference", check.margin, float(cand.mean()), float(inc.mean()), "score"
    )


def compare_tail(
    check: CheckSpec, run: RunRecords, confidence: float, n_boot: int, seed: int
) -> Comparison:
    """Tail latency: log-ratio of HD quantiles, bootstrap over paired rounds."""
    column, q = TAILS[check.metric]
    rounds = {}
    for arm in ("candidate", "incumbent"):
        if column == "itl":
            rounds[arm] = run.itl_per_round(_workloads(check), arm)
        else:
            rounds[arm] = run.per_round(column, _workloads(check), arm)
    pairs = min(len(rounds["candidate"]), len(rounds["incumbent"]))
    margin = math.log1p(check.margin)
    if pairs == 0:
        return Comparison(
            check,
            None,
            "log-ratio",
            margin,
            None,
            None,
            "ms",
            "no successful measured requests on one arm",
        )
    cand, inc = rounds["candidate"][:pairs], rounds["incumbent"][:pairs]
    est = tail_ratio(
        cand,
        inc,
        q,
        higher_is_better=False,
        confidence=confidence,
        n_boot=n_boot,
        rng=np.random.default_rng(seed),
    )
    values = [1000 * harrell_davis(np.concatenate(r), q) for r in (cand, inc)]
    return Comparison(check, est, "log-ratio", margin, values[0], values[1], "ms")


def _floor_se(est: Estimate, floor: float, confidence: float) -> Estimate:
    """Widen an estimate whose standard error is below ``floor`` (t on n − 1 df)."""
    if est.se is None or est.se >= floor or est.n < 2:
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
    check: CheckSpec, run: RunRecords, confidence: float, noise: float | None = None
) -> Comparison:
    """Throughput or peak memory: one value per arm per round, rounds paired.

    Peak memory is nearly deterministic, so its round-to-round spread can be ~0 and would
    make any tiny growth "significant". Its standard error is floored at the A/A noise
    measured by ``releasegate calibrate`` (``noise``) or, without one, at 0.5 %; the
    decision is then by margin against that noise.
    """
    margin = math.log1p(check.margin)
    if check.metric == "peak_rss":
        cand, inc = run.memory_peaks("candidate"), run.memory_peaks("incumbent")
        higher, unit, scale = False, metric_unit(check.metric), 1e-6
    else:
        key = ROUND_VALUES[check.metric]
        cand = run.round_values(key, _workloads(check), "candidate")
        inc = run.round_values(key, _workloads(check), "incumbent")
        higher, unit, scale = True, metric_unit(check.metric), 1.0
    pairs = min(len(cand), len(inc))
    cand, inc = cand[:pairs], inc[:pairs]
    if pairs == 0 or min(cand + inc) <= 0:
        why = memory_unknown_reason(run) if check.metric == "peak_rss" else None
        reason = why or "no complete rounds on both arms"
        return Comparison(check, None, "log-ratio", margin, None, None, unit, reason)
    est = paired_log_ratio(cand, inc, higher_is_better=higher, confidence=confidence)
    if check.metric == "peak_rss":
        est = _floor_se(est, noise if noise is not None else MEMORY_SE_FLOOR, confidence)
    return Comparison(
        check,
        est,
        "log-ratio",
        margin,
        scale * float(np.mean(cand)),
        scale * float(np.mean(inc)),
        unit,
    )


def _error_rate(run: RunRecords, workload: str | None, arm: str) -> tuple[int, int]:
    """Failed and total measured requests (load and eval) of one arm, optionally one workload."""
    timings = [
        r.timing
        for r in [*run.requests, *run.items]
        if r.arm == arm
        and not getattr(r, "warmup", False)
        and (workload is None or r.workload == workload)
    ]
    return sum(not t.ok for t in timings), len(timings)


def compare_errors(check: CheckSpec, run: RunRecords, confidence: float) -> Comparison:
    """Share of failed requests: a threshold on what was observed, not a test.

    PASS when the candidate's error rate is at most the margin; FAIL when it is above the
    margin while the incumbent's is not; INCONCLUSIVE when both are above it (the
    environment, not the candidate, is failing) or nothing was sent. The interval is
    Clopper–Pearson on the candidate's rate, for information.
    """
    (ce, cn), (ie, in_) = (_error_rate(run, check.workload, a) for a in ("candidate", "incumbent"))
    if cn == 0 or in_ == 0:
        return Comparison(
            check, None, "difference", check.margin, None, None, "errors", "no requests were sent"
        )
    c_rate, i_rate = ce / cn, ie / in_
    ci = sps.binomtest(ce, cn).proportion_ci(confidence_level=2 * confidence - 1)
    est = Estimate(-c_rate, -ci.high, -ci.low, 1.0, cn, "observed error rate vs threshold")
    if c_rate <= check.margin:
        verdict: Verdict = "pass"
    elif i_rate <= check.margin:
        verdict = "fail"
    else:
        verdict = "inconclusive"
    note = f"candidate {ce}/{cn} failed, incumbent {ie}/{in_}"
    return Comparison(
        check, est, "difference", check.margin, c_rate, i_rate, "error rate", note, verdict
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
                )
            )
        else:
            out.append(compare_rounds(check, run, policy.pass_confidence, noise.get(check.name)))
    return out
