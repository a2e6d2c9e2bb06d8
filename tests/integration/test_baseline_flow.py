"""Baselines end to end against the fake server: save, gate against, drift, mismatch."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from test_pipeline_fake import SUITE

from releasegate.baselines import find_baseline, load_baseline
from releasegate.baselines.store import _write
from releasegate.cli import main
from releasegate.records import read_records

from fakes.openai_server import FakeOpenAIServer, Scenario


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_save_then_gate_against_the_baseline(tmp_path: Path) -> None:
    scenario = Scenario(tokens=("Hello", ",", " world", "!"), first_token_delay_s=0.002)
    with FakeOpenAIServer(scenario) as server:
        suite = tmp_path / "suite.yaml"
        suite.write_text(SUITE.format(url=server.base_url))
        root = tmp_path / "baselines"
        first = invoke("run", str(suite), "--out", str(tmp_path / "r1"), "--quiet")
        assert first.exit_code == 0, first.output
        saved = invoke("baseline", "save", str(tmp_path / "r1"), "--baselines", str(root))
        assert saved.exit_code == 0, saved.output
        path = find_baseline(root, "fake-aa", "fake-model")
        assert path is not None and path.name == "fake-model.json"

        # candidate only: the baseline stands in for the incumbent
        only = invoke(
            "run",
            str(suite),
            "--out",
            str(tmp_path / "r2"),
            "--quiet",
            "--baseline",
            "--baselines",
            str(root),
            "--skip-incumbent",
        )
        assert only.exit_code == 0, only.output
        arms = {r.arm for r in read_records(tmp_path / "r2") if r.kind == "request"}
        assert arms == {"candidate"}
        result = json.loads((tmp_path / "r2" / "result.json").read_text())
        assert result["baseline"]["path"] == str(path.resolve())
        assert result["drift"] == []
        quality = next(c for c in result["checks"] if c["name"] == "quality")
        assert quality["n"] == 3 and quality["verdict"] == "pass"

        # both arms: incumbent-now is also compared with its baseline (drift)
        both = invoke(
            "run",
            str(suite),
            "--out",
            str(tmp_path / "r3"),
            "--quiet",
            "--baseline",
            "--baselines",
            str(root),
        )
        assert both.exit_code == 0, both.output
        result = json.loads((tmp_path / "r3" / "result.json").read_text())
        assert {c["name"] for c in result["drift"]} == {"quality", "ttft", "tput"}
        assert "drifted" in result["baseline"]
        html = (tmp_path / "r3" / "report.html").read_text()
        assert "Environment drift: the incumbent now against its baseline" in html

        # a different machine: performance is not comparable, quality still is
        stored = load_baseline(path)
        changed = stored.model_copy(
            update={
                "fingerprint": stored.fingerprint.model_copy(update={"cpu_model": "Some Other CPU"})
            }
        )
        _write(changed, root, path)
        moved = invoke(
            "run",
            str(suite),
            "--out",
            str(tmp_path / "r4"),
            "--quiet",
            "--baseline",
            "--baselines",
            str(root),
            "--skip-incumbent",
        )
        result = json.loads((tmp_path / "r4" / "result.json").read_text())
        checks = {c["name"]: c for c in result["checks"]}
        assert checks["quality"]["verdict"] == "pass"
        for name in ("ttft", "tput"):
            assert checks[name]["verdict"] == "inconclusive"
            assert "environment differs from the baseline" in checks[name]["reason"]
            assert "Some Other CPU" in checks[name]["reason"]
        assert "environment differs" in moved.output
        assert "Some Other CPU" in (tmp_path / "r4" / "report.html").read_text()
        forced = invoke(
            "run",
            str(suite),
            "--out",
            str(tmp_path / "r5"),
            "--quiet",
            "--baseline",
            "--baselines",
            str(root),
            "--skip-incumbent",
            "--ignore-fingerprint",
        )
        assert forced.exit_code == 0, forced.output
        result = json.loads((tmp_path / "r5" / "result.json").read_text())
        assert result["baseline"]["fingerprint_ignored"] is True
        assert next(c for c in result["checks"] if c["name"] == "tput")["verdict"] == "pass"
        # the report re-renders from records plus the baseline they name
        again = invoke("report", str(tmp_path / "r4"))
        assert again.exit_code == moved.exit_code


def test_missing_baseline_is_invalid_input(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(url="http://127.0.0.1:9"))
    result = invoke("run", str(suite), "--baseline", "--baselines", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert "no baseline of 'fake-model'" in result.output
    assert not (tmp_path / "reports").exists()
