"""The pipeline, stage by stage: suite → plan → execute → records → compare → decide → report."""

from __future__ import annotations

import contextlib
import resource
import secrets
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from releasegate import environment
from releasegate.baselines import load_baseline
from releasegate.errors import RecordsError, ReleasegateError, SuiteError
from releasegate.execute import execute
from releasegate.gate.against_baseline import compare_with_baseline
from releasegate.gate.compare import compare_all
from releasegate.gate.decide import decide_checks, overall
from releasegate.gate.result import (
    ArmSummary,
    FlippedItem,
    Recommendation,
    ReportInput,
    Result,
    Verdict,
)
from releasegate.gate.sequential import final_checks, look
from releasegate.plan import Plan, build_plan, uses_sequential
from releasegate.progress import RunProgress
from releasegate.records import EventRecord, MetaRecord, RecordWriter, read_records
from releasegate.records.errors import first_errors
from releasegate.records.lifecycle import ABORTED, FINISHED, Finished, run_status
from releasegate.records.views import RunRecords
from releasegate.redact import redact_obj, redact_text
from releasegate.report import write_all
from releasegate.signals import RunInterrupted, run_async
from releasegate.suite import ARMS, LoadedSuite, Suite, load_suite


def default_run_dir(suite_name: str, root: Path = Path("reports")) -> Path:
    """Create and return a new ``reports/<suite>/<UTC timestamp>-<random suffix>/``.

    The folder is created with ``exist_ok=False``, so two runs started in the same second
    never share one.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parent = root / suite_name
    for _ in range(8):
        path = parent / f"{stamp}-{secrets.token_hex(3)}"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise ReleasegateError(f"cannot create a run folder under {parent}: {exc}") from exc
        return path
    raise ReleasegateError(f"cannot create a new run folder under {parent}")


def claim_folder(path: Path, option: str = "--out") -> Path:
    """Create ``path`` or accept it when empty; one run (or calibration) per folder.

    Raises:
        SuiteError: the folder holds files already, or cannot be created.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        taken = any(path.iterdir())
    except OSError as exc:
        raise SuiteError([f"{option} {path}: cannot use it as a run folder: {exc}"]) from exc
    if taken:
        raise SuiteError(
            [
                f"{option} {path}: the folder is not empty; give a new folder (an interrupted "
                f"run is continued with: releasegate run --resume {path})"
            ]
        )
    return path


def fingerprint(plan: Plan) -> dict:
    """What the run ran on: models (with sha256), server recipe and binary, machine."""
    suite = plan.loaded.suite
    models = {}
    for arm in plan.run_arms:
        a = plan.arms[arm]
        models[arm] = {
            "id": a.model_id,
            "path": str(a.model_path) if a.model_path else None,
            "sha256": environment.file_sha256(a.model_path) if a.model_path else None,
            "params": suite.model(arm).params,
            "url": suite.endpoint_url(arm) if suite.server.command is None else None,
        }
    server = {"command": suite.server.command, "url": suite.server.url}
    if suite.server.command:
        server.update(environment.server_info(suite.server.command))
    return redact_obj(
        {  # a URL may carry credentials: never to disk
            "models": models,
            "server": server,
            "machine": environment.machine_info(),
            "releasegate": environment.releasegate_version(),
        }
    )


