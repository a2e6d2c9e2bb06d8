"""junit.xml: one test case per check, failures/errors/skips by verdict and severity."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from test_report_data import make_input

from releasegate.report import render_junit


def _suite(text: str) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


def test_one_testcase_per_check_with_outcomes() -> None:
    data = make_input()
    suite = _suite(render_junit(data))
    assert suite.get("name") == "releasegate.demo-suite"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c.name for c in data.result.checks]
    assert {c.get("classname") for c in cases} == {"releasegate.demo-suite"}
    outcome = {
        c.get("name"): [child.tag for child in c if child.tag != "properties"] for c in cases
    }
    assert outcome == {
        "accuracy on arithmetic": [],
        "ttft p95": ["failure"],
        "e2e p50": ["error"],
        "decode throughput": ["skipped"],
        "json_valid | <b>strict</b> *mode*": ["skipped"],
    }
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "1", "1")
    assert suite.get("skipped") == "2" and suite.get("time") == "725.000"


def test_failure_and_error_messages_carry_the_numbers() -> None:
    suite = _suite(render_junit(make_input()))
    by_name = {c.get("name"): c for c in suite.findall("testcase")}
    failure = by_name["ttft p95"].find("failure")
    assert failure is not None and failure.get("type") == "regression"
    message = failure.get("message") or ""
    assert "change +30.0% TTFT p95 (slower)" in message
    assert "interval [+18.0%, +45.0%]" in message and "allowed ≤ +10.0%" in message
    assert "reason: candidate TTFT p95 is 30% slower" in (failure.text or "")
    error = by_name["e2e p50"].find("error")
    assert error is not None and error.get("type") == "inconclusive"
    assert "about n=480" in (error.text or "")
    skipped = by_name["decode throughput"].find("skipped")
    assert skipped is not None and (skipped.get("message") or "").startswith("advisory fail")


def test_properties_hold_verdict_and_action() -> None:
    suite = _suite(render_junit(make_input()))
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert props["verdict"] == "fail" and props["action"] == "rollback"
    assert props["run_id"] == "run-2024-0001"
    case = suite.find("testcase")
    assert case is not None
    case_props = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
    assert case_props["verdict"] == "pass" and case_props["n"] == "400"


def test_text_is_escaped_and_invalid_xml_characters_replaced() -> None:
    data = make_input()
    data.result.checks[0].reason = 'bad \x00\x1b char & <tag> "q"'
    data.result.checks[0].verdict = "fail"
    text = render_junit(data)
    assert "\x00" not in text and "\x1b" not in text
    suite = _suite(text)
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert 'bad \ufffd\ufffd char & <tag> "q"' in (failure.text or "")
    assert suite.get("failures") == "2"


def test_all_pass_has_no_failures() -> None:
    data = make_input(verdict="pass")
    for check in data.result.checks:
        check.verdict = "pass"
    suite = _suite(render_junit(data))
    assert suite.get("failures") == suite.get("errors") == suite.get("skipped") == "0"
    assert all(len([e for e in c if e.tag != "properties"]) == 0 for c in suite.findall("testcase"))
