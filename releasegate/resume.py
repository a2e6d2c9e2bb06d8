"""``releasegate run --resume RUN_DIR``: continue an interrupted run in its own folder.

What is kept and what runs again:

- eval items: every item record already written (an item is written once it is scored) is
  kept; the other items run.
- load rounds: a round with its ``round_end`` event is kept and never run again; a round
  that started and did not end is run again from its start, and the requests and probes it
  had written are left out of every view (:func:`releasegate.records.read_records` drops
  rounds that never ended). A sequential stop already recorded ends the load part.
- the suite must be the same file content (its sha256 is in the ``meta`` record) and, for
  launched servers, the same model files; the run folder must be partial (a complete run
  is not resumed). Servers are launched again for what is left.

Records are appended: the earlier attempts' records stay, a ``run_resumed`` event opens
the new attempt, and its ``run_finished``/``run_aborted`` closes it.
"""

from __future__ import annotations

import time
from pathlib import Path

from releasegate.errors import RecordsError, SuiteError
from releasegate.gate.result import Result
from releasegate.pipeline import execute_recorded, fingerprint, render
from releasegate.plan import Plan, build_plan
from releasegate.records import (
    RECORDS_FILE,
    EventRecord,
    MetaRecord,
    Record,
    RecordWriter,
    read_records,
)
from releasegate.records.lifecycle import RESUMED, Finished, run_status
from releasegate.records.store import FolderBusy
from releasegate.suite import ARMS, Arm, LoadedSuite, load_suite


def _problem(run_dir: Path, message: str) -> SuiteError:
    return SuiteError([f"--resume {run_dir}: {message}"])


def _read(run_dir: Path) -> tuple[MetaRecord, list[Record]]:
    try:
        records = read_records(run_dir)
    except RecordsError as exc:
        raise _problem(run_dir, f"not a resumable run folder: {exc}") from exc
    metas = [r for r in records if isinstance(r, MetaRecord)]
    if not metas:
        raise _problem(run_dir, "the records hold no 'meta' record: nothing to resume")
    return metas[0], records


def _arms(meta: MetaRecord, records: list[Record]) -> tuple[Arm, ...]:
    used = next(
        (r.detail for r in records if isinstance(r, EventRecord) and r.event == "baseline"), None
    )
    if used is None:
        return ARMS
    run_incumbent = used.get("run_incumbent", "incumbent" in meta.environment.get("models", {}))
    return ARMS if run_incumbent else ("candidate",)


def _load(run_dir: Path, meta: MetaRecord, suite_path: Path | None) -> LoadedSuite:
    path = suite_path or Path(meta.suite_path)
    if not path.is_file():
        raise _problem(run_dir, f"the suite {path} is not there; give it: run SUITE --resume DIR")
    loaded = load_suite(path)
    if loaded.sha256 != meta.suite_sha256:
        raise _problem(
            run_dir,
            f"the suite {path} changed since the run started (sha256 {loaded.sha256[:12]} "
            f"!= {meta.suite_sha256[:12]}); a resumed run must run the same suite",
        )
    return loaded


def _same_models(run_dir: Path, meta: MetaRecord, now: dict) -> None:
    before = meta.environment.get("models", {})
    for arm, model in now.get("models", {}).items():
        old = before.get(arm, {}).get("sha256")
        if old and model.get("sha256") and old != model["sha256"]:
            raise _problem(
                run_dir, f"the {arm} model file changed since the run started ({model['path']})"
            )


def _left(plan: Plan, done: Finished) -> tuple[int, int]:
    items = sum(
        1
        for e in plan.evals
        for item in e.items
        for arm in plan.run_arms
        if (e.workload.name, item.id, arm) not in done.items
    )
    rounds = 0
    if not done.stopped:
        rounds = sum((r.workload.name, r.index, r.arm) not in done.rounds for r in plan.rounds)
    return items, rounds


def _resumable(
    run_dir: Path, suite_path: Path | None, writer: RecordWriter
) -> tuple[Finished, Plan]:
    """Check the folder can be resumed and open the new attempt with ``run_resumed``."""
    meta, records = _read(run_dir)
    events = [r for r in records if isinstance(r, EventRecord)]
    status = run_status(events)
    if status.complete:
        raise _problem(
            run_dir,
            f"the run completed; nothing to resume (re-render: releasegate report {run_dir})",
        )
    loaded = _load(run_dir, meta, suite_path)
    plan = build_plan(loaded, arms=_arms(meta, records))
    environment = fingerprint(plan)
    _same_models(run_dir, meta, environment)
    done = Finished.of(records)
    items, rounds = _left(plan, done)
    writer.write(
        EventRecord(
            t=time.time(),
            event=RESUMED,
            detail={
                "attempt": status.attempts + 1,
                "previous_end": status.reason,
                "kept_items": len(done.items),
                "kept_rounds": sorted(list(k) for k in done.rounds),
                "discarded_rounds": sorted(list(k) for k in done.unfinished_rounds),
                "items_left": items,
                "rounds_left": rounds,
                "environment": environment,
            },
        )
    )
    return done, plan


def resume_run(
    run_dir: Path, suite_path: Path | None = None, quiet: bool = False
) -> tuple[Result, Path]:
    """Continue the partial run in ``run_dir`` and render the verdict over the whole plan.

    Raises:
        SuiteError: not a run folder, a complete run, or the suite or models changed.
        EndpointError: an endpoint could not be brought up.
        RunInterrupted: SIGINT or SIGTERM (the attempt is recorded as aborted).
    """
    if not (run_dir / RECORDS_FILE).is_file():
        raise _problem(run_dir, f"not a resumable run folder: no {RECORDS_FILE}")
    try:
        writer = RecordWriter(run_dir)  # holds the folder's lock from here on
    except FolderBusy as exc:
        raise _problem(run_dir, f"{exc} (is the run still going?)") from exc
    try:
        done, plan = _resumable(run_dir, suite_path, writer)
    except BaseException:
        writer.close()
        raise
    execute_recorded(plan, run_dir, writer, quiet, finished=done)
    return render(run_dir), run_dir