def harness_usage() -> dict[str, float]:
    """releasegate's own footprint so far: peak RSS and CPU seconds of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "harness_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is KiB on Linux
        "harness_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
    }


def start_run(plan: Plan, run_dir: Path) -> RecordWriter:
    """Claim the run folder (its ``records.jsonl`` is created, never reused) and write the
    ``meta`` record first.

    Raises:
        SuiteError: another run created ``records.jsonl`` there first.
    """
    try:
        writer = RecordWriter(run_dir, exclusive=True)
    except FileExistsError as exc:
        raise SuiteError([f"{run_dir}: another run is writing to this folder"]) from exc
    loaded = plan.loaded
    writer.write(
        MetaRecord(
            t=time.time(),
            run_id=uuid.uuid4().hex[:12],
            suite=redact_obj(
                loaded.suite.model_dump(mode="json", by_alias=True, exclude_none=True)
            ),
            suite_path=str(loaded.path),
            suite_sha256=loaded.sha256,
            environment=fingerprint(plan),
        )
    )
    return writer


@dataclass(frozen=True)
class BaselineOptions:
    """Gate against a stored baseline of the incumbent (``run --baseline``)."""

    path: Path
    ignore_fingerprint: bool = False
    run_incumbent: bool = True


def run(
    suite_path: Path,
    run_dir: Path | None = None,
    quiet: bool = False,
    baseline: BaselineOptions | None = None,
) -> tuple[Result, Path]:
    """Run a suite file end to end and write every output into the run folder.

    Raises:
        SuiteError: the suite is invalid (nothing is launched).
        EndpointError: an endpoint could not be brought up (records so far are kept).
    """
    return run_loaded(load_suite(suite_path), run_dir, quiet, baseline)


def run_loaded(
    loaded: LoadedSuite,
    run_dir: Path | None = None,
    quiet: bool = False,
    baseline: BaselineOptions | None = None,
) -> tuple[Result, Path]:
    """Plan, execute, compare, decide and report a validated suite.

    ``run_dir`` must be new or empty (SuiteError otherwise); by default a new, uniquely
    named folder under ``reports/<suite>/`` is created.
    """
    if baseline is not None:
        load_baseline(baseline.path)  # a broken baseline fails before anything starts
    arms = ARMS if baseline is None or baseline.run_incumbent else ("candidate",)
    plan = build_plan(loaded, arms=arms)
    for warning in plan.warnings:
        print(f"releasegate: warning: {warning}", file=sys.stderr)
    if run_dir is None:
        run_dir = default_run_dir(loaded.suite.name)
    else:
        claim_folder(run_dir)
    writer = start_run(plan, run_dir)
    for warning in plan.warnings:
        writer.write(EventRecord(t=time.time(), event="warning", detail={"message": warning}))
    if baseline is not None:
        detail = {
            "path": str(baseline.path.resolve()),
            "ignore_fingerprint": baseline.ignore_fingerprint,
            "run_incumbent": baseline.run_incumbent,
        }
        try:
            writer.write(EventRecord(t=time.time(), event="baseline", detail=detail))
        except BaseException:
            writer.close()
            raise
    execute_recorded(plan, run_dir, writer, quiet)
    return render(run_dir), run_dir


def execute_recorded(
    plan: Plan,
    run_dir: Path,
    writer: RecordWriter,
    quiet: bool = False,
    finished: Finished | None = None,
) -> None:
    """Execute the plan (what ``finished`` lacks of it) and record how the attempt ended.

    ``run_finished`` (``complete: true``) when the plan ran to its end or a sequential look
    stopped it; ``run_aborted`` with the reason otherwise. The writer is closed either way.

    Raises:
        RunInterrupted: SIGINT or SIGTERM (under :func:`releasegate.signals.trap_signals`).
    """
    try:
        with RunProgress(quiet=quiet) as progress:
            run_async(execute(plan, run_dir, writer, progress, finished))
    except BaseException as exc:
        if isinstance(exc, SuiteError):
            exc.run_started = True  # records were written: "nothing was run" would be untrue
        if isinstance(exc, RunInterrupted):
            exc.run_dir = run_dir
            detail = {"reason": f"interrupted by {exc.signal_name}", "signal": exc.signal_name}
        elif isinstance(exc, KeyboardInterrupt):
            detail = {"reason": "interrupted by SIGINT", "signal": "SIGINT"}
        else:
            error = redact_text(f"{type(exc).__name__}: {exc}")
            detail = {"reason": error, "error": error}
        end = EventRecord(t=time.time(), event=ABORTED, detail={**detail, **harness_usage()})
        with contextlib.suppress(OSError):  # a full disk must not hide the first error
            try:
                writer.write(end)
            finally:
                writer.close()
        raise
    try:
        done = {"complete": True, **harness_usage()}
        writer.write(EventRecord(t=time.time(), event=FINISHED, detail=done))
    finally:
        writer.close()


def evaluate(run: RunRecords) -> ReportInput:
    """Compare and decide from a run's records (and the baseline they name, if any)."""
    if run.meta is None:
        raise RecordsError("the records hold no 'meta' record: not a complete run folder")
    suite = Suite.model_validate(run.meta.suite)
    status = run_status(run.events)  # of this run (a baseline comparison swaps ``run``)
    ends = [e.detail for e in run.events if e.event in (FINISHED, ABORTED)]
    used = next((e.detail for e in run.events if e.event == "baseline"), None)
    baseline_info, drift = None, []
    if used is not None:
        against = compare_with_baseline(
            suite, run, load_baseline(Path(used["path"])), used["ignore_fingerprint"]
        )
        comparisons, drift, run = against.comparisons, against.drift, against.run
        baseline_info = {"path": used["path"], **against.info}
        checks = decide_checks(suite, comparisons)
    elif uses_sequential(suite):
        # the last look on what was run: its verdicts if decided, else the fixed-n gate
        # at the α the looks left over (the same rule the run stopped by)
        checks = final_checks(suite, run, look(suite, run))
    else:
        checks = decide_checks(suite, compare_all(suite, run))
    verdict, recommendation = overall(checks)
    if not status.complete:
        verdict, recommendation = partial_verdict(verdict, recommendation, status.reason)
    result = Result(
        suite=suite.name,
        run_id=run.meta.run_id,
        verdict=verdict,
        checks=checks,
        recommendation=recommendation,
        arms=_arm_summaries(suite, run),
        flipped=flipped_items(run),
        environment=run.meta.environment,
        baseline=baseline_info,
        drift=drift,
        started_at=run.meta.t,
        finished_at=max((e.t for e in run.events), default=None),
        harness={k: v for k, v in (ends[-1] if ends else {}).items() if k.startswith("harness_")},
        complete=status.complete,
        partial_reason=status.reason,
        attempts=status.attempts,
        alpha=suite.gate.alpha,
        pass_confidence=suite.gate.pass_confidence,
    )
    return ReportInput(result=result, latency=run.latency_samples())


