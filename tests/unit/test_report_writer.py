"""write_all, result.json and its schema, atomic writes and the GitHub step summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from test_report_data import make_input

from releasegate.gate.result import Result
from releasegate.report import (
    Reporter,
    atomic_write_text,
    render_summary,
    reporters,
    result_json_schema,
    write_all,
)

FILES = {
    "json": "result.json",
    "html": "report.html",
    "junit": "junit.xml",
    "markdown": "summary.md",
}


def test_write_all_writes_four_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    data = make_input()
    written = write_all(data, tmp_path / "out")
    assert {k: p.name for k, p in written.items()} == FILES
    assert sorted(os.listdir(tmp_path / "out")) == sorted(FILES.values())  # no temp files
    assert Result.model_validate_json(written["json"].read_text()) == data.result
    assert written["markdown"].read_text() == render_summary(data)
    assert (written["html"].stat().st_mode & 0o777) == 0o644


def test_reporters_share_the_protocol() -> None:
    all_reporters = reporters()
    assert [r.name for r in all_reporters] == list(FILES)
    assert all(isinstance(r, Reporter) for r in all_reporters)


def test_result_json_validates_against_published_schema(tmp_path: Path) -> None:
    schema = result_json_schema()
    assert schema["title"] == "Result"
    assert {"verdict", "checks", "recommendation"} <= set(schema["required"])
    path = reporters()[0].write(make_input(), tmp_path)
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, schema)
    doc["verdict"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_step_summary_is_appended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    data = make_input()
    write_all(data, tmp_path / "a")
    write_all(data, tmp_path / "b")
    text = summary.read_text()
    assert text.startswith("previous step\n")
    assert text.count("## releasegate: demo-suite **FAIL**") == 2
    assert text == "previous step\n" + (render_summary(data) + "\n") * 2


def test_step_summary_unset_or_unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_all(make_input(), tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["out"]
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "summary.md"))
    written = write_all(make_input(), tmp_path / "out2")  # logged, not raised
    assert written["markdown"].exists()


def test_atomic_write_replaces_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new \ud800 surrogate")  # unencodable text is replaced
    assert target.read_text() == "new ? surrogate"

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "newer")
    assert target.read_text() == "new ? surrogate"
    assert os.listdir(tmp_path) == ["report.html"]
