"""SIGTERM / SIGINT on a real ``python -m releasegate run`` with launched (fake) servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from releasegate.cli import main
from releasegate.records import read_records

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "data" / "fake_openai_launched.py"

SUITE = """\
name: launched
server:
  command: [{python}, {server}, --host, "{{host}}", --port, "{{port}}", -m, "{{model_path}}",
            --token-delay, "0.01"]
  metrics_path: null
  startup_timeout_s: 30
candidate: {{id: cand, source: {{path: cand.gguf}}}}
incumbent: {{id: inc, source: {{path: inc.gguf}}}}
eval:
  - name: greet
    dataset:
      items:
        - {{id: a, question: hi, answer: hello}}
        - {{id: b, question: yo, answer: world}}
    template: "Say {{{{ question }}}}"
    scorers: [{{kind: contains, field: answer}}]
load:
  - name: steady
    prompts: [one]
    concurrency: 2
    max_tokens: 4
    requests_per_round: 8
    rounds: {rounds}
    warmup_requests: 0
gate:
  max_error_rate: 0.3  # a few dozen requests per arm cannot show a rate <= 1 %
  checks:
    - {{name: quality, metric: quality, margin: 0.8, owner: qa}}  # 2 items: Tango ±75 points
    - {{name: tput, metric: output_tokens_per_s, margin: 1.0, owner: perf, severity: advisory}}
"""


def write_suite(tmp_path: Path, rounds: int) -> Path:
    for name in ("cand.gguf", "inc.gguf"):
        (tmp_path / name).write_bytes(b"GGUF fake " + name.encode())
    path = tmp_path / "suite.yaml"
    path.write_text(
        SUITE.format(
            python=json.dumps(sys.executable), server=json.dumps(str(SERVER)), rounds=rounds
        )
    )
    return path


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "releasegate", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and needle in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle} never appeared in {path} (exit {proc.poll()})")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_servers_records_the_abort_and_resume_finishes(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    suite = write_suite(tmp_path, rounds=6)
    out = tmp_path / "run"
    proc = start("run", str(suite), "--out", str(out), "--quiet")
    try:
        wait_for_line(out / "records.jsonl", '"round_start"', proc)
        time.sleep(0.05)  # mid-round: requests in flight
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, stderr
    assert f"interrupted by {sig.name}" in stderr and "--resume" in stderr
    records = read_records(out)
    pids = [r.detail["pid"] for r in records if r.kind == "event" and r.event == "server_started"]
    assert len(pids) == 2
    assert not [pid for pid in pids if group_alive(pid)]  # no server (or its group) left
    aborted = [r for r in records if r.kind == "event" and r.event == "run_aborted"]
    assert len(aborted) == 1 and aborted[0].detail["signal"] == sig.name
    assert not any(r.kind == "event" and r.event == "run_finished" for r in records)

    # a report of the cut run says so and holds
    report = CliRunner().invoke(main, ["report", str(out)])
    assert report.exit_code == 3, report.output
    assert "PARTIAL RUN" in report.stdout and sig.name in report.stdout

    # the resumed run launches the servers again and covers the whole plan
    again = start("run", "--resume", str(out), "--quiet")
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stdout + stderr
    records = read_records(out)
    ends = {
        (r.arm, r.detail["round"]) for r in records if r.kind == "event" and r.event == "round_end"
    }
    assert len(ends) == 12
    measured = [r for r in records if r.kind == "request"]
    assert len(measured) == 12 * 8
    pids = [r.detail["pid"] for r in records if r.kind == "event" and r.event == "server_started"]
    assert len(pids) == 4 and not [pid for pid in pids if group_alive(pid)]
    result = json.loads((out / "result.json").read_text())
    assert result["complete"] is True and result["attempts"] == 2


def test_sigterm_while_planning_exits_143_with_nothing_launched(tmp_path: Path) -> None:
    """Before any server starts (here: while the suite's python scorer module imports)."""
    marker = tmp_path / "importing"
    (tmp_path / "slow_scorer.py").write_text(
        f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(30)\n\n"
        "def score(output, item):\n    return 1.0\n"
    )
    suite = write_suite(tmp_path, rounds=1)
    text = suite.read_text().replace(
        "scorers: [{kind: contains, field: answer}]",
        "scorers: [{kind: python, callable: 'slow_scorer:score'}]",
    )
    suite.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "releasegate", "run", str(suite), "--out", str(tmp_path / "run")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), "the scorer module was never imported"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, stderr
    assert "interrupted by SIGTERM" in stderr and "Traceback" not in stderr
