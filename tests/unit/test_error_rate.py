"""The request-error check: exact tests against scipy, calibration with known truth, the gate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from releasegate.gate.compare import compare_all
from releasegate.gate.compare import compare_errors as reexported
from releasegate.gate.decide import decide_checks
from releasegate.gate.error_rate import compare_errors, error_counts
from releasegate.records import ItemRecord, RequestRecord, Timing
from releasegate.records.views import RunRecords
from releasegate.stats import holm_adjusted
from releasegate.stats.rates import (
    cp_bounds,
    error_check_rates,
    error_rate_test,
    requests_to_fail,
    requests_to_pass,
    simulate_error_check,
)
from releasegate.suite import parse_suite

LIMIT, ALPHA, CONF = 0.01, 0.01, 0.95

SUITE = """\
name: e
server: {url: "http://127.0.0.1:1"}
candidate: {id: a}
incumbent: {id: b}
load:
  - {name: l, prompts: [hi], requests_per_round: 2, rounds: 2}
gate:
  checks:
    - {name: ttft, metric: ttft_p95, margin: 0.2, owner: perf}
"""


@pytest.mark.parametrize(
    ("ce", "cn", "ie", "in_"),
    [(0, 216, 0, 216), (3, 216, 1, 216), (9, 312, 1, 312), (20, 520, 0, 520), (5, 100, 6, 120)],
)
def test_exact_tests_match_scipy(ce: int, cn: int, ie: int, in_: int) -> None:
    test = error_rate_test(ce, cn, ie, in_, LIMIT, CONF)
    binom = stats.binomtest(ce, cn, LIMIT, alternative="greater").pvalue
    fisher = stats.fisher_exact([[ce, cn - ce], [ie, in_ - ie]], alternative="greater").pvalue
    ci = stats.binomtest(ce, cn).proportion_ci(confidence_level=2 * CONF - 1, method="exact")
    assert test.p_limit == pytest.approx(binom, rel=1e-9, abs=1e-15)
    assert test.p_inc == pytest.approx(fisher, rel=1e-9, abs=1e-15)
    assert test.p == max(test.p_limit, test.p_inc)
    assert (test.low, test.high) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-15)


def test_known_answers_by_hand() -> None:
    # 0 failures in n: the 95 % CP upper bound is 1 − 0.05^(1/n); 299 requests clear 1 %.
    _, high = cp_bounds(0, 216, CONF)
    assert float(high) == pytest.approx(1 - 0.05 ** (1 / 216))
    assert float(high) > LIMIT  # 216 requests cannot show ≤ 1 %
    assert requests_to_pass(0, 216, LIMIT, CONF) == math.ceil(math.log(0.05) / math.log(0.99))
    # P(X ≥ 1 | Bin(n, 0.01)) = 1 − 0.99^n
    assert error_rate_test(1, 50, 0, 50, LIMIT, CONF).p_limit == pytest.approx(1 - 0.99**50)
    # requests_to_fail: the least n whose observed rate is significant against the limit
    more = requests_to_fail(4, 216, LIMIT, ALPHA)
    assert more is not None and more > 216
    k = round(4 / 216 * more)
    assert stats.binomtest(k, more, LIMIT, alternative="greater").pvalue < ALPHA
    k = round(4 / 216 * (more - 1))
    assert stats.binomtest(k, more - 1, LIMIT, alternative="greater").pvalue >= ALPHA
    assert requests_to_fail(1, 216, LIMIT, ALPHA) is None  # not above the limit
    assert requests_to_pass(3, 216, LIMIT, CONF) is None  # not below it


def test_limit_zero_and_impossible_counts() -> None:
    assert error_rate_test(0, 10, 0, 10, 0.0, CONF).p == 1.0
    assert error_rate_test(1, 10, 0, 10, 0.0, CONF).p_limit == 0.0
    with pytest.raises(ValueError):
        error_rate_test(11, 10, 0, 10, LIMIT, CONF)
    with pytest.raises(ValueError):
        error_rate_test(1, 10, 0, 10, 1.5, CONF)


@pytest.mark.parametrize("rate", [0.002, 0.005, 0.01])
@pytest.mark.parametrize("n", [216, 312])
def test_aa_false_fail_rate_is_at_most_alpha(rate: float, n: int) -> None:
    """Both arms at the same true rate: the check alone FAILs with probability ≤ α (exact)."""
    exact = error_check_rates(rate, rate, n, n, LIMIT, ALPHA, CONF)
    assert exact.fail <= ALPHA
    assert exact.fail + exact.pass_ + exact.inconclusive == pytest.approx(1.0)


def test_reproducer_aa_at_half_a_percent_216_requests() -> None:
    """Issue 10 defect 5: the old threshold FAILed 8.6 % of A/A runs here; now ≤ 1 %.

    20 000 simulated runs; the exact false-FAIL rate is 4e-5, so a count above 200 (1 %) has
    probability < 1e-300 (binomial tail): this cannot flake.
    """
    sim = simulate_error_check(0.005, 0.005, 216, 216, LIMIT, ALPHA, CONF, 20_000, rng())
    assert sim.fail <= ALPHA
    exact = error_check_rates(0.005, 0.005, 216, 216, LIMIT, ALPHA, CONF)
    # Simulation and enumeration agree (SE of a share near 1 is tiny).
    assert sim.inconclusive == pytest.approx(exact.inconclusive, abs=0.01)


def test_old_threshold_rule_failed_often_at_the_same_truth() -> None:
    """The observed-share rule this replaces: FAIL when the share > 1 % and the incumbent's not."""
    ce = rng().binomial(216, 0.005, 20_000)
    ie = rng(1).binomial(216, 0.005, 20_000)
    old_fail = np.mean((ce / 216 > LIMIT) & (ie / 216 <= LIMIT))
    assert old_fail > 0.05  # ~8 %: why the check needed a test


