"""One paired view of load rounds: zero ITL gaps, pairing by key, dead rounds, early stops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from releasegate.gate.compare import compare_all, tail_pairs, value_pairs
from releasegate.gate.decide import decide_checks
from releasegate.gate.sequential import SequentialConfig, look, pair_effects
from releasegate.records import EventRecord, ItemRecord, ProbeRecord, RequestRecord, Timing
from releasegate.records.paired import DEAD_FLOOR, positive_gaps
from releasegate.records.views import RunRecords
from releasegate.stats import harrell_davis
from releasegate.suite import parse_suite
from releasegate.suite.models import SequentialSpec

SUITE = """\
name: p
server: {url: "http://127.0.0.1:1"}
candidate: {id: a}
incumbent: {id: b}
eval:
  - {name: e, dataset: {items: [{q: 1}]}, template: x, scorers: [{kind: exact}]}
load:
  - {name: l, prompts: [hi], requests_per_round: 30, rounds: 10}
gate:
  checks:
    - {name: quality, metric: quality, margin: 0.05, owner: qa}
    - {name: ttft, metric: ttft_p95, margin: 0.2, owner: perf}
    - {name: itl, metric: itl_p95, margin: 0.2, owner: perf}
    - {name: tput, metric: output_tokens_per_s, margin: 0.1, owner: perf}
    - {name: mem, metric: peak_rss, margin: 0.1, owner: cap}
