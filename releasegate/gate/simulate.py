"""Synthetic gate runs with known truth, for calibrating the real compare/decide code.

:func:`simulate` writes the records a run would have written (eval items on both arms, load
requests in interleaved round pairs, per-round throughput and peak memory) as real
:mod:`releasegate.records` objects, so :func:`gate` and :func:`sequential_gate` exercise the
very code a real run uses. The noise model:

- latency: lognormal body; a ``tail_share`` of requests 2–4× slower; every round pair shares
  a shock (and a slow random-walk drift across rounds) so both arms see the same machine,
  plus a small independent jitter per arm-round. Requests within a round share that round's
  shock (they are correlated, as under batching);
- a p95 regression multiplies every request slower than the body's 80th percentile by
  ``p95_ratio`` (a monotone map, so the p95 grows by exactly that ratio; ``tail_only=False``
  slows every request instead);
- quality: 0/1 items with the candidate's accuracy ``accuracy_drop`` lower. ``direction``
  says how the disagreeing items split: ``two-way`` (``discordance`` = share of items where
  the arms disagree, both ways), ``lost_only`` (every discordant item is one the candidate
  loses, c = 0: the discordant share is ``accuracy_drop``) or ``won_only`` (b = 0, the share
  is ``-accuracy_drop``). Items are dealt round-robin to ``eval_workloads``;
- request errors: each load request and eval item fails with its arm's true rate
  (``cand_error_rate``, ``inc_error_rate``) as a real run records it (HTTP 500, no tokens;
  a failed item is scored like an empty answer, 0); every request of a round in
  ``dead_rounds`` fails (connection refused) and the round's throughput is 0;
- throughput: per round, inversely to the round's latency shock, with multiplicative noise;
- peak memory: per round, with small multiplicative noise.

``round_end`` events carry the load runner's own :class:`RoundSummary` fields.
:meth:`Scenario.demo` is the shape of ``suites/demo.yaml`` and :func:`demo_suite` its gate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from releasegate.gate.compare import Comparison, compare_all
from releasegate.gate.decide import decide_checks, overall
from releasegate.gate.result import CheckResult, Verdict
from releasegate.gate.sequential import SequentialConfig, compare_evals, final_checks, look
from releasegate.gate.simulate_suites import (
    DEMO_WORKLOADS,
    LOAD_WORKLOAD,
    Margins,
    demo_suite,
    sim_suite,
)
from releasegate.records import EventRecord, ItemRecord, ProbeRecord, Record, RequestRecord, Timing
from releasegate.records.model import Arm
from releasegate.records.views import RunRecords
from releasegate.suite import Suite
from releasegate.workloads.load import RoundSummary

__all__ = [
    "DEMO_WORKLOADS",
    "Direction",
    "Margins",
    "Scenario",
    "SequentialOutcome",
    "demo_suite",
    "gate",
    "prefix",
    "sequential_gate",
    "sim_suite",
    "simulate",
]

ARMS: tuple[Arm, Arm] = ("candidate", "incumbent")
Direction = Literal["two-way", "lost_only", "won_only"]
FAILED = Timing(started_at=0.0, e2e_s=0.01, status=500, error="HTTP 500: simulated error")
REFUSED_S = 0.001  # a refused connection returns at once
REFUSED = Timing(started_at=0.0, e2e_s=REFUSED_S, error="ConnectError: simulated dead server")


@dataclass(frozen=True)
class Scenario:
    """Sizes, true effects and noise of one simulated run (ratios are candidate/incumbent)."""

    name: str = "a/a"
    rounds: int = 20
    requests_per_round: int = 360
    items: int = 900
    discordance: float = 0.15
    accuracy: float = 0.70
    p95_ratio: float = 1.0
    accuracy_drop: float = 0.0
    throughput_ratio: float = 1.0
    memory_ratio: float = 1.0
    tail_only: bool = True
    ttft_median_s: float = 0.25
    latency_sigma: float = 0.30
    tail_share: float = 0.03
    tail_slowdown: tuple[float, float] = (2.0, 4.0)
    round_shock: float = 0.08
    arm_jitter: float = 0.02
    drift: float = 0.01
    tokens: int = 64
    itl_s: float = 0.02
    throughput_noise: float = 0.03
    memory_noise: float = 0.01
    direction: Direction = "two-way"
    cand_error_rate: float = 0.0
    inc_error_rate: float = 0.0
    dead_rounds: frozenset[tuple[Arm, int]] = frozenset()
    eval_workloads: tuple[str, ...] = ("qa",)
    warmup_requests: int = 0
    concurrency: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "dead_rounds", frozenset(self.dead_rounds))
        b, c = self.discordant
        if self.direction not in ("two-way", "lost_only", "won_only"):
            raise ValueError(f"unknown discordance direction {self.direction!r}")
        if not (min(b, c) >= 0.0 and b <= self.accuracy and c <= 1.0 - self.accuracy):
            raise ValueError("discordance, accuracy, accuracy_drop and direction are inconsistent")
        if min(self.rounds, self.requests_per_round, self.items, self.concurrency) < 1:
            raise ValueError("rounds, requests_per_round, items and concurrency must be positive")
        if not (0.0 <= self.cand_error_rate <= 1.0 and 0.0 <= self.inc_error_rate <= 1.0):
            raise ValueError("error rates must lie in [0, 1]")
        for arm, rnd in self.dead_rounds:
            if arm not in ARMS or not 0 <= rnd < self.rounds:
                raise ValueError(f"dead round {(arm, rnd)!r} is not an (arm, round) of the run")
        if not self.eval_workloads or self.warmup_requests < 0:
            raise ValueError("give at least one eval workload and a non-negative warm-up")

    @property
    def discordant(self) -> tuple[float, float]:
        """(b, c): shares of items only the incumbent / only the candidate gets right."""
        if self.direction == "lost_only":
            return self.accuracy_drop, 0.0
        if self.direction == "won_only":
            return 0.0, -self.accuracy_drop
        return (self.discordance + self.accuracy_drop) / 2, (
            self.discordance - self.accuracy_drop
        ) / 2

    def error_rate(self, arm: Arm) -> float:
        """The arm's true share of failing requests (outside dead rounds)."""
        return self.cand_error_rate if arm == "candidate" else self.inc_error_rate

    @classmethod
    def demo(cls, **changes: Any) -> Scenario:
        """The shape of ``suites/demo.yaml``: 4 × 24 eval items, 10 rounds × 12 requests.

        Warm-up 1 and concurrency 2 per round, 32 tokens per request; the noise model keeps
        its defaults. ``changes`` override any field (e.g. ``cand_error_rate=0.005``).
        """
        base = cls(
            name="demo",
            rounds=10,
            requests_per_round=12,
            items=96,
            eval_workloads=DEMO_WORKLOADS,
            warmup_requests=1,
            concurrency=2,
            tokens=32,
        )
        return replace(base, **changes)

    @property
    def load_requests(self) -> int:
        """Measured load requests of a full run, both arms."""
        return 2 * self.rounds * self.requests_per_round


