"""report.html: escaping of untrusted text, self-containment, content and plots."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markupsafe import escape
from test_report_data import HOSTILE, ODD_NAME, make_input

from releasegate.gate.result import CheckResult
from releasegate.report import plots, render_html
from releasegate.report.html import MAX_FLIPPED, MAX_OUTPUT_CHARS

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "section", "div", "span",
    "ul", "li", "h1", "h2", "h3", "h4", "p", "table", "thead", "tbody", "tr", "th", "td",
    "strong", "svg", "text", "line", "rect", "circle", "path", "g", "article", "pre",
    "details", "summary", "dl", "dt", "dd", "footer",
}  # fmt: skip


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _parse(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


def test_hostile_model_output_is_escaped() -> None:
    page = render_html(make_input())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    assert "</textarea>" not in page
    assert "<img" not in page.lower()
    assert "<b>bold</b>" not in page
    for text in HOSTILE:
        assert escape(text) in page
    # template syntax in model output and in environment keys is shown, never evaluated
    assert "{{ 7*7 }}-tmpl" in page
    assert "{{ 7*7 }}-key" in page
    assert "49-tmpl" not in page and "49-key" not in page


def test_html_is_self_contained_and_safe() -> None:
    page = render_html(make_input())
    tags = _parse(page)
    names = {tag for tag, _ in tags}
    assert names <= ALLOWED_TAGS, names - ALLOWED_TAGS
    for tag, attrs in tags:
        for attr, val in attrs:
            assert not attr.startswith("on"), (tag, attr)
            assert attr not in {"src", "href", "xlink:href", "srcset", "action"}, (tag, attr)
            assert not re.match(r"\s*(https?:|//|javascript:)", val or ""), (tag, attr, val)
    assert "url(" not in page and "@import" not in page
    csp = [dict(a) for t, a in tags if t == "meta" and dict(a).get("http-equiv")]
    assert "default-src 'none'" in csp[0]["content"]


def test_verdict_banner_checks_and_environment() -> None:
    data = make_input()
    page = render_html(data)
    assert 'class="banner fail"' in page
    assert ">FAIL<" in page
    assert "recommendation: rollback" in page
    for reason in data.result.recommendation.reasons:
        assert escape(reason) in page
    for check in data.result.checks:
        assert escape(check.name) in page
    assert escape(ODD_NAME) in page and ODD_NAME not in page
    rows = re.findall(r'<tr class="check" id="check-\d+">', page)
    assert len(rows) == len(data.result.checks)
    assert "n ≈ 480" in page  # more needed
    # one effect in the reader's terms (30 % slower), its interval and the allowed change
    assert "+30.0% TTFT p95 (slower)" in page and "[+18.0%, +45.0%]" in page
    assert "≤ +10.0%" in page and "-23.1%" not in page
    assert "--ctx-size" in page and "b4567" in page and "ab" * 32 in page
    assert "12m 5s" in page


def test_banner_colour_follows_verdict() -> None:
    assert 'class="banner pass"' in render_html(make_input(verdict="pass"))
    page = render_html(make_input(verdict="inconclusive"))
    assert 'class="banner inconclusive"' in page and "recommendation: hold" in page


def test_latency_plot_has_both_arms() -> None:
    page = render_html(make_input(n_latency=150))
    for arm in ("candidate", "incumbent"):
        assert page.count(f'<path class="series" data-arm="{arm}"') == 2  # TTFT and e2e
        assert f"{arm} (n=150)" in page
    assert "Time to first token" in page and "End-to-end latency" in page
    assert "latency (ms)" in page and "latency (s)" in page


def test_no_latency_samples() -> None:
    data = make_input()
    data.latency.clear()
    assert "No latency samples were recorded." in render_html(data)


def test_flipped_list_is_capped_and_outputs_truncated() -> None:
    page = render_html(make_input(extra_worse=60, long_output=MAX_OUTPUT_CHARS + 1234))
    worse_total = 60 + len(HOSTILE)
    assert f"Pass → fail ({worse_total})" in page
    assert page.count('<article class="item">') == MAX_FLIPPED + 1  # + the fail→pass item
    assert f"{worse_total - MAX_FLIPPED} more not shown" in page
    assert "1,234 more characters not shown" in page
    assert "x" * (MAX_OUTPUT_CHARS + 1) not in page
    assert "<details>" in page and "Fail → pass (1)" in page


def test_ecdf_svg_series_and_ticks() -> None:
    svg = plots.ecdf_svg({"candidate": [0.1, 0.2, 0.3], "<x>": [0.15]}, title="T & <t>")
    assert svg.count('<path class="series"') == 2
    assert 'data-arm="&lt;x&gt;"' in svg and "<x>" not in svg
    assert "T &amp; &lt;t&gt;" in svg
    assert 'data-arm="candidate"' in svg and "latency (ms)" in svg
    empty = plots.ecdf_svg({"candidate": [], "incumbent": [float("nan")]}, title="TTFT")
    assert "no latency samples" in empty and "<svg" not in empty


def test_ecdf_thins_large_samples() -> None:
    svg = plots.ecdf_svg({"candidate": [i / 1000 for i in range(20_000)]}, title="e2e")
    path = re.search(r'd="([^"]+)"', svg)
    assert path is not None
    assert path.group(1).count("V") <= plots.MAX_POINTS
    assert "V46.0" in path.group(1)  # the step reaches 100% at the top of the plot area


def test_nice_ticks() -> None:
    assert plots.nice_ticks(0.47) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert plots.nice_ticks(2.3) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert plots.nice_ticks(10.0) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert plots.nice_ticks(0.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_interval_svg() -> None:
    check = make_input().result.checks[1]  # the failing ttft check
    svg = plots.interval_svg(check)
    assert svg.startswith("<svg") and 'class="margin-line"' in svg and "<circle" in svg
    assert plots.VERDICT_COLOUR["fail"] in svg
    blank = CheckResult.model_validate(
        check.model_dump() | {"estimate": None, "ci_low": None, "ci_high": None}
    )
    assert plots.interval_svg(blank) == ""