def test_pass_with_no_errors_needs_enough_requests() -> None:
    assert error_check_rates(0.0, 0.0, 216, 216, LIMIT, ALPHA, CONF).pass_ == 0.0
    assert error_check_rates(0.0, 0.0, 312, 312, LIMIT, ALPHA, CONF).pass_ == 1.0


def test_power_against_a_clearly_failing_candidate() -> None:
    power = [error_check_rates(0.05, 0.005, n, n, LIMIT, ALPHA, CONF).fail for n in (216, 312)]
    assert 0.6 < power[0] < power[1] and power[1] > 0.85


def test_cp_bound_covers_at_least_its_confidence() -> None:
    for rate in (0.002, 0.005, 0.01):
        for n in (216, 312):
            assert error_check_rates(rate, rate, n, n, LIMIT, ALPHA, CONF).coverage >= CONF


def test_both_arms_failing_alike_cannot_fail_the_candidate() -> None:
    test = error_rate_test(12, 216, 12, 216, LIMIT, CONF)
    assert test.p_limit < ALPHA and test.p_inc > 0.5 and test.p == test.p_inc


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def timing(ok: bool) -> Timing:
    return Timing(
        started_at=0.0,
        ttft_s=0.1,
        e2e_s=1.0,
        chunk_offsets_s=[0.1],
        status=200 if ok else None,
        error=None if ok else "refused",
        completion_tokens=10,
    )


def run_with(cand_errors: int, inc_errors: int, n: int, *, slower: float = 1.0) -> RunRecords:
    records = []
    for arm, errors in (("candidate", cand_errors), ("incumbent", inc_errors)):
        for i in range(n):
            t = timing(ok=i >= errors)
            if arm == "candidate" and t.ok:
                t = t.model_copy(update={"ttft_s": 0.1 * slower * (1 + i % 7 / 50)})
            records.append(RequestRecord(t=0, arm=arm, workload="l", round=i % 8, seq=i, timing=t))
        records.append(
            ItemRecord(
                t=0,
                arm=arm,
                workload="l",
                item_id="x",
                prompt="p",
                output="o",
                scores={},
                timing=timing(ok=True),
            )
        )
        records.append(
            RequestRecord(
                t=0, arm=arm, workload="l", round=0, seq=-1, warmup=True, timing=timing(False)
            )
        )
    return RunRecords.of(records)


def test_counts_skip_warmup_and_include_items() -> None:
    run = run_with(3, 1, 100)
    assert error_counts(run, None, "candidate") == (3, 101)
    assert error_counts(run, "other", "candidate") == (0, 0)


def test_compare_errors_is_reexported_and_oriented() -> None:
    assert reexported is compare_errors
    suite = parse_suite(SUITE)
    check = suite.gate.all_checks()[-1]
    c = compare_errors(check, run_with(20, 0, 400), CONF)
    assert c.estimate is not None and c.verdict is None  # tested, not a preset threshold
    assert c.estimate.estimate == pytest.approx(-20 / 401)
    assert c.estimate.ci_low < c.estimate.estimate < c.estimate.ci_high <= 0
    assert c.margin == LIMIT


def test_error_check_joins_the_holm_family() -> None:
    suite = parse_suite(SUITE)
    comps = compare_all(suite, run_with(8, 0, 500, slower=1.5))
    raw = [c.estimate.p_worse for c in comps]
    checks = {c.name: c for c in decide_checks(suite, comps)}
    adjusted = holm_adjusted(raw)
    assert checks["request-errors"].p_value == pytest.approx(adjusted[1])
    assert checks["ttft"].p_value == pytest.approx(adjusted[0])
    # two members: the smallest p is doubled (it was left alone when errors stood outside)
    assert raw[0] < raw[1] < 0.5
    assert checks["ttft"].p_value == pytest.approx(2 * raw[0])
    assert checks["request-errors"].alpha == suite.gate.alpha


@pytest.mark.parametrize(
    ("cand", "inc", "n", "verdict", "words"),
    [
        (0, 0, 400, "pass", "within margin"),
        (30, 0, 400, "fail", "above the limit and above the incumbent"),
        (30, 30, 400, "inconclusive", "both arms fail alike"),
        (0, 0, 200, "inconclusive", "about 299 requests in total would decide it"),
        (6, 0, 400, "inconclusive", "above the limit, but not significantly"),
        (40, 25, 400, "inconclusive", "both arms above the limit (incumbent 6.23%)"),
    ],
)
def test_error_check_verdicts_and_reasons(
    cand: int, inc: int, n: int, verdict: str, words: str
) -> None:
    suite = parse_suite(SUITE)
    checks = {c.name: c for c in decide_checks(suite, compare_all(suite, run_with(cand, inc, n)))}
    errors = checks["request-errors"]
    assert errors.verdict == verdict, errors.reason
    assert words in errors.reason
    assert f"candidate {cand}/{n + 1} failed" in errors.reason
    assert errors.interval == "one-sided 95% Clopper–Pearson bounds"
    assert errors.p_value is not None and errors.confidence == CONF
