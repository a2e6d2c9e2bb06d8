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
- quality: 0/1 items with ``discordance`` = share of items where the arms disagree, split so
  the candidate's accuracy is ``accuracy_drop`` lower;
- throughput: per round, inversely to the round's latency shock, with multiplicative noise;
- peak memory: per round, with small multiplicative noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from releasegate.gate.compare import Comparison, compare_all
from releasegate.gate.decide import decide_checks, overall
from releasegate.gate.result import CheckResult, Verdict
from releasegate.gate.sequential import SequentialConfig, compare_evals, final_checks, look
from releasegate.records import EventRecord, ItemRecord, ProbeRecord, Record, RequestRecord, Timing
from releasegate.records.model import Arm
from releasegate.records.views import RunRecords
from releasegate.suite import Suite

__all__ = [
    "Margins",
    "Scenario",
    "SequentialOutcome",
    "gate",
    "prefix",
    "sequential_gate",
    "sim_suite",
    "simulate",
]

ARMS: tuple[Arm, Arm] = ("candidate", "incumbent")


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

    def __post_init__(self) -> None:
        b = (self.discordance + self.accuracy_drop) / 2
        c = (self.discordance - self.accuracy_drop) / 2
        if not (c >= 0.0 and b <= self.accuracy and c <= 1.0 - self.accuracy):
            raise ValueError("discordance, accuracy and accuracy_drop are inconsistent")
        if min(self.rounds, self.requests_per_round, self.items) < 1:
            raise ValueError("rounds, requests_per_round and items must be positive")

    @property
    def load_requests(self) -> int:
        """Measured load requests of a full run, both arms."""
        return 2 * self.rounds * self.requests_per_round


@dataclass(frozen=True)
class Margins:
    """The simulated suite's margins (quality absolute, performance relative)."""

    quality: float = 0.02
    p95: float = 0.05
    throughput: float = 0.05
    memory: float = 0.05


def sim_suite(scenario: Scenario, margins: Margins | None = None, **gate: object) -> Suite:
    """The gate suite used in simulation: quality, ttft_p95, output tok/s, peak RSS (critical).

    Extra keyword arguments override gate policy fields (e.g. ``bootstrap_resamples=500``).
    """
    m = margins or Margins()
    data = {
        "name": "sim",
        "server": {"url": "http://127.0.0.1:1"},
        "candidate": {"id": "candidate"},
        "incumbent": {"id": "incumbent"},
        "eval": [
            {
                "name": "qa",
                "dataset": {"items": [{"q": "?"}]},
                "template": "{q}",
                "scorers": [{"kind": "exact"}],
            }
        ],
        "load": [
            {
                "name": "chat",
                "prompts": ["hi"],
                "rounds": scenario.rounds,
                "requests_per_round": scenario.requests_per_round,
            }
        ],
        "gate": {
            **gate,
            "checks": [
                {"name": "quality", "metric": "quality", "margin": m.quality, "owner": "qa"},
                {"name": "ttft-p95", "metric": "ttft_p95", "margin": m.p95, "owner": "perf"},
                {
                    "name": "throughput",
                    "metric": "output_tokens_per_s",
                    "margin": m.throughput,
                    "owner": "perf",
                },
                {"name": "memory", "metric": "peak_rss", "margin": m.memory, "owner": "capacity"},
            ],
        },
    }
    return Suite.model_validate(data)


def _timing(ttft: float, e2e: float, tokens: int) -> Timing:
    return Timing(started_at=0.0, ttft_s=ttft, e2e_s=e2e, status=200, completion_tokens=tokens)


def _items(s: Scenario, rng: np.random.Generator) -> list[Record]:
    b = (s.discordance + s.accuracy_drop) / 2  # incumbent right, candidate wrong
    c = (s.discordance - s.accuracy_drop) / 2  # candidate right, incumbent wrong
    probs = [s.accuracy - b, b, c, 1.0 - s.accuracy - c]  # both, inc only, cand only, neither
    kinds = rng.choice(4, size=s.items, p=probs)
    right = {"candidate": np.isin(kinds, (0, 2)), "incumbent": np.isin(kinds, (0, 1))}
    timing = _timing(0.1, 0.5, 8)  # one shared (immutable in use) timing for every item
    out: list[Record] = []
    for i in range(s.items):
        for arm in ARMS:
            out.append(
                ItemRecord(
                    t=0.0,
                    arm=arm,
                    workload="qa",
                    item_id=str(i),
                    prompt="?",
                    output="",
                    scores={"exact": float(right[arm][i])},
                    timing=timing,
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


def _round(s: Scenario, rng: np.random.Generator, arm: Arm, rnd: int, shock: float) -> list[Record]:
    cand = arm == "candidate"
    factor = shock * rng.lognormal(0.0, s.arm_jitter)
    ttft = _latencies(s, rng, factor, cand)
    decode = s.tokens * s.itl_s * factor * rng.lognormal(0.0, 0.1, ttft.size)
    out: list[Record] = [
        RequestRecord(
            t=0.0,
            arm=arm,
            workload="chat",
            round=rnd,
            seq=seq,
            timing=_timing(float(a), float(a + d), s.tokens),
        )
        for seq, (a, d) in enumerate(zip(ttft, decode, strict=True))
    ]
    tput = 1000.0 / factor * rng.lognormal(0.0, s.throughput_noise)
    mem = 4e9 * rng.lognormal(0.0, s.memory_noise)
    if cand:
        tput *= s.throughput_ratio
        mem *= s.memory_ratio
    out.append(ProbeRecord(t=0.0, arm=arm, probe="memory", round=rnd, values={"peak_rss": mem}))
    detail = {"workload": "chat", "round": rnd, "output_tokens_per_s": tput, "requests_per_s": 1.0}
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
    """The run as it stood after ``pairs`` complete round pairs (eval items all present)."""
    return RunRecords(
        meta=run.meta,
        requests=[r for r in run.requests if r.round < pairs],
        items=run.items,
        probes=[p for p in run.probes if p.round is None or p.round < pairs],
        events=[e for e in run.events if e.detail.get("round", -1) < pairs],
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
