"""The demo gate and its A/A twin on the real llama-server with the real models."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from releasegate.records import read_records

from e2e.support import SUITES, releasegate

EXIT = {"pass": 0, "fail": 1, "inconclusive": 3}


def run_suite(name: str, out: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = releasegate("run", str(SUITES / name), "--out", str(out), "--quiet")
    assert (out / "result.json").is_file(), proc.stdout + proc.stderr
    return proc, json.loads((out / "result.json").read_text())


@pytest.fixture(scope="module")
def demo(llama_server: str, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo")
    proc, result = run_suite("demo.yaml", out)
    return out, proc, result


@pytest.fixture(scope="module")
def demo_aa(llama_server: str, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo-aa")
    proc, result = run_suite("demo-aa.yaml", out)
    return out, proc, result


def test_demo_verdict_matches_exit_code_and_outputs(demo) -> None:
    out, proc, result = demo
    assert proc.returncode == EXIT[result["verdict"]], proc.stderr
    for name in (
        "records.jsonl",
        "report.html",
        "junit.xml",
        "summary.md",
        "server-candidate.log",
        "server-incumbent.log",
    ):
        assert (out / name).stat().st_size > 0, name
    assert f"verdict: {result['verdict'].upper()}" in proc.stdout
    testcases = list(ET.parse(out / "junit.xml").getroot().iter("testcase"))
    assert len(testcases) == len(result["checks"])


def test_demo_fails_the_weaker_bigger_candidate(demo) -> None:
    """Gemma-3-270M (a base model, twice the size) is measurably worse than SmolLM2 here."""
    _, _, result = demo
    checks = {c["name"]: c for c in result["checks"]}
    assert result["verdict"] == "fail"
    assert result["recommendation"]["action"] == "rollback"
    memory = checks["peak-memory"]
    assert memory["verdict"] == "fail"
    assert memory["candidate_value"] > 1.3 * memory["incumbent_value"]
    assert checks["quality"]["estimate"] < -0.05
    assert checks["request-errors"]["verdict"] == "pass"
    for check in result["checks"]:
        if check["verdict"] != "inconclusive" and check["metric"] != "error_rate":
            assert check["ci_low"] <= check["estimate"] <= check["ci_high"], check


def test_demo_records_hold_raw_timing_probes_and_environment(demo) -> None:
    out, _, result = demo
    records = read_records(out)
    meta = records[0]
    assert meta.kind == "meta"
    models = meta.environment["models"]
    assert len(models["candidate"]["sha256"]) == 64
    assert models["candidate"]["sha256"] != models["incumbent"]["sha256"]
    items = [r for r in records if r.kind == "item"]
    assert len(items) == 2 * 96
    requests = [r for r in records if r.kind == "request" and not r.warmup]
    assert requests and all(r.timing.ok for r in requests)
    for r in requests:
        assert 0 < r.timing.ttft_s <= r.timing.e2e_s
        assert r.timing.chunk_offsets_s[0] == pytest.approx(r.timing.ttft_s)
        # ignore_eos: every load request generated the full max_tokens
        assert r.timing.completion_tokens == 32
    rounds = [r for r in records if r.kind == "event" and r.event == "round_end"]
    assert len(rounds) >= 6  # sequential looks start after 3 pairs
    memory = [r for r in records if r.kind == "probe" and r.probe == "memory"]
    assert len(memory) == len(rounds) and all(r.values["peak_rss"] > 50e6 for r in memory)
    metrics = [r for r in records if r.kind == "probe" and r.probe == "metrics"]
    assert metrics and all("llamacpp:requests_deferred" in r.values for r in metrics)
    assert max(r.values["llamacpp:requests_processing"] for r in metrics) >= 1
    html = (out / "report.html").read_text()
    assert models["candidate"]["sha256"] in html and "<script" not in html


def test_report_rerenders_the_same_result(demo) -> None:
    out, _, result = demo
    again = releasegate("report", str(out))
    assert again.returncode == EXIT[result["verdict"]], again.stderr
    assert json.loads((out / "result.json").read_text())["checks"] == result["checks"]


def test_aa_never_fails(demo_aa) -> None:
    out, proc, result = demo_aa
    assert result["verdict"] != "fail", proc.stdout
    assert proc.returncode in (0, 3)
    checks = {c["name"]: c for c in result["checks"]}
    # Same weights, greedy decoding: every eval answer agrees.
    assert checks["quality"]["estimate"] == 0.0
    assert all(c["verdict"] != "fail" for c in result["checks"])