def _timing(ttft: float, e2e: float, tokens: int) -> Timing:
    return Timing(started_at=0.0, ttft_s=ttft, e2e_s=e2e, status=200, completion_tokens=tokens)


def _failures(rate: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Which of ``n`` requests fail (no draw when the rate is 0, to keep the stream)."""
    return rng.random(n) < rate if rate > 0 else np.zeros(n, dtype=bool)


def _items(s: Scenario, rng: np.random.Generator) -> list[Record]:
    b, c = s.discordant  # incumbent only right, candidate only right
    probs = [s.accuracy - b, b, c, 1.0 - s.accuracy - c]  # both, inc only, cand only, neither
    kinds = rng.choice(4, size=s.items, p=probs)
    right = {"candidate": np.isin(kinds, (0, 2)), "incumbent": np.isin(kinds, (0, 1))}
    failed = {arm: _failures(s.error_rate(arm), s.items, rng) for arm in ARMS}
    timing = _timing(0.1, 0.5, 8)  # one shared (immutable in use) timing for every item
    workloads = s.eval_workloads
    out: list[Record] = []
    for i in range(s.items):
        for arm in ARMS:
            bad = bool(failed[arm][i])  # scored like an empty answer, as a real run does
            out.append(
                ItemRecord(
                    t=0.0,
                    arm=arm,
                    workload=workloads[i % len(workloads)],
                    item_id=str(i),
                    prompt="?",
                    output="",
                    scores={"exact": 0.0 if bad else float(right[arm][i])},
                    timing=FAILED if bad else timing,
                )
            )
    return out


def _latencies(s: Scenario, rng: np.random.Generator, factor: float, slow: bool) -> np.ndarray:
    n = s.requests_per_round
    x = rng.lognormal(math.log(s.ttft_median_s), s.latency_sigma, n)
    tail = rng.random(n) < s.tail_share
    x[tail] *= rng.uniform(*s.tail_slowdown, int(tail.sum()))
    if slow and s.p95_ratio != 1.0:
        if s.tail_only and s.p95_ratio > 1.0:
            cut = s.ttft_median_s * math.exp(0.8416 * s.latency_sigma)  # body's 80th percentile
            x = np.where(x > cut, x * s.p95_ratio, x)
        else:
            x = x * s.p95_ratio
    return x * factor


def _summary(s: Scenario, ok: int, tput: float, dead: bool) -> dict[str, Any]:
    """The round_end detail a real round writes (:class:`RoundSummary`), measured part only."""
    n = s.requests_per_round
    tokens = ok * s.tokens
    wall = n * REFUSED_S / s.concurrency if dead or tput <= 0 else tokens / tput
    summary = RoundSummary(
        concurrency=s.concurrency,
        requests=n,
        ok=ok,
        errors=n - ok,
        wall_s=wall,
        output_tokens=tokens,
        requests_per_s=n / wall,
        output_tokens_per_s=tokens / wall,
        mean_concurrency=float(s.concurrency),
        started_at=0.0,
    )
    return summary.as_dict()


def _round(s: Scenario, rng: np.random.Generator, arm: Arm, rnd: int, shock: float) -> list[Record]:
    cand = arm == "candidate"
    dead = (arm, rnd) in s.dead_rounds
    factor = shock * rng.lognormal(0.0, s.arm_jitter)
    ttft = _latencies(s, rng, factor, cand)
    decode = s.tokens * s.itl_s * factor * rng.lognormal(0.0, 0.1, ttft.size)
    failed = (
        np.ones(ttft.size, dtype=bool) if dead else _failures(s.error_rate(arm), ttft.size, rng)
    )
    bad = REFUSED if dead else FAILED
    warm = s.warmup_requests
    out: list[Record] = [
        RequestRecord(
            t=0.0,
            arm=arm,
            workload=LOAD_WORKLOAD,
            round=rnd,
            seq=seq,
            warmup=True,
            timing=bad if dead else _timing(float(ttft[0]), float(ttft[0] + decode[0]), s.tokens),
        )
        for seq in range(warm)
    ]
    out.extend(
        RequestRecord(
            t=0.0,
            arm=arm,
            workload=LOAD_WORKLOAD,
            round=rnd,
            seq=warm + seq,
            timing=bad if f else _timing(float(a), float(a + d), s.tokens),
        )
        for seq, (a, d, f) in enumerate(zip(ttft, decode, failed, strict=True))
    )
    tput = 1000.0 / factor * rng.lognormal(0.0, s.throughput_noise)
    mem = 4e9 * rng.lognormal(0.0, s.memory_noise)
    if cand:
        tput *= s.throughput_ratio
        mem *= s.memory_ratio
    ok = int(ttft.size - failed.sum())
    tput = 0.0 if dead else tput * ok / ttft.size  # failed requests yield no tokens
    out.append(ProbeRecord(t=0.0, arm=arm, probe="memory", round=rnd, values={"peak_rss": mem}))
    detail = {"workload": LOAD_WORKLOAD, "round": rnd, **_summary(s, ok, tput, dead)}
    out.append(EventRecord(t=0.0, arm=arm, event="round_end", detail=detail))
    return out


def simulate(scenario: Scenario, rng: np.random.Generator) -> RunRecords:
    """One synthetic run: eval items, then load rounds in A B B A pair order."""
    records = _items(scenario, rng)
    drift = 0.0
    for rnd in range(scenario.rounds):
        drift += rng.normal(0.0, scenario.drift)
        shock = math.exp(drift + rng.normal(0.0, scenario.round_shock))
        order = ARMS if rnd % 2 == 0 else ARMS[::-1]
        for arm in order:
            records.extend(_round(scenario, rng, arm, rnd, shock))
    return RunRecords.of(records)


def prefix(run: RunRecords, pairs: int) -> RunRecords:
    """The run as it stood after ``pairs`` complete round pairs (eval items all present).

    Built with :meth:`RunRecords.of`, as a real run's records are read, so any view the
    records class derives is derived here too.
    """
    meta = [run.meta] if run.meta is not None else []
    return RunRecords.of(
        [
            *meta,
            *run.items,
            *(r for r in run.requests if r.round < pairs),
            *(p for p in run.probes if p.round is None or p.round < pairs),
            *(e for e in run.events if e.detail.get("round", -1) < pairs),
        ]
    )


def gate(suite: Suite, run: RunRecords) -> tuple[Verdict, list[CheckResult]]:
    """The fixed-n gate: the real compare_all → decide_checks → overall."""
    checks = decide_checks(suite, compare_all(suite, run))
    return overall(checks)[0], checks


@dataclass(frozen=True)
class SequentialOutcome:
    """How a sequential replay ended.

    ``first_fail`` is the pair count at the first look where a critical check failed (None
    if none did): with ``stop_on_fail`` the run would have stopped there with a FAIL.
    """

    verdict: Verdict
    checks: list[CheckResult]
    pairs: int
    requests: int
    stopped_early: bool
    first_fail: int | None = None
    reasons: list[str] = field(default_factory=list)


def sequential_gate(
    suite: Suite,
    run: RunRecords,
    config: SequentialConfig | None = None,
    comparisons: list[Comparison] | None = None,
) -> SequentialOutcome:
    """Replay the run's rounds pair by pair through :func:`look` and stop when it says so.

    ``comparisons`` (``compare_all`` of the whole run) may be passed to save recomputing
    them when the replay runs to the end. ``requests`` counts the measured load requests
    (both arms) of the pairs used.
    """
    config = config or SequentialConfig.from_policy(suite.gate)
    total = 1 + max((r.round for r in run.requests), default=-1)
    if total < config.min_pairs:
        verdict, checks = gate(suite, run)
        return SequentialOutcome(verdict, checks, total, len(run.requests), False)
    evals = compare_evals(suite, run)
    reasons: list[str] = []
    first_fail = None
    for k in range(config.min_pairs, total + 1):
        part = prefix(run, k)
        current = look(suite, part, config, evals=evals)
        reasons.append(current.reason)
        failed = any(c.verdict == "fail" and c.severity == "critical" for c in current.checks)
        if failed and first_fail is None:
            first_fail = k
        if current.stop or k == total:
            break
    checks = final_checks(suite, part, current, config, comparisons if k == total else None)
    used = sum(1 for r in part.requests if not r.warmup)
    return SequentialOutcome(overall(checks)[0], checks, k, used, k < total, first_fail, reasons)
