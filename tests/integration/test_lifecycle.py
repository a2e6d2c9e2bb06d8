"""Run folders, error exit codes, partial runs and resume, against the in-process fake server."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from releasegate.cli import main
from releasegate.pipeline import default_run_dir
from releasegate.records import RecordWriter, iter_records, read_records

from fakes.openai_server import FakeOpenAIServer, Scenario

SUITE = """\
name: life
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
        - {{id: c, question: hey, answer: Hello}}
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
  max_error_rate: 0.3  # a few dozen requests per arm cannot show a rate <= 1 %
  checks:
    - {{name: quality, metric: quality, margin: 0.7, owner: qa}}  # 3 items: Tango ±63 points
    - {{name: tput, metric: output_tokens_per_s, margin: 1.0, owner: perf, severity: advisory}}
"""
PER_ROUND = 6 + 1  # measured + warm-up requests
ROUNDS = 2 * 4


@pytest.fixture
def fake_server():
    with FakeOpenAIServer(Scenario(first_token_delay_s=0.001)) as server:
        yield server


@pytest.fixture
def suite(tmp_path: Path, fake_server) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.format(url=fake_server.base_url))
    return path


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def run_ok(suite: Path, out: Path) -> None:
    result = cli("run", str(suite), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output


def lines_of(out: Path) -> list[str]:
    return (out / "records.jsonl").read_text().splitlines()


def cut(out: Path, after: str, nth: int, extra: int) -> None:
    """Keep the records up to the ``nth`` line containing ``after`` plus ``extra`` more, then
    half of the next line: a run killed mid-write."""
    lines = lines_of(out)
    hits = [i for i, line in enumerate(lines) if after in line]
    end = hits[nth] + 1 + extra
    (out / "records.jsonl").write_text("\n".join(lines[:end]) + "\n" + lines[end][:40])
    for name in ("result.json", "report.html", "junit.xml", "summary.md"):
        (out / name).unlink()


def events(out: Path, name: str) -> list:
    return [r for r in read_records(out) if r.kind == "event" and r.event == name]


# ------------------------------------------------------------------ one run per folder


def test_a_folder_that_holds_a_run_is_refused(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    before = lines_of(out)
    again = cli("run", str(suite), "--out", str(out), "--quiet")
    assert again.exit_code == 2, again.output
    assert "not empty" in again.stderr and "--resume" in again.stderr
    assert lines_of(out) == before  # nothing was appended
    assert len(events(out, "run_finished")) == 1


def test_an_empty_out_folder_is_used(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    run_ok(suite, out)
    assert (out / "result.json").is_file()


def test_default_folders_are_unique_within_a_second(
    suite: Path, tmp_path: Path, monkeypatch
) -> None:
    made = {default_run_dir("s", tmp_path / "r") for _ in range(50)}
    assert len(made) == 50 and all(p.is_dir() for p in made)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = cli("run", str(suite), "--quiet")
        assert result.exit_code == 0, result.output
    runs = sorted((tmp_path / "reports" / "life").iterdir())
    assert len(runs) == 2
    for run in runs:  # each folder holds exactly one run
        assert sum(r.kind == "meta" for r in read_records(run)) == 1


# ------------------------------------------------------------------ errors → exit codes


def test_out_under_a_regular_file_exits_2_with_one_line(suite: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli("run", str(suite), "--out", str(blocker / "run"), "--quiet")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    problem = [line for line in result.stderr.splitlines() if str(blocker) in line]
    assert len(problem) == 1 and "cannot use it as a run folder" in problem[0]


def test_usage_errors_keep_click_exit_2(suite: Path) -> None:
    assert cli("run").exit_code == 2  # no SUITE and no --resume
    assert cli("run", str(suite), "--no-such-option").exit_code == 2
    assert cli("no-such-command").exit_code == 2


@pytest.mark.parametrize(
    ("exc", "shown"),
    [
        (RuntimeError("boom"), "internal error: RuntimeError: boom"),
        (MemoryError(), "internal error: MemoryError"),
    ],
)
def test_a_crash_inside_the_pipeline_exits_4(
    suite: Path, tmp_path: Path, monkeypatch, exc: BaseException, shown: str
) -> None:
    async def crash(*args, **kwargs):
        raise exc

    monkeypatch.setattr("releasegate.execute.run_eval", crash)
    out = tmp_path / "run"
    result = cli("run", str(suite), "--out", str(out), "--quiet")
    assert result.exit_code == 4
    assert result.stderr.strip().splitlines()[-1].startswith(f"releasegate: {shown}")
    assert "Traceback" not in result.stderr
    aborted = events(out, "run_aborted")
    assert len(aborted) == 1 and type(exc).__name__ in aborted[0].detail["error"]
    # --debug shows the traceback; the exit code stays
    debug = cli("--debug", "run", str(suite), "--out", str(tmp_path / "run2"), "--quiet")
    assert debug.exit_code == 4 and "Traceback" in debug.stderr


def test_a_full_disk_exits_4_with_one_line(suite: Path, tmp_path: Path, monkeypatch) -> None:
    write = RecordWriter.write
    count = {"n": 0}

    def filling(self, record) -> None:
        count["n"] += 1
        if count["n"] > 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(self, record)

    monkeypatch.setattr(RecordWriter, "write", filling)
    result = cli("run", str(suite), "--out", str(tmp_path / "run"), "--quiet")
    assert result.exit_code == 4
    assert result.stderr.strip().splitlines()[-1] == (
        "releasegate: error: OSError: [Errno 28] No space left on device "
        "(rerun with --debug for the traceback)"
    )


def test_calibrate_refuses_a_non_empty_out(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "calib"
    out.mkdir()
    (out / "calibration.json").write_text("{}")
    result = cli("calibrate", str(suite), "--repeats", "2", "--out", str(out), "--quiet")
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert (out / "calibration.json").read_text() == "{}"


def test_report_on_a_folder_without_records_exits_4(tmp_path: Path) -> None:
    result = cli("report", str(tmp_path))
    assert result.exit_code == 4 and "no records file" in result.stderr


# ------------------------------------------------------------------ partial runs


def test_a_cut_run_re_renders_as_partial_never_pass(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    cut(out, '"round_start"', nth=2, extra=3)  # mid-way through the third load round
    result = cli("report", str(out))
    assert result.exit_code == 3, result.output  # the full run passed; the cut one holds
    assert "PARTIAL RUN" in result.output
    data = json.loads((out / "result.json").read_text())
    assert data["verdict"] == "inconclusive" and data["recommendation"]["action"] == "hold"
    assert data["complete"] is False
    assert "end before the run finished" in data["partial_reason"]
    for name in ("summary.md", "junit.xml", "report.html"):
        assert "PARTIAL RUN" in (out / name).read_text(), name
    full = json.loads((out / "result.json").read_text())
    assert full["checks"][0]["verdict"] == "pass"  # quality itself still passed on what ran


def test_a_complete_run_says_complete(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    data = json.loads((out / "result.json").read_text())
    assert data["complete"] is True and data["partial_reason"] is None
    for name in ("summary.md", "junit.xml", "report.html"):
        assert "PARTIAL RUN" not in (out / name).read_text(), name
    (finished,) = events(out, "run_finished")
    assert finished.detail["complete"] is True and "harness_cpu_s" in finished.detail


# ------------------------------------------------------------------ resume


def completions(server) -> list:
    """The chat requests a server received (not the endpoint probes' health checks)."""
    return [r for r in server.received if r.path.endswith("/chat/completions")]


def test_resume_after_a_cut_in_a_load_round(suite: Path, tmp_path: Path, fake_server) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    cut(out, '"round_start"', nth=2, extra=3)  # round 3 (incumbent, index 1) was cut
    before = len(completions(fake_server))
    result = cli("run", "--resume", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    # only the cut round and the five after it ran again; no eval item
    assert len(completions(fake_server)) - before == 6 * PER_ROUND
    records = read_records(out)
    requests = [r for r in records if r.kind == "request"]
    assert len(requests) == ROUNDS * PER_ROUND  # every round exactly once
    keys = [(r.arm, r.round, r.seq) for r in requests]
    assert len(set(keys)) == len(keys)
    ends = [
        (e.arm, e.detail["round"]) for e in records if e.kind == "event" and e.event == "round_end"
    ]
    assert sorted(ends) == sorted(set(ends)) and len(ends) == ROUNDS
    # the cut round's requests stay in the file, but no view sees them
    raw = [r for r in iter_records(out / "records.jsonl") if r.kind == "request"]
    assert len(raw) == len(requests) + 3  # the 3 whole lines kept after its round_start
    (resumed,) = events(out, "run_resumed")
    assert resumed.detail["attempt"] == 2
    assert resumed.detail["discarded_rounds"] == [["steady", 1, "incumbent"]]
    assert len(resumed.detail["kept_rounds"]) == 2 and resumed.detail["kept_items"] == 6
    data = json.loads((out / "result.json").read_text())
    assert data["complete"] is True and data["attempts"] == 2 and data["verdict"] == "pass"
    assert sum(r.kind == "item" for r in records) == 6
    # a resumed run that finished is a finished run: it can be a baseline
    saved = cli("baseline", "save", str(out), "--baselines", str(tmp_path / "b"))
    assert saved.exit_code == 0, saved.output


def test_a_partial_run_cannot_be_a_baseline(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    cut(out, '"round_start"', nth=2, extra=3)
    saved = cli("baseline", "save", str(out), "--baselines", str(tmp_path / "b"))
    assert saved.exit_code == 4 and "partial run" in saved.stderr


def test_resume_after_a_cut_in_the_eval(suite: Path, tmp_path: Path, fake_server) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    cut(out, '"kind":"item"', nth=1, extra=0)  # two items were scored
    before = len(completions(fake_server))
    result = cli("run", "--resume", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    assert len(completions(fake_server)) - before == 4 + ROUNDS * PER_ROUND
    items = [(r.workload, r.item_id, r.arm) for r in read_records(out) if r.kind == "item"]
    assert len(items) == 6 and len(set(items)) == 6


def test_resume_keeps_sequential_looks_over_the_whole_run(
    suite: Path, tmp_path: Path, fake_server
) -> None:
    fake_server.scenario = Scenario(
        tokens=("a", "b", "c", "d"), first_token_delay_s=0.004, token_delay_s=0.004
    )
    text = suite.read_text().replace("rounds: 4", "rounds: 16")
    suite.write_text(text.replace(", severity: advisory}", "}"))  # tput is critical
    out = tmp_path / "run"
    run_ok(suite, out)
    (stop,) = events(out, "sequential_stop")
    assert stop.detail["pairs"] >= 3
    cut(out, '"round_start"', nth=3, extra=2)  # cut in pair 2: no look had stopped it
    result = cli("run", "--resume", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    records = read_records(out)
    (stop,) = [r for r in records if r.kind == "event" and r.event == "sequential_stop"]
    ran = {(r.arm, r.round) for r in records if r.kind == "request"}
    # the looks counted the earlier attempt's pairs: it stopped at the same rule
    assert len(ran) == 2 * stop.detail["pairs"] and stop.detail["pairs"] >= 3
    assert stop.detail["rounds_skipped"] == 32 - len(ran)
    assert json.loads((out / "result.json").read_text())["complete"] is True


def test_resume_twice_then_refuse_a_complete_run(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    cut(out, '"round_start"', nth=5, extra=2)
    first = cli("run", "--resume", str(out), "--quiet")
    assert first.exit_code == 0, first.output
    again = cli("run", "--resume", str(out), "--quiet")
    assert again.exit_code == 2
    assert "completed; nothing to resume" in again.stderr


def test_resume_refuses_a_changed_suite(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    cut(out, '"round_start"', nth=2, extra=1)
    suite.write_text(suite.read_text().replace("rounds: 4", "rounds: 5"))
    result = cli("run", "--resume", str(out), "--quiet")
    assert result.exit_code == 2
    assert "changed since the run started" in result.stderr
    assert not events(out, "run_resumed")


def test_resume_refuses_a_run_that_is_still_going(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_ok(suite, out)
    cut(out, '"round_start"', nth=2, extra=1)
    with RecordWriter(out):  # the first run, still writing
        result = cli("run", "--resume", str(out), "--quiet")
    assert result.exit_code == 2
    assert "another releasegate process is writing there" in result.stderr
    assert not events(out, "run_resumed")


def test_resume_refuses_other_options_and_non_run_folders(suite: Path, tmp_path: Path) -> None:
    assert cli("run", "--resume", str(tmp_path), "--out", str(tmp_path / "x")).exit_code == 2
    result = cli("run", "--resume", str(tmp_path))
    assert result.exit_code == 2 and "not a resumable run folder" in result.stderr