def partial_verdict(
    verdict: Verdict, recommendation: Recommendation, reason: str | None
) -> tuple[Verdict, Recommendation]:
    """A partial run never passes: PASS becomes INCONCLUSIVE (hold); FAIL stays FAIL.

    What ran already failed, so a FAIL stands; checks that passed on part of the plan
    were not shown for the whole of it.
    """
    note = f"partial run ({reason}): the verdict covers only what ran"
    if verdict == "pass":
        return "inconclusive", Recommendation(
            action="hold",
            reasons=[
                "hold the release: every critical check passed on what ran, but the run "
                "did not finish its plan (resume it with: releasegate run --resume RUN_DIR)",
                note,
                *recommendation.reasons[1:],
            ],
        )
    return verdict, Recommendation(
        action=recommendation.action,
        reasons=[*recommendation.reasons[:1], note, *recommendation.reasons[1:]],
    )


def render(run_dir: Path) -> Result:
    """Re-read ``records.jsonl`` and (re)write every report of the run folder."""
    data = evaluate(RunRecords.of(read_records(run_dir)))
    write_all(data, run_dir)
    return data.result


def _arm_summaries(suite: Suite, run: RunRecords) -> dict[str, ArmSummary]:
    models = run.meta.environment.get("models", {}) if run.meta else {}
    errors = first_errors(run)
    out = {}
    for arm in ARMS:
        model = models.get(arm, {})
        reqs = [r.timing for r in run.requests if r.arm == arm]
        reqs += [i.timing for i in run.items if i.arm == arm]
        started = [
            e for e in run.events if e.arm == arm and e.event in ("server_started", "connected")
        ]
        exits = [e for e in run.events if e.arm == arm and e.event == "server_exited"]
        out[arm] = ArmSummary(
            model_id=suite.model(arm).id,
            model_path=model.get("path"),
            model_sha256=model.get("sha256"),
            base_url=started[0].detail.get("base_url") if started else None,
            requests=len(reqs),
            errors=sum(not t.ok for t in reqs),
            server_exit=exits[0].detail if exits else None,
            first_errors=errors.get(arm, []),
        )
    return out


def flipped_items(run: RunRecords) -> list[FlippedItem]:
    """Items whose score under a scorer differs between the arms (pass→fail first)."""
    paired: dict[tuple[str, str], dict] = {}
    for item in run.items:
        paired.setdefault((item.workload, item.item_id), {})[item.arm] = item
    flips: list[FlippedItem] = []
    for (workload, item_id), arms in sorted(paired.items()):
        if len(arms) != 2:
            continue
        cand, inc = arms["candidate"], arms["incumbent"]
        for scorer, inc_score in inc.scores.items():
            cand_score = cand.scores.get(scorer)
            if cand_score is None or cand_score == inc_score:
                continue
            flips.append(
                FlippedItem(
                    workload=workload,
                    item_id=item_id,
                    category=inc.category,
                    scorer=scorer,
                    direction="pass_to_fail" if cand_score < inc_score else "fail_to_pass",
                    prompt=inc.prompt,
                    candidate_output=cand.output,
                    incumbent_output=inc.output,
                )
            )
    flips.sort(key=lambda f: f.direction != "pass_to_fail")
    return flips
