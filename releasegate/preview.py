"""What a plan would run, in words: for ``releasegate validate``.

The duration is a rough upper-end estimate for launched servers: every request is assumed to
generate ``max_tokens`` at :data:`ASSUMED_TOKENS_PER_S` per request slot (``concurrency``
slots run at once), plus :data:`ASSUMED_STARTUP_S` per server start. On the demo suite it
says about 3.8 min, against 3 min 38 s measured with ``stop_on_fail: false`` on a 2-core
machine. For endpoints someone else runs (url mode) the speed is unknown, and so is the
duration.
"""

from __future__ import annotations

import math

from releasegate.plan import Plan
from releasegate.suite import EvalWorkload, LoadWorkload

ASSUMED_TOKENS_PER_S = 40.0
ASSUMED_STARTUP_S = 15.0


def _waves(requests: int, concurrency: int) -> int:
    return math.ceil(requests / concurrency)


def eval_seconds(workload: EvalWorkload, items: int) -> float:
    """Estimated seconds for one arm of an eval workload."""
    return _waves(items, workload.concurrency) * workload.max_tokens / ASSUMED_TOKENS_PER_S


def load_requests(workload: LoadWorkload) -> int | None:
    """Requests one arm sends in a load workload (warm-up included); None when timed."""
    if workload.requests_per_round is None:
        return None
    return workload.rounds * (workload.requests_per_round + workload.warmup_requests)


def load_seconds(workload: LoadWorkload) -> float:
    """Estimated seconds for one arm of a load workload (all rounds)."""
    request_s = workload.max_tokens / ASSUMED_TOKENS_PER_S
    warmup_s = _waves(workload.warmup_requests, workload.concurrency) * request_s
    if workload.duration_s is not None:
        return workload.rounds * (workload.duration_s + warmup_s)
    assert workload.requests_per_round is not None
    return workload.rounds * (
        _waves(workload.requests_per_round, workload.concurrency) * request_s + warmup_s
    )


def estimate_seconds(plan: Plan) -> float | None:
    """Rough duration of the whole run; None in url mode (the endpoints' speed is unknown)."""
    suite = plan.loaded.suite
    if suite.server.command is None:
        return None
    per_arm = sum(eval_seconds(e.workload, len(e.items)) for e in plan.evals)
    per_arm += sum(load_seconds(w) for w in suite.load)
    return len(plan.arms) * (per_arm + ASSUMED_STARTUP_S)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown (url mode: the endpoints' speed is not known)"
    text = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    if seconds >= 7200:
        text = f"{seconds / 3600:.1f} h"
    return (
        f"~{text} (rough: every request generates max_tokens at "
        f"{ASSUMED_TOKENS_PER_S:.0f} tokens/s per request slot, {ASSUMED_STARTUP_S:.0f} s "
        "per server start)"
    )


def describe(plan: Plan) -> list[str]:
    """Indented lines: endpoints, workloads, requests per arm, rounds, checks, duration."""
    suite = plan.loaded.suite
    lines: list[str] = []
    for arm, arm_plan in plan.arms.items():
        if suite.server.command is None:
            where = f"at {suite.endpoint_url(arm)}"
        elif arm_plan.model_path is not None:
            where = f"launched with {arm_plan.model_path}"
        else:
            where = "launched (model file not resolved: --no-models)"
        lines.append(f"{arm}: {arm_plan.model_id} {where}")
    eval_requests = 0
    for e in plan.evals:
        w = e.workload
        eval_requests += len(e.items)
        lines.append(
            f"eval {w.name}: {len(e.items)} items, max_tokens {w.max_tokens}, "
            f"concurrency {w.concurrency}"
        )
    load_total: int | None = 0
    for w in suite.load:
        size = (
            f"{w.requests_per_round} requests"
            if w.requests_per_round is not None
            else f"{w.duration_s:g} s"
        )
        lines.append(
            f"load {w.name}: {w.rounds} rounds per arm × {size} (+{w.warmup_requests} "
            f"warm-up), concurrency {w.concurrency}, max_tokens {w.max_tokens}"
        )
        count = load_requests(w)
        load_total = None if count is None or load_total is None else load_total + count
    if load_total is None:
        load_text = f"{eval_requests} eval + the load rounds' (time-bound)"
    else:
        load_text = f"{eval_requests} eval + {load_total} load = {eval_requests + load_total}"
    lines.append(f"requests per arm: {load_text}; arms: {', '.join(plan.arms)}")
    if plan.rounds:
        note = ""
        if plan.sequential:
            note = (
                "; sequential stopping may end them after "
                f"{suite.gate.sequential.min_pairs} round pairs"
            )
        lines.append(f"rounds: {len(plan.rounds)} in all, A B B A order{note}")
    checks = suite.gate.all_checks()
    critical = sum(c.severity == "critical" for c in checks)
    lines.append(
        f"checks: {len(checks)} ({critical} critical): {', '.join(c.name for c in checks)}"
    )
    lines.append(f"estimated duration: {_duration(estimate_seconds(plan))}")
    return lines
