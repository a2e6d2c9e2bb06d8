"""One effect per check in every report; result.json records the α and interval actually used."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from html import unescape

import numpy as np
import pytest

from releasegate.gate.compare import Comparison
from releasegate.gate.decide import decide_checks
from releasegate.gate.effect import describe
from releasegate.gate.result import CheckResult, ReportInput, Result
from releasegate.gate.sequential import SequentialConfig, always_valid, fallback_suite
from releasegate.report import plots
from releasegate.report.html import render_html
from releasegate.report.json_out import JsonReporter, result_json_schema
from releasegate.report.junit import render_junit
from releasegate.report.markdown import render_summary
from releasegate.stats import Estimate
from releasegate.suite import parse_suite

SUITE = """\
name: fx
server: {url: "http://127.0.0.1:1"}
candidate: {id: a}
incumbent: {id: b}
eval:
  - {name: e, dataset: {items: [{q: 1}]}, template: x, scorers: [{kind: exact}]}
load:
  - {name: l, prompts: [hi], requests_per_round: 2, rounds: 8}
gate:
  checks:
    - {name: ttft, metric: ttft_p95, margin: 0.25, owner: perf}
    - {name: tput, metric: output_tokens_per_s, margin: 0.25, owner: perf}
    - {name: mem, metric: peak_rss, margin: 0.2, owner: cap}
    - {name: quality, metric: quality, margin: 0.05, owner: qa}
"""


def check(metric: str, est: float, lo: float, hi: float, margin: float, scale: str) -> CheckResult:
    stored = math.log1p(margin) if scale == "log-ratio" else margin
    return CheckResult(
        name=metric,
        metric=metric,
        severity="critical",
        owner="o",
        verdict="inconclusive",
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        margin=stored,
        margin_input=margin,
        scale=scale,  # type: ignore[arg-type]
        n=10,
    )


@pytest.mark.parametrize(
    ("c", "text", "interval", "allowed"),
    [
        # latency: Δ = log(inc/cand); 1.523 × slower is +52.3 %
        (
            check("ttft_p95", -math.log(1.523), -math.log(1.6), -math.log(1.45), 0.25, "log-ratio"),
            "+52.3% TTFT p95 (slower)",
            "[+45.0%, +60.0%]",
            "≤ +25.0%",
        ),
        # throughput: Δ = log(cand/inc); a 25 % margin allows the incumbent 1.25 × ahead
        (
            check(
                "output_tokens_per_s",
                math.log(0.53),
                math.log(0.5),
                math.log(0.56),
                0.25,
                "log-ratio",
            ),
            "-47.0% tok/s",
            "[-50.0%, -44.0%]",
            "≥ -20.0%",
        ),
        (
            check("peak_rss", -math.log(1.89), -math.log(1.95), -math.log(1.8), 0.2, "log-ratio"),
            "+89.0% memory",
            "[+80.0%, +95.0%]",
            "≤ +20.0%",
        ),
        (
            check("quality", -0.048, -0.07, -0.02, 0.05, "difference"),
            "-4.8 points",
            "[-7.0 points, -2.0 points]",
            "≥ -5.0 points",
        ),
        (
            check("error_rate", -0.0139, -0.0355, -0.0038, 0.01, "difference"),
            "1.39% of requests failed",
            "[0.38%, 3.55%]",
            "≤ 1.00%",
        ),
    ],
)
def test_effect_in_the_readers_terms(
    c: CheckResult, text: str, interval: str, allowed: str
) -> None:
    effect = describe(c)
    assert (effect.text, effect.interval, effect.margin) == (text, interval, allowed)
    assert effect.low is not None and effect.high is not None and effect.value is not None
    assert effect.low <= effect.value <= effect.high


def test_the_interval_is_inside_the_allowed_change_exactly_when_the_check_passes() -> None:
    """ci_low > −margin (the PASS rule) ⇔ the worse end of the shown interval is allowed."""
    rng = np.random.default_rng(0)
    for metric, scale in [
        ("ttft_p95", "log-ratio"),
        ("output_tokens_per_s", "log-ratio"),
        ("peak_rss", "log-ratio"),
        ("quality", "difference"),
        ("error_rate", "difference"),
    ]:
        for _ in range(200):
            est = float(rng.normal(-0.05, 0.1))
            lo, hi = est - float(rng.uniform(0, 0.1)), est + float(rng.uniform(0, 0.1))
            c = check(metric, est, lo, hi, 0.1, scale)
            e = describe(c)
            worse_end = e.high if e.higher_is_worse else e.low
            inside = worse_end < e.limit if e.higher_is_worse else worse_end > e.limit
            assert inside == (lo > -c.margin), (metric, est, lo, hi)


def result_of(checks: list[CheckResult], alpha: float = 0.01) -> Result:
    return Result(
        suite="fx",
        run_id="r",
        verdict="inconclusive",
        checks=checks,
        recommendation={"action": "hold", "reasons": []},
        arms={},
        alpha=alpha,
        pass_confidence=0.95,
    )


def sequential_like_checks() -> tuple[list[CheckResult], float]:
    """decide_checks as the sequential looks call it: mSPRT estimates at the looks' α."""
    suite = parse_suite(SUITE)
    config = SequentialConfig()
    checks = suite.gate.all_checks()
    rng = np.random.default_rng(3)
    comps = []
    for spec, shift in zip(checks[:3], (-0.42, 0.0, -0.3), strict=True):
        margin = math.log1p(spec.margin)
        est = always_valid(rng.normal(shift, 0.05, 8), margin, 0.95, config)
        comps.append(Comparison(spec, est, "log-ratio", margin, 130.0, 100.0, "ms"))
    quality = Estimate(-0.01, -0.04, 0.02, 0.3, 200, "McNemar", 0.015)
    comps.append(Comparison(checks[3], quality, "difference", 0.05, 0.7, 0.71, "score"))
    comps.append(Comparison(checks[4], None, "difference", 0.01, None, None, "errors", "none"))
    looks_alpha = suite.gate.alpha * config.alpha_share
    looks = suite.model_copy(update={"gate": suite.gate.model_copy(update={"alpha": looks_alpha})})
    return decide_checks(looks, comps), looks_alpha


