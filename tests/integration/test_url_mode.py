"""url mode end to end on the fake server: probes, redaction, first errors, memory, bounds."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from releasegate.cli import main
from releasegate.records import read_records

from fakes import FakeOpenAIServer, Scenario, closed_port

SUITE = """\
name: url-mode
server:
  url: {url}
  metrics_path: {metrics}
  api_key_env: RG_TEST_KEY
candidate: {{id: fake-model}}
incumbent: {{id: fake-model}}
eval:
  - name: greet
    dataset:
      items:
        - {{id: a, question: hi, answer: hello}}
        - {{id: b, question: yo, answer: world}}
    template: "Say {{{{ question }}}}"
    scorers: [{{kind: contains, field: answer}}]
    max_tokens: 8
load:
  - name: steady
    prompts: [one]
    concurrency: 2
    max_tokens: 4
    requests_per_round: 4
    rounds: 2
    warmup_requests: 0
gate:
  max_error_rate: 0.3  # a few dozen requests per arm cannot show a rate <= 1 %
  sequential: {{enabled: false}}
  checks:
    - {{name: quality, metric: quality, margin: 0.8, owner: qa}}  # 2 items: Tango ±75 points
    - {{name: memory, metric: peak_rss, margin: 0.5, owner: perf}}
"""
KEY = "sk-test-key-value-0123"
RSS = """\
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.5e+08
"""


def run(tmp_path: Path, url: str, metrics: str = "/metrics", **replace: str):
    text = SUITE.format(url=url, metrics=metrics)
    if metrics == "null":  # no /metrics, no memory: validation refuses a peak_rss check then
        text = text.replace(
            "    - {name: memory, metric: peak_rss, margin: 0.5, owner: perf}\n", ""
        )
    for old, new in replace.items():
        text = text.replace(old, new)
    suite = tmp_path / "suite.yaml"
    suite.write_text(text)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(suite), "--out", str(out), "--quiet"])
    return result, out


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RG_TEST_KEY", KEY)


def events(out: Path, name: str) -> list:
    return [r for r in read_records(out) if r.kind == "event" and r.event == name]


def test_closed_port_is_exit_4_naming_arm_and_redacted_url(tmp_path: Path) -> None:
    url = f"http://user:secret@127.0.0.1:{closed_port()}"
    result, out = run(tmp_path, url)
    assert result.exit_code == 4, result.output
    assert "candidate endpoint http://***@127.0.0.1:" in result.output
    assert "secret" not in result.output
    (probe,) = events(out, "probe")
    assert probe.arm == "candidate" and probe.detail["answered"] is None
    assert "ConnectError" in probe.detail["tried"][0]
    assert not [r for r in read_records(out) if r.kind in ("item", "request")]


@pytest.mark.parametrize(
    ("health", "models", "answered"),
    [(200, 200, "health"), (404, 200, "models"), (503, 401, "completion")],
)
def test_probe_falls_back_health_models_completion(
    tmp_path: Path, health: int, models: int, answered: str
) -> None:
    with FakeOpenAIServer(Scenario(health_status=health, models_status=models)) as fake:
        result, out = run(tmp_path, fake.base_url, metrics="null")
        gets = [r for r in fake.received if r.path in ("/health", "/v1/models")]
    assert result.exit_code in (0, 3), result.output
    probes = events(out, "probe")
    assert [p.arm for p in probes] == ["candidate", "incumbent"]
    assert {p.detail["answered"] for p in probes} == {answered}
    assert gets and all(r.headers["authorization"] == f"Bearer {KEY}" for r in gets)
    for path in (p for p in out.rglob("*") if p.is_file()):  # the key is sent, never written
        assert KEY.encode() not in path.read_bytes(), path


def test_endpoint_answering_only_errors_is_exit_4(tmp_path: Path) -> None:
    scenario = Scenario(health_status=404, models_status=404, status=500)
    with FakeOpenAIServer(scenario) as fake:
        result, out = run(tmp_path, fake.base_url)
    assert result.exit_code == 4, result.output
    assert "GET /health: HTTP 404; GET /v1/models: HTTP 404" in result.output
    assert "HTTP 500" in result.output


def test_credentials_and_key_never_reach_disk(tmp_path: Path) -> None:
    with FakeOpenAIServer(Scenario(metrics=RSS)) as fake:
        url = f"http://user:secret@127.0.0.1:{fake.port}"
        result, out = run(tmp_path, url)
        auth = {r.headers.get("authorization") for r in fake.received}
    assert result.exit_code == 0, result.output
    # user-info is sent as HTTP Basic auth (httpx builds it from the URL, over the bearer key)
    assert auth == {"Basic " + base64.b64encode(b"user:secret").decode()}
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"records.jsonl", "result.json", "report.html"}
    for path in files:
        data = path.read_bytes()
        assert b"secret" not in data, path
        assert KEY.encode() not in data, path
    assert "***@127.0.0.1" in (out / "result.json").read_text()


def test_memory_from_metrics_decides_peak_rss(tmp_path: Path) -> None:
    with FakeOpenAIServer(Scenario(metrics=RSS)) as fake:
        result, out = run(tmp_path, fake.base_url)
    assert result.exit_code == 0, result.output
    mem = [r for r in read_records(out) if r.kind == "probe" and r.probe == "memory"]
    assert sorted((m.arm, m.round) for m in mem) == [
        ("candidate", 0),
        ("candidate", 1),
        ("incumbent", 0),
        ("incumbent", 1),
    ]
    assert all(m.values == {"peak_rss": 2.5e8, "last_rss": 2.5e8} for m in mem)
    check = next(c for c in json.loads((out / "result.json").read_text())["checks"])
    check = next(
        c for c in json.loads((out / "result.json").read_text())["checks"] if c["name"] == "memory"
    )
    assert check["verdict"] == "pass" and check["candidate_value"] == pytest.approx(250.0)


def test_metrics_without_rss_leave_peak_rss_undecided_with_a_reason(tmp_path: Path) -> None:
    with FakeOpenAIServer(Scenario(metrics="# TYPE up gauge\nup 1\n")) as fake:
        result, out = run(tmp_path, fake.base_url)
    assert result.exit_code == 3, result.output
    assert not [r for r in read_records(out) if r.kind == "probe" and r.probe == "memory"]
    checks = json.loads((out / "result.json").read_text())["checks"]
    memory = next(c for c in checks if c["name"] == "memory")
    assert memory["verdict"] == "inconclusive"
    assert "did not launch its endpoint" in memory["reason"]
    assert "no scrape of its /metrics carried process_resident_memory_bytes" in memory["reason"]


def test_first_errors_reach_console_result_and_report(tmp_path: Path) -> None:
    scenario = Scenario(status=503, error_body='{"error": {"message": "overloaded"}}')
    with FakeOpenAIServer(scenario) as fake:  # /health answers 200; completions fail
        result, out = run(tmp_path, fake.base_url, metrics="null")
    assert result.exit_code == 3, result.output
    assert "candidate errors: HTTP 503 ×10 (greet), first: HTTP 503:" in result.output
    arms = json.loads((out / "result.json").read_text())["arms"]
    for arm in ("candidate", "incumbent"):
        kinds = {e["kind"]: e for e in arms[arm]["first_errors"]}
        assert list(kinds) == ["HTTP 503"]
        assert kinds["HTTP 503"]["count"] == 2 + 2 * 4  # eval items + load requests
        assert "overloaded" in kinds["HTTP 503"]["message"]
    html = (out / "report.html").read_text()
    assert "First error of each kind" in html and "overloaded" in html


def test_request_deadline_in_a_run_is_an_error_kind(tmp_path: Path) -> None:
    with FakeOpenAIServer(Scenario(trickle_s=0.01)) as fake:
        result, out = run(
            tmp_path,
            fake.base_url,
            metrics="null",
            **{"api_key_env: RG_TEST_KEY": "api_key_env: RG_TEST_KEY\n  request_deadline_s: 0.2"},
            **{"rounds: 2": "rounds: 1"},
        )
    assert result.exit_code == 3, result.output
    arms = json.loads((out / "result.json").read_text())["arms"]
    assert [e["kind"] for e in arms["candidate"]["first_errors"]] == ["deadline"]
    assert "within 0.2 s" in arms["candidate"]["first_errors"][0]["message"]


def test_huge_outputs_are_clipped_in_records_and_result(tmp_path: Path) -> None:
    n = 8_000_000
    with FakeOpenAIServer(Scenario(huge_chars=n)) as fake:
        result, out = run(tmp_path, fake.base_url, metrics="null")
    assert result.exit_code in (0, 3), result.output
    assert (out / "records.jsonl").stat().st_size < 1_000_000
    assert (out / "result.json").stat().st_size < 1_000_000
    items = [r for r in read_records(out) if r.kind == "item"]
    assert items
    digest = hashlib.sha256(b"x" * n).hexdigest()
    for item in items:
        assert len(item.output) == 16 * 1024
        assert item.output_chars == n and item.output_sha256 == digest
        assert item.prompt_chars is None  # a short prompt is stored whole
