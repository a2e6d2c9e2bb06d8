"""The whole pipeline against an in-process fake server (fast; the real server is in e2e/)."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from releasegate.cli import main
from releasegate.records import read_records

from fakes.openai_server import FakeOpenAIServer, Scenario

SUITE = """\
name: fake-aa
server:
  url: {url}
  metrics_path: null
candidate: {{id: fake-model}}
incumbent: {{id: fake-model}}
eval:
  - name: greet
    dataset:
      items:
        - {{id: a, question: hi, answer: hello}}
        - {{id: b, question: yo, answer: world}}
        - {{id: c, question: hey, answer: absent}}
    template: "Say {{{{ question }}}}"
    scorers: [{{kind: contains, field: answer}}]
load:
  - name: steady
    prompts: [one, two]
    concurrency: 2
    max_tokens: 4
    requests_per_round: 6
    rounds: 4
    warmup_requests: 1
gate:
  max_error_rate: 0.15  # 27 requests per arm can show a rate <= 15 %, not <= 1 %
  checks:
    - {{name: quality, metric: quality, margin: 0.7, owner: qa}}  # 3 items: Tango ±63 points
    - {{name: ttft, metric: ttft_p95, margin: 1.0, owner: perf, severity: advisory}}
    - {{name: tput, metric: output_tokens_per_s, margin: 1.0, owner: perf, severity: advisory}}
"""


@pytest.fixture
def fake_server():
    scenario = Scenario(tokens=("Hello", ",", " world", "!"), first_token_delay_s=0.002)
    with FakeOpenAIServer(scenario) as server:
        yield server


def test_run_writes_every_output_and_keeps_raw_records(tmp_path: Path, fake_server) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(url=fake_server.base_url))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(suite), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "verdict: PASS" in result.output
    for name in ("records.jsonl", "result.json", "report.html", "junit.xml", "summary.md"):
        assert (out / name).is_file(), name
    records = read_records(out)
    kinds = [r.kind for r in records]
    assert kinds[0] == "meta"
    assert kinds.count("item") == 6  # 3 items x 2 arms
    requests = [r for r in records if r.kind == "request"]
    assert len(requests) == 2 * 4 * (6 + 1)  # arms x rounds x (measured + warm-up)
    assert all(r.timing.ok and r.timing.chunk_offsets_s for r in requests)
    rounds = [
        (r.arm, r.detail["round"])
        for r in records
        if r.kind == "event" and r.event == "round_start"
    ]
    assert [a for a, _ in rounds] == ["candidate", "incumbent", "incumbent", "candidate"] * 2
    data = json.loads((out / "result.json").read_text())
    assert data["verdict"] == "pass"
    assert {c["name"] for c in data["checks"]} == {"quality", "ttft", "tput", "request-errors"}
    quality = next(c for c in data["checks"] if c["name"] == "quality")
    assert quality["n"] == 3 and quality["estimate"] == 0.0
    assert len(ET.parse(out / "junit.xml").getroot().iter("testcase").__next__().attrib) > 0
    # the body of every request carried the suite's request options
    body = fake_server.received[-1].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_report_rerenders_from_records(tmp_path: Path, fake_server) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(url=fake_server.base_url))
    out = tmp_path / "run"
    first = CliRunner().invoke(main, ["run", str(suite), "--out", str(out), "--quiet"])
    assert first.exit_code == 0, first.output
    before = json.loads((out / "result.json").read_text())
    (out / "result.json").unlink()
    (out / "report.html").unlink()
    again = CliRunner().invoke(main, ["report", str(out)])
    assert again.exit_code == 0, again.output
    after = json.loads((out / "result.json").read_text())
    assert after["checks"] == before["checks"]
    assert (out / "report.html").is_file()


def test_unreachable_url_stops_before_the_run(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(url="http://127.0.0.1:9"))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(suite), "--out", str(out), "--quiet"])
    # the endpoint probe fails first: exit 4, nothing is run (tests/integration/test_url_mode.py)
    assert result.exit_code == 4, result.output
    assert "candidate endpoint http://127.0.0.1:9 does not answer" in result.output
    assert not [r for r in read_records(out) if r.kind in ("item", "request")]


def test_calibrate_reports_noise_and_recommended_margins(tmp_path: Path, fake_server) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(url=fake_server.base_url))
    out = tmp_path / "calib"
    result = CliRunner().invoke(
        main, ["calibrate", str(suite), "--repeats", "2", "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "calibration.json").read_text())
    rows = {row["name"]: row for row in report["checks"]}
    assert set(rows) == {"quality", "ttft", "tput"}
    # identical answers on 3 items still leave a wide interval: the noise is its SE
    assert 0.2 < rows["quality"]["noise"] < 0.5
    assert rows["quality"]["recommended_margin"] == pytest.approx(
        3 * rows["quality"]["noise"], abs=1e-4
    )
    for name in ("ttft", "tput"):
        assert len(rows[name]["estimates"]) == 2
        assert rows[name]["noise"] > 0
        expected = max(0.02, math.expm1(3 * rows[name]["noise"]))
        assert rows[name]["recommended_margin"] == pytest.approx(expected, abs=1e-4)
    for index in (1, 2):  # every A/A run keeps its own records and reports
        assert (out / str(index) / "records.jsonl").is_file()
        assert json.loads((out / str(index) / "result.json").read_text())["verdict"] != "fail"


def test_sequential_looks_stop_a_decided_run_early(tmp_path: Path, fake_server) -> None:
    # server-paced tokens: round throughput is steady, as on a real model server
    fake_server.scenario = Scenario(
        tokens=("a", "b", "c", "d"), first_token_delay_s=0.004, token_delay_s=0.004
    )
    text = SUITE.format(url=fake_server.base_url).replace("rounds: 4", "rounds: 16")
    text = text.replace(
        "{name: tput, metric: output_tokens_per_s, margin: 1.0, owner: perf, severity: advisory}",
        "{name: tput, metric: output_tokens_per_s, margin: 1.0, owner: perf}",
    )
    suite = tmp_path / "suite.yaml"
    suite.write_text(text)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(suite), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    records = read_records(out)
    stops = [r for r in records if r.kind == "event" and r.event == "sequential_stop"]
    assert len(stops) == 1, result.output
    stop = stops[0].detail
    assert stop["decided"] and stop["pairs"] >= 3  # min_pairs
    ran = {(r.arm, r.round) for r in records if r.kind == "request"}
    assert len(ran) == 2 * stop["pairs"] and stop["rounds_skipped"] == 32 - len(ran)
    checks = json.loads((out / "result.json").read_text())["checks"]
    tput = next(c for c in checks if c["name"] == "tput")
    assert tput["verdict"] == "pass" and "mSPRT" in tput["method"]
    # re-rendering from the records reaches the same verdicts
    again = CliRunner().invoke(main, ["report", str(out)])
    assert again.exit_code == 0
    assert json.loads((out / "result.json").read_text())["checks"] == checks