def test_result_json_records_the_alpha_and_interval_kind_actually_used() -> None:
    checks, looks_alpha = sequential_like_checks()
    data = json.loads(JsonReporter().render(_input(result_of(checks))))
    by_name = {c["name"]: c for c in data["checks"]}
    assert data["alpha"] == 0.01 and looks_alpha == 0.005
    for name in ("ttft", "tput", "mem"):
        assert by_name[name]["alpha"] == 0.005
        assert by_name[name]["interval"] == "95% always-valid confidence sequence"
        assert by_name[name]["confidence"] == 0.95
    assert by_name["quality"]["interval"] == "one-sided 95% bounds"
    assert by_name["quality"]["alpha"] == 0.005
    assert by_name["request-errors"]["alpha"] is None  # not tested: no data
    Result.model_validate(data)  # the published model reads it back
    props = result_json_schema()["$defs"]["CheckResult"]["properties"]
    assert {"alpha", "confidence", "interval"} <= set(props)


def test_fallback_records_its_share_of_alpha() -> None:
    suite = parse_suite(SUITE)
    fallback = fallback_suite(suite, SequentialConfig())
    spec = suite.gate.all_checks()[0]
    est = Estimate(-0.1, -0.2, 0.0, 0.04, 8, "paired bootstrap over rounds")
    comp = Comparison(spec, est, "log-ratio", math.log1p(0.25), 1.0, 1.0, "ms")
    [result] = decide_checks(fallback, [comp])
    assert result.alpha == pytest.approx(0.005)
    assert result.interval == "one-sided 95% bounds"


def _input(result: Result) -> ReportInput:
    return ReportInput(result=result)


def test_every_report_and_reason_shows_the_same_effect() -> None:
    checks, _ = sequential_like_checks()
    data = _input(result_of(checks))
    page = unescape(render_html(data))
    summary = render_summary(data).replace("\\", "")
    root = ET.fromstring(render_junit(data).split("\n", 1)[1])
    messages = {
        case.get("name"): " ".join(
            (child.get("message") or "") + (child.text or "") for child in case
        )
        for case in root.iter("testcase")
    }
    for c in checks:
        if c.estimate is None:
            continue
        effect = describe(c)
        for where, text in (("html", page), ("markdown", summary)):
            assert effect.text in text and effect.interval in text, (where, c.name)
            assert effect.margin in text, (where, c.name)
        assert effect.text in c.reason and effect.interval in c.reason
        if c.verdict != "pass":
            assert effect.text in messages[c.name] and effect.interval in messages[c.name]
    ttft = describe(next(c for c in checks if c.name == "ttft"))
    assert ttft.text.startswith("+") and "(slower)" in ttft.text
    # no second, contradicting effect: no negative percent for a check that got slower
    row = next(line for line in summary.splitlines() if line.startswith("| ttft"))
    assert not re.search(r"-\d+\.\d%", row.split("|")[6])


def test_html_labels_plain_values_and_draws_the_strip_in_the_same_terms() -> None:
    checks, _ = sequential_like_checks()
    page = render_html(_input(result_of(checks)))
    assert "p95, geo-mean of rounds" in page and "mean of rounds" in page and "built-in" not in page
    assert "95% always-valid confidence sequence; tested at α=0.005" in page
    by_name = {c.name: c for c in checks}
    for name, zone_at_left in (("ttft", False), ("tput", True)):
        svg = str(plots.interval_svg(by_name[name]))
        assert describe(by_name[name]).summary in unescape(svg)
        x = float(re.search(r'<rect x="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
        assert (x == 0.0) == zone_at_left, name  # latency: worse is right; tok/s: left


def test_huge_relative_bounds_read_as_a_cap_not_millions_of_percent() -> None:
    from releasegate.gate.effect import _pct

    assert _pct(23_550_532.25) == ">+999%"
    assert _pct(9.99) == "+999.0%"
    assert _pct(-1.0) == "-100.0%"
