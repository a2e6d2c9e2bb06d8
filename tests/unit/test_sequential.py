"""Sequential looks at load rounds: always-valid estimates, verdicts and stopping."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from releasegate.gate.sequential import (
    SequentialConfig,
    always_valid,
    fallback_suite,
    final_checks,
    look,
    pair_effects,
)
from releasegate.records import EventRecord, ItemRecord, ProbeRecord, RequestRecord, Timing
from releasegate.records.views import RunRecords
from releasegate.suite import parse_suite

SUITE = """\
name: s
server: {url: "http://127.0.0.1:1"}
candidate: {id: a}
incumbent: {id: b}
eval:
  - {name: e, dataset: {items: [{q: 1}]}, template: x, scorers: [{kind: exact}]}
load:
  - {name: l, prompts: [hi], requests_per_round: 40, rounds: 12}
gate:
  checks:
    - {name: quality, metric: quality, margin: 0.05, owner: qa}
    - {name: ttft, metric: ttft_p95, margin: 0.1, owner: perf}
    - {name: tput, metric: output_tokens_per_s, margin: 0.1, owner: perf}
    - {name: mem, metric: peak_rss, margin: 0.1, owner: cap}
"""
BASE = np.linspace(0.1, 0.3, 40)  # one round's TTFTs before shocks


def timing(ttft: float, ok: bool = True) -> Timing:
    return Timing(
        started_at=0.0,
        ttft_s=ttft,
        e2e_s=ttft + 1,
        status=200 if ok else None,
        error=None if ok else "refused",
        completion_tokens=10,
    )


def records(
    pairs: int,
    rng: np.random.Generator,
    *,
    slow: float = 1.0,
    tput: float = 1.0,
    mem: float = 1.0,
    jitter: float = 0.005,
    cand_wrong: int = 0,
) -> RunRecords:
    """200 eval items (all agree unless ``cand_wrong``), then ``pairs`` load round pairs."""
    out: list = []
    for i in range(200):
        for arm in ("candidate", "incumbent"):
            right = not (arm == "candidate" and i < cand_wrong)
            out.append(
                ItemRecord(
                    t=0,
                    arm=arm,
                    workload="e",
                    item_id=str(i),
                    prompt="p",
                    output="o",
                    scores={"exact": float(right)},
                    timing=timing(0.1),
                )
            )
    for rnd in range(pairs):
        shock = rng.lognormal(0, 0.1)  # shared by both arms of the pair
        for arm, f_lat, f_tput, f_mem in (
            ("candidate", slow, tput, mem),
            ("incumbent", 1.0, 1.0, 1.0),
        ):
            own = rng.lognormal(0, jitter)
            for seq, value in enumerate(BASE * shock * own * f_lat):
                out.append(
                    RequestRecord(
                        t=0, arm=arm, workload="l", round=rnd, seq=seq, timing=timing(float(value))
                    )
                )
            out.append(
                EventRecord(
                    t=0,
                    arm=arm,
                    event="round_end",
                    detail={
                        "workload": "l",
                        "round": rnd,
                        "output_tokens_per_s": 100 / shock * f_tput * rng.lognormal(0, jitter),
                    },
                )
            )
            out.append(
                ProbeRecord(
                    t=0,
                    arm=arm,
                    probe="memory",
                    round=rnd,
                    values={"peak_rss": 1e9 * f_mem * rng.lognormal(0, jitter)},
                )
            )
    return RunRecords.of(out)


@pytest.fixture(scope="module")
def suite():
    return parse_suite(SUITE)


def test_pair_effects_are_oriented_negative_when_the_candidate_is_worse(suite) -> None:
    run = records(4, np.random.default_rng(0), slow=1.2, tput=0.8, mem=1.25, jitter=1e-9)
    checks = {c.name: c for c in suite.gate.checks}
    for name, expected in (
        ("ttft", -math.log(1.2)),
        ("tput", math.log(0.8)),
        ("mem", -math.log(1.25)),
    ):
        effects, cand, inc = pair_effects(checks[name], run)
        assert effects == pytest.approx([expected] * 4, abs=1e-6), name
        assert cand is not None and inc is not None
    _, cand_ms, inc_ms = pair_effects(checks["ttft"], run)
    assert cand_ms / inc_ms == pytest.approx(1.2, rel=0.05)


def test_clear_regression_fails_and_stops(suite) -> None:
    run = records(3, np.random.default_rng(1), slow=1.5, jitter=0.001)
    now = look(suite, run)  # the suite's default: stop once a critical check failed
    assert now.stop and now.decided
    assert now.reason == "critical check failed: ttft"
    every = look(suite, run, SequentialConfig(stop_on_fail=False))
    assert every.stop and every.reason == "every critical load check is decided"
    assert every.verdicts == now.verdicts
    assert now.verdicts["ttft"] == "fail"
    assert now.verdicts["tput"] == now.verdicts["mem"] == "pass"
    assert now.estimates["ttft"].estimate == pytest.approx(-math.log(1.5), abs=0.02)
    assert now.estimates["ttft"].p_worse < 1e-3
    assert "mSPRT" in now.estimates["ttft"].method


def test_no_change_with_tight_noise_passes_and_stops(suite) -> None:
    run = records(3, np.random.default_rng(2), jitter=0.001)
    now = look(suite, run)
    assert now.stop and now.decided
    assert {now.verdicts[n] for n in ("quality", "ttft", "tput", "mem")} == {"pass"}
    assert now.estimates["tput"].ci_low > -math.log1p(0.1)
    assert final_checks(suite, run, now) is now.checks


def test_noisy_rounds_stay_undecided(suite) -> None:
    run = records(3, np.random.default_rng(3), jitter=0.3)
    now = look(suite, run)
    assert not now.stop
    assert now.verdicts["ttft"] == "inconclusive"
    assert now.pairs == 3


def test_cap_stops_without_deciding_and_falls_back_to_the_fixed_gate(suite) -> None:
    config = SequentialConfig(max_pairs=4)
    run = records(4, np.random.default_rng(4), jitter=0.3)
    now = look(suite, run, config)
    assert now.stop and not now.decided
    assert "cap" in now.reason
    checks = final_checks(suite, run, now, config)
    assert "paired t" in {c.name: c for c in checks}["ttft"].method  # the fixed-n estimate
    assert fallback_suite(suite, config).gate.alpha == pytest.approx(suite.gate.alpha / 2)


def test_before_min_pairs_nothing_is_decided(suite) -> None:
    now = look(suite, records(2, np.random.default_rng(5)))
    assert not now.stop
    assert math.isinf(now.estimates["ttft"].ci_low)
    assert now.verdicts["ttft"] == "inconclusive"


def test_a_failed_quality_check_stops_the_load_only_with_stop_on_fail(suite) -> None:
    run = records(3, np.random.default_rng(6), jitter=0.3, cand_wrong=40)
    keep_going = look(suite, run, SequentialConfig(stop_on_fail=False))  # decide every check
    assert keep_going.verdicts["quality"] == "fail"
    assert not keep_going.stop
    config = SequentialConfig(stop_on_fail=True)  # the suite's default
    assert look(suite, run).stop
    now = look(suite, run, config)
    assert now.stop and now.decided and "quality" in now.reason
    early = look(suite, records(2, np.random.default_rng(6), cand_wrong=40), config)
    assert not early.stop  # never before min_pairs


def test_always_valid_p_never_rises_and_the_interval_only_narrows(suite) -> None:
    full = records(12, np.random.default_rng(7), slow=1.15, jitter=0.05)
    ests = []
    for k in range(3, 13):
        part = RunRecords(
            None,
            [r for r in full.requests if r.round < k],
            full.items,
            [p for p in full.probes if p.round < k],
            [e for e in full.events if e.detail["round"] < k],
        )
        ests.append(look(suite, part, SequentialConfig(stop_on_fail=False)).estimates["ttft"])
    p = [e.p_worse for e in ests]
    assert all(b <= a for a, b in zip(p, p[1:], strict=False))
    assert all(
        b.ci_low >= a.ci_low and b.ci_high <= a.ci_high
        for a, b in zip(ests, ests[1:], strict=False)
    )
    assert p[-1] < 0.05 and [e.n for e in ests] == list(range(3, 13))


def test_peeking_keeps_the_false_alarm_rate() -> None:
    """Normal effects, no change: rejecting at any look keeps P(false alarm) near alpha."""
    rng = np.random.default_rng(8)
    config = SequentialConfig()
    margin = math.log1p(0.05)
    hits = sum(
        always_valid(rng.normal(0.0, 2 * margin, 15), margin, 0.95, config).p_worse < 0.05
        for _ in range(400)
    )
    assert hits <= 20  # ~5 expected; a plain t-test at every look would reject far more


def test_config_validation_and_mapping_from_a_policy() -> None:
    with pytest.raises(ValueError):
        SequentialConfig(min_pairs=1)
    with pytest.raises(ValueError):
        SequentialConfig(min_pairs=5, max_pairs=3)
    with pytest.raises(ValueError):
        SequentialConfig(alpha_share=0.0)
    mapped = SequentialConfig.from_policy(SimpleNamespace(sequential={"min_pairs": 4}))
    assert mapped.min_pairs == 4 and mapped.alpha_share == SequentialConfig().alpha_share
    assert SequentialConfig.from_policy(SimpleNamespace()) == SequentialConfig()