"""


@pytest.fixture(scope="module")
def suite():
    return parse_suite(SUITE)


@pytest.fixture(scope="module")
def checks(suite):
    return {c.name: c for c in suite.gate.all_checks()}


def timing(ttft: float, gaps: list[float], ok: bool = True) -> Timing:
    offsets = list(np.cumsum([ttft, *gaps]))
    return Timing(
        started_at=0.0,
        ttft_s=ttft if ok else None,
        e2e_s=offsets[-1] + 0.01 if ok else None,
        chunk_offsets_s=offsets if ok else [],
        status=200 if ok else None,
        error=None if ok else "refused",
        completion_tokens=len(offsets) if ok else None,
    )


def run_of(
    rounds: int = 10,
    *,
    scale=lambda arm, rnd: 2.0**rnd,  # noqa: B008 - a round-dependent level exposes mis-pairing
    dead: set[tuple[str, int]] = frozenset(),
    zero_tput: set[tuple[str, int]] = frozenset(),
    drop: set[tuple[str, int]] = frozenset(),
    requests: int = 30,
    items: int = 20,
) -> RunRecords:
    """An A/A run: both arms identical except where ``scale`` says otherwise.

    ``dead`` rounds: every request fails and throughput is 0; ``zero_tput``: the round_end
    reports 0 throughput; ``drop``: the round has no records at all on that arm.
    """
    out: list = []
    for i in range(items):
        for arm in ("candidate", "incumbent"):
            out.append(
                ItemRecord(
                    t=0,
                    arm=arm,
                    workload="e",
                    item_id=str(i),
                    prompt="p",
                    output="o",
                    scores={"exact": 1.0},
                    timing=timing(0.1, [0.01]),
                )
            )
    base = np.linspace(0.1, 0.3, requests)
    for rnd in range(rounds):
        for arm in ("candidate", "incumbent"):
            if (arm, rnd) in drop:
                continue
            s = scale(arm, rnd)
            ok = (arm, rnd) not in dead
            for seq, ttft in enumerate(base * s):
                # gaps of 0: two chunks delivered in one network read
                gaps = [0.02 * s, 0.0, 0.03 * s, 0.0, 0.0, 0.025 * s]
                out.append(
                    RequestRecord(
                        t=0,
                        arm=arm,
                        workload="l",
                        round=rnd,
                        seq=seq,
                        timing=timing(float(ttft), gaps, ok),
                    )
                )
            tput = 0.0 if not ok or (arm, rnd) in zero_tput else 100.0 / s
            detail = {"workload": "l", "round": rnd, "output_tokens_per_s": tput}
            out.append(EventRecord(t=0, arm=arm, event="round_end", detail=detail))
            mem = {"peak_rss": 1e9 * (1 + 0.01 * rnd)}
            out.append(ProbeRecord(t=0, arm=arm, probe="memory", round=rnd, values=mem))
    return RunRecords.of(out)


# --- defect 2: zero ITL gaps ---------------------------------------------------------


def test_zero_gaps_of_one_network_read_are_dropped_by_one_rule() -> None:
    t = timing(0.1, [0.02, 0.0, 0.03, 0.0])
    assert t.itl_s == pytest.approx([0.02, 0.0, 0.03, 0.0])  # the raw gaps keep them
    assert positive_gaps(t) == pytest.approx([0.02, 0.03])


def test_itl_with_zero_gaps_compares_in_fixed_n_and_both_paths_read_the_same_samples(
    suite, checks
) -> None:
    run = run_of()
    found = {c.check.name: c for c in compare_all(suite, run)}  # raised before the fix
    itl = found["itl"]
    assert itl.estimate is not None and itl.estimate.n == 10
    assert itl.estimate.estimate == pytest.approx(0.0)
    pairs = tail_pairs(checks["itl"], run)
    assert all(np.all(a > 0) for a in pairs.candidate + pairs.incumbent)
    assert all(a.size == 30 * 3 for a in pairs.candidate)  # 3 positive gaps per request
    effects, cand_ms, inc_ms = pair_effects(checks["itl"], run)
    expected = [
        math.log(harrell_davis(i, 0.95) / harrell_davis(c, 0.95))
        for c, i in zip(pairs.candidate, pairs.incumbent, strict=True)
    ]
    assert effects == pytest.approx(expected)
    assert (cand_ms, inc_ms) == pytest.approx((itl.candidate_value, itl.incumbent_value))


# --- defect 3: pairing by (workload, round) ------------------------------------------


def test_an_empty_candidate_round_does_not_shift_the_pairs(suite, checks) -> None:
    # A/A, round levels 1, 2, 4, ... : pairing by position would compare round k with k + 1
    run = run_of(drop={("candidate", 1)})
    pairs = tail_pairs(checks["ttft"], run, ["l"])
    assert pairs.keys == [("l", r) for r in range(10) if r != 1]
    for c, i in zip(pairs.candidate, pairs.incumbent, strict=True):
        assert c == pytest.approx(i)
    found = {c.check.name: c for c in compare_all(suite, run)}
    for name in ("ttft", "itl"):
        est = found[name].estimate
        assert est is not None and est.n == 9, name
        assert est.estimate == pytest.approx(0.0, abs=1e-12), name
        assert est.ci_low <= 0.0 <= est.ci_high, name
    assert found["tput"].estimate.estimate == pytest.approx(0.0, abs=1e-12)
    assert found["tput"].estimate.n == 9
    assert found["tput"].units_run == 9  # round 1 never ran as a pair


def test_failed_rounds_skip_their_pair_and_say_so(suite) -> None:
    run = run_of(dead={("candidate", 3)})
    ttft = {c.check.name: c for c in compare_all(suite, run)}["ttft"]
    assert ttft.estimate.n == 9 and ttft.estimate.estimate == pytest.approx(0.0, abs=1e-12)
    assert "l#3" in ttft.note and ttft.units_run == 10


# --- defect 7: dead rounds in throughput ---------------------------------------------


def test_a_dead_incumbent_round_drops_its_pair_only(suite, checks) -> None:
    run = run_of(zero_tput={("incumbent", 4)})
    pairs = value_pairs(checks["tput"], run)
    assert len(pairs.keys) == 9 and pairs.dropped == [("l", 4)] and not pairs.floored
    tput = {c.check.name: c for c in compare_all(suite, run)}["tput"]
    assert tput.estimate is not None and tput.estimate.n == 9  # was "no complete rounds"
    assert tput.estimate.estimate == pytest.approx(0.0, abs=1e-12)
    assert "dropped" in tput.note and "l#4" in tput.note
    effects, _, _ = pair_effects(checks["tput"], run)
    assert effects.size == 9


def test_a_dead_candidate_round_counts_against_the_candidate(suite, checks) -> None:
    run = run_of(dead={("candidate", 4)})
    pairs = value_pairs(checks["tput"], run)
    assert len(pairs.keys) == 10 and pairs.floored == [("l", 4)]
    tput = {c.check.name: c for c in compare_all(suite, run)}["tput"]
    assert tput.estimate.n == 10
    assert tput.estimate.estimate == pytest.approx(math.log(DEAD_FLOOR) / 10)
    assert "counted at 1%" in tput.note
    effects, _, _ = pair_effects(checks["tput"], run)
    assert sorted(effects) == pytest.approx([math.log(DEAD_FLOOR)] + [0.0] * 9)
    # the memory check keeps every pair: peaks were measured on both arms
    assert value_pairs(checks["mem"], run).keys == [("l", r) for r in range(10)]


def test_memory_probes_pair_by_workload_and_round() -> None:
    text = SUITE.replace(
        "  - {name: l, prompts: [hi], requests_per_round: 30, rounds: 10}",
        "  - {name: a, prompts: [hi], requests_per_round: 1, rounds: 2}\n"
        "  - {name: b, prompts: [hi], requests_per_round: 1, rounds: 2}",
    ).replace("owner: cap}", "owner: cap, workload: b}")
    suite = parse_suite(text)
    records: list = []
    t = 0.0
    for workload, peak in (("a", 1e9), ("b", 3e9)):
        for rnd in range(2):
            for arm in ("candidate", "incumbent"):
                t += 1
                if not (arm == "candidate" and workload == "a" and rnd == 0):  # probe lost
                    value = {"peak_rss": peak * (1.5 if arm == "candidate" else 1.0)}
                    records.append(
                        ProbeRecord(t=t, arm=arm, probe="memory", round=rnd, values=value)
                    )
                detail = {"workload": workload, "round": rnd}
                records.append(EventRecord(t=t, arm=arm, event="round_end", detail=detail))
    run = RunRecords.of(records)
    mem = {c.name: c for c in suite.gate.checks}["mem"]
    pairs = value_pairs(mem, run, ["a", "b"])
    assert pairs.keys == [("b", 0), ("b", 1)]
    assert pairs.candidate == pytest.approx([4.5e9, 4.5e9])
    assert pairs.incumbent == pytest.approx([3e9, 3e9])
    effects, _, _ = pair_effects(mem, run, ["a", "b"])
    assert effects == pytest.approx([-math.log(1.5)] * 2)


# --- issue 6 / defect 9: stopping ----------------------------------------------------


def test_stop_on_fail_defaults_agree_with_the_schema() -> None:
    assert SequentialConfig().stop_on_fail is True
    assert SequentialSpec().stop_on_fail is True


def test_a_dead_candidate_stops_the_run_once_min_pairs_have_run(suite) -> None:
    every = {("candidate", r) for r in range(10)}
    early = look(suite, run_of(2, dead=every))
    assert not early.stop and early.pairs == 2
    now = look(suite, run_of(3, dead=every))
    assert now.verdicts["request-errors"] == "fail"
    assert now.stop and now.decided and now.pairs == 3
    assert "request-errors" in now.reason
    assert now.verdicts["tput"] == "fail"  # dead rounds count against the candidate
    assert now.verdicts["ttft"] == "inconclusive"  # no latency to compare: not hidden as pass
    off = look(suite, run_of(3, dead=every), SequentialConfig(stop_on_fail=False))
    assert not off.stop


def test_a_failed_check_stops_even_before_a_later_workloads_rounds() -> None:
    text = SUITE.replace(
        "rounds: 10}", "rounds: 10}\n  - {name: b, prompts: [hi], requests_per_round: 2, rounds: 5}"
    ).replace("owner: perf}", "owner: perf, workload: b}")
    two = parse_suite(text)
    run = run_of(3, dead={("candidate", r) for r in range(3)})  # workload l only, so far
    now = look(two, run)
    assert now.pairs == 0  # no pair of b ran yet: its checks cannot be decided
    assert now.stop and now.decided and "request-errors" in now.reason


def test_sequential_pairs_match_the_fixed_n_pairs(suite, checks) -> None:
    run = run_of(drop={("incumbent", 2)}, dead={("candidate", 5)})
    fixed = {c.check.name: c for c in compare_all(suite, run)}
    for name in ("ttft", "itl", "tput", "mem"):
        effects, cand, inc = pair_effects(checks[name], run, ["l"])
        assert effects.size == fixed[name].estimate.n, name
        assert (cand, inc) == pytest.approx(
            (fixed[name].candidate_value, fixed[name].incumbent_value)
        ), name
    found = {c.name: c for c in decide_checks(suite, compare_all(suite, run))}
    assert found["tput"].n == 9  # round 2 never ran as a pair, round 5 floored
    assert "dead candidate round(s) counted at 1% of the incumbent: l#5" in found["tput"].reason
    assert "l#5" in found["ttft"].reason  # left out of the tail pairs, and said so
