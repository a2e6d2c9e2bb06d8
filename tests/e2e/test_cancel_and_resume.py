"""A cancelled CI job on the real llama-server: SIGTERM stops the servers, resume finishes."""

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

from e2e.support import ROOT, releasegate
from e2e.test_failures import small_suite


def _wait_for(out: Path, proc: subprocess.Popen[str], want: str, timeout: float = 240) -> None:
    """Wait until records.jsonl holds an event named ``want`` (the run is under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        records = out / "records.jsonl"
        if records.exists():
            for line in records.read_text().splitlines():
                if line.endswith("}") and json.loads(line).get("event") == want:
                    return
        time.sleep(0.2)
    raise AssertionError(f"the run never wrote a {want!r} event")


def _group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def test_sigterm_stops_servers_and_resume_completes_the_plan(llama_server, tmp_path) -> None:
    suite = small_suite(tmp_path, requests=3, rounds=3)
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "releasegate", "run", str(suite), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(out, proc, "round_start")
        proc.send_signal(signal.SIGTERM)  # what a CI runner sends on cancel
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stdout + stderr
    assert "Traceback" not in stderr
    records = read_records(out)
    started = [r for r in records if r.kind == "event" and r.event == "server_started"]
    assert started, "both servers were launched before the signal"
    for event in started:  # the wrapper and the llama-server under it are gone
        assert not _group_alive(event.detail["pid"]), event.detail
    aborted = [r for r in records if r.kind == "event" and r.event == "run_aborted"]
    assert aborted and "SIGTERM" in json.dumps(aborted[-1].detail)
    # a re-render of the cut-short run says so and does not promote
    again = releasegate("report", str(out), timeout=300)
    partial = json.loads((out / "result.json").read_text())
    assert partial["verdict"] != "pass" and again.returncode != 0
    assert partial["complete"] is False

    done = releasegate("run", "--resume", str(out), "--quiet", timeout=600)
    assert done.returncode in (0, 1, 3), done.stdout + done.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["complete"] is True
    records = read_records(out)
    items = {(r.arm, r.item_id) for r in records if r.kind == "item"}
    assert len(items) == 2 * 6  # every eval item on both arms, once in the verdict
    ends = {
        (r.arm, r.detail["round"]) for r in records if r.kind == "event" and r.event == "round_end"
    }
    assert ends == {(arm, k) for arm in ("candidate", "incumbent") for k in range(3)}
