"""summary.md: verdict, recommendation, checks table, escaping, no model output."""

from __future__ import annotations

from test_report_data import HOSTILE, make_input

from releasegate.report import render_summary
from releasegate.report.markdown import md_escape


def test_summary_content() -> None:
    data = make_input()
    text = render_summary(data)
    lines = text.splitlines()
    assert lines[0] == "## releasegate: demo-suite **FAIL**"
    assert "**Recommendation: rollback** (run `run-2024-0001`)" in text
    assert "- critical check 'ttft p95' failed: TTFT p95 30% slower than allowed" in lines
    rows = [line for line in lines if line.startswith("| ") and "**" in line]
    assert len(rows) == len(data.result.checks)
    head = (
        "| ttft p95 (chat-load) | ttft\\_p95 | critical | 0.390 s (p95, geo-mean of rounds) "
        "| 0.300 s"
    )
    assert rows[1].startswith(head)
    assert "**FAIL**" in rows[1] and "+30.0% TTFT p95 (slower) \\[+18.0%, +45.0%\\]" in rows[1]
    assert "(about n=480 needed)" in rows[2]
    assert "Eval items flipped: 4 pass→fail, 1 fail→pass" in text
    assert "sha256 abababababab" in text


def test_names_and_reasons_are_escaped_and_outputs_left_out() -> None:
    text = render_summary(make_input())
    assert "json\\_valid \\| &lt;b&gt;strict&lt;/b&gt; \\*mode\\*" in text
    assert "a\\|b &lt;owner&gt;" not in text  # owner is not in the summary
    assert "too few items: &lt;3&gt; \\| see \\*docs\\* second line" in text
    assert "<b>" not in text and "<script" not in text
    for output in HOSTILE:
        assert output not in text
    # each table row keeps exactly its column count despite '|' in the name
    header = next(line for line in text.splitlines() if line.startswith("| Check"))
    row = next(line for line in text.splitlines() if line.startswith("| json"))
    assert row.replace("\\|", "").count("|") == header.count("|")


def test_md_escape() -> None:
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("[x](javascript:y)") == "\\[x\\](javascript:y)"
    assert md_escape("<img src=x>") == "&lt;img src=x&gt;"
    assert md_escape("line1\n\nline2  ") == "line1 line2"
    assert md_escape("`code` *b* _i_ ~s~ \\") == "\\`code\\` \\*b\\* \\_i\\_ \\~s\\~ \\\\"
