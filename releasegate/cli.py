"""The ``releasegate`` command line; every exit code is decided here."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from releasegate.errors import ReleasegateError, SuiteError
from releasegate.gate.result import Result
from releasegate.records.errors import describe
from releasegate.signals import RunInterrupted, trap_signals

EXIT_CODES = {"pass": 0, "fail": 1, "inconclusive": 3}
EXIT_HELP = """\b
Exit codes:
  0  PASS          every critical check passed: promote the candidate
  1  FAIL          a critical check failed: keep / roll back to the incumbent
  3  INCONCLUSIVE  not every critical check could be decided, or a partial
                   run (cut short) would have passed: hold
  2  invalid input (suite file, command line, a non-empty --out)
  4  the run could not be carried out (a server never became healthy, a full
     disk, an internal error; --debug shows the traceback)
  130  interrupted by SIGINT, 143  by SIGTERM: servers stopped, the abort
     recorded; continue with: releasegate run --resume RUN_DIR
"""

QUIET = click.option("--quiet", is_flag=True, help="Plain stage lines instead of progress bars.")
BASELINES = click.option(
    "--baselines",
    "baselines_root",
    type=click.Path(path_type=Path),
    default=Path("baselines"),
    show_default=True,
    help="Baseline folder.",
)


def _fail(exc: ReleasegateError) -> NoReturn:
    if isinstance(exc, SuiteError):
        for problem in exc.problems:
            click.echo(problem, err=True)
        done = "the run stopped" if exc.run_started else "nothing was run"
        click.echo(f"releasegate: {len(exc.problems)} problem(s); {done}.", err=True)
    else:
        click.echo(f"releasegate: error: {exc}", err=True)
    sys.exit(exc.exit_code)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "…"


class _Main(click.Group):
    """The command group; maps every error outside the gate to an exit code in one place.

    Exit 1 is the gate's FAIL and nothing else: usage errors stay click's 2, signals give
    128 + signal, and any other exception (OSError, MemoryError, a bug) gives 4 with one
    line on stderr (the traceback with ``--debug``).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except ReleasegateError as exc:
            _debug_trace(ctx)
            _fail(exc)
        except RunInterrupted as exc:
            where = exc.run_dir
            more = (
                f": servers stopped, records kept in {where} "
                f"(continue with: releasegate run --resume {where})"
                if where is not None
                else ""
            )
            click.echo(f"releasegate: {exc}{more}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("releasegate: interrupted by SIGINT", err=True)
            sys.exit(130)
        except click.Abort:
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the one place every error becomes an exit code
            _debug_trace(ctx)
            kind = "error" if isinstance(exc, OSError) else "internal error"
            hint = "" if ctx.meta.get(DEBUG_KEY) else " (rerun with --debug for the traceback)"
            click.echo(
                f"releasegate: {kind}: {type(exc).__name__}: {_one_line(exc)}{hint}", err=True
            )
            sys.exit(4)


DEBUG_KEY = "releasegate.debug"


def _debug_trace(ctx: click.Context) -> None:
    if ctx.meta.get(DEBUG_KEY):
        traceback.print_exc(file=sys.stderr)


def _summarise(result: Result, run_dir: Path) -> None:
    click.echo(f"verdict: {result.verdict.upper()}  →  {result.recommendation.action}")
    if not result.complete:
        click.echo(f"PARTIAL RUN: {result.partial_reason} (at most INCONCLUSIVE)")
    for check in result.checks:
        click.echo(f"  [{check.verdict:>12}] {check.name} ({check.severity}): {check.reason}")
    for arm, summary in result.arms.items():
        for line in describe(summary.first_errors):
            click.echo(f"  {arm} errors: {line}")
    click.echo(
        f"reports: {run_dir}/report.html  {run_dir}/result.json  "
        f"{run_dir}/junit.xml  {run_dir}/summary.md"
    )


@click.group(cls=_Main, epilog=EXIT_HELP)
@click.version_option(package_name="releasegate")
@click.option("--debug", is_flag=True, help="Print the traceback of an error (exit codes stay).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """releasegate: gate a candidate local LLM against the incumbent before release."""
    ctx.meta[DEBUG_KEY] = debug


@main.command(epilog=EXIT_HELP)
@click.argument("suite", type=click.Path(path_type=Path), required=False)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Run folder; must be new or empty (default: reports/<suite>/<UTC timestamp>-<id>/).",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Continue the interrupted run in this folder (SUITE defaults to the one it ran).",
)
@QUIET
@click.option(
    "--baseline",
    "use_baseline",
    is_flag=True,
    help="Gate the candidate against the incumbent's stored baseline.",
)
@BASELINES
@click.option(
    "--skip-incumbent",
    is_flag=True,
    help="With --baseline: do not run the incumbent now (no drift check).",
)
@click.option(
    "--ignore-fingerprint",
    is_flag=True,
    help="With --baseline: compare performance even if the environment differs.",
)
def run(
    suite: Path | None,
    out_dir: Path | None,
    resume_dir: Path | None,
    quiet: bool,
    use_baseline: bool,
    baselines_root: Path,
    skip_incumbent: bool,
    ignore_fingerprint: bool,
) -> None:
    """Run SUITE: launch both models, measure, compare, decide and report.

    Each run gets a folder of its own. SIGINT or SIGTERM stops the servers and records the
    abort; `run --resume RUN_DIR` then runs what is left (finished items and rounds are
    kept) and decides over the whole plan.
    """
    from releasegate.pipeline import BaselineOptions, run_loaded
    from releasegate.resume import resume_run
    from releasegate.suite import load_suite

    if resume_dir is not None:
        if out_dir is not None or use_baseline or skip_incumbent or ignore_fingerprint:
            raise click.UsageError(
                "--resume continues a run as it was started: no --out or --baseline options"
            )
        with trap_signals():
            result, run_dir = resume_run(resume_dir, suite, quiet=quiet)
    else:
        if suite is None:
            raise click.UsageError("Missing argument 'SUITE' (or give --resume RUN_DIR).")
        with trap_signals():
            loaded = load_suite(suite)
            options = None
            if use_baseline:
                options = BaselineOptions(
                    _baseline_file(baselines_root, loaded.suite.name, loaded.suite.incumbent.id),
                    ignore_fingerprint=ignore_fingerprint,
                    run_incumbent=not skip_incumbent,
                )
            elif skip_incumbent or ignore_fingerprint:
                raise SuiteError(["--skip-incumbent and --ignore-fingerprint need --baseline"])
            result, run_dir = run_loaded(loaded, out_dir, quiet=quiet, baseline=options)
    _summarise(result, run_dir)
    sys.exit(EXIT_CODES[result.verdict])


def _baseline_file(root: Path, suite_name: str, model_id: str) -> Path:
    from releasegate.baselines import find_baseline

    path = find_baseline(root, suite_name, model_id)
    if path is None:
        raise SuiteError(
            [
                f"no baseline of {model_id!r} for suite {suite_name!r} under {root}/ "
                "(save one with: releasegate baseline save RUN_DIR)"
            ]
        )
    return path


@main.group()
def baseline() -> None:
    """Stored baselines: one model's raw records plus its environment fingerprint."""


@baseline.command("save")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--model",
    "arm",
    type=click.Choice(["incumbent", "candidate"]),
    default="incumbent",
    show_default=True,
    help="Which arm of the run to store.",
)
@BASELINES
def baseline_save(run_dir: Path, arm: str, baselines_root: Path) -> None:
    """Store one arm of RUN_DIR as its model's baseline."""
    from releasegate.baselines import save_baseline

    try:
        path = save_baseline(run_dir, arm, baselines_root)  # type: ignore[arg-type]
    except ReleasegateError as exc:
        _fail(exc)
        return
    click.echo(f"baseline written: {path}")


@main.command()
@click.argument("suite", type=click.Path(path_type=Path))
@click.option(
    "--no-models",
    is_flag=True,
    help="Do not locate model files (no factory is called): for a machine without them.",
)
def validate(suite: Path, no_models: bool) -> None:
    """Check SUITE without running it; print what it would run, or every problem as
    file:line: field.path: message (exit 2).

    Model files are located as a run would, so a `factory` source is called.
    """
    from releasegate.plan import build_plan
    from releasegate.preview import describe
    from releasegate.suite import load_suite

    try:
        plan = build_plan(load_suite(suite), resolve_models=not no_models)
    except ReleasegateError as exc:
        _fail(exc)
        return
    click.echo(f"{suite}: ok")
    for line in describe(plan):
        click.echo(f"  {line}")
    for warning in plan.warnings:
        click.echo(f"releasegate: warning: {warning}", err=True)


@main.command()
@click.option(
    "--url",
    "urls",
    multiple=True,
    help="An endpoint you run (OpenAI-compatible). Twice: candidate, then incumbent.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("suite.yaml"),
    show_default=True,
    help="Where to write the suite (never overwritten).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Without --url: a GGUF file to launch. Twice: candidate, then incumbent.",
)
def init(urls: tuple[str, ...], out_file: Path, models: tuple[Path, ...]) -> None:
    """Write a commented starter suite that `releasegate validate` accepts as is.

    \b
    No --url:   both models on llama-server, launched by releasegate (the --model files,
                or the demo's models).
    One --url:  one endpoint serving both models (set each arm's id).
    Two --url:  the candidate's endpoint, then the incumbent's.
    """
    from releasegate.init import write_starter

    try:
        path = write_starter(out_file, list(urls), list(models))
    except ReleasegateError as exc:
        _fail(exc)
        return
    click.echo(f"wrote {path}; check it with: releasegate validate {path}")


@main.command(epilog=EXIT_HELP)
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
def report(run_dir: Path) -> None:
    """Re-render every report of RUN_DIR from its records.jsonl."""
    from releasegate.pipeline import render

    result = render(run_dir)
    _summarise(result, run_dir)
    sys.exit(EXIT_CODES[result.verdict])


@main.command()
@click.argument("suite", type=click.Path(path_type=Path))
@click.option(
    "--repeats", type=click.IntRange(min=2), default=3, show_default=True, help="A/A runs to make."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Folder for the runs (default: reports/<suite>-calibration/<timestamp>/).",
)
@click.option(
    "--write-baseline",
    is_flag=True,
    help="Save the incumbent's records and the measured noise as its baseline.",
)
@BASELINES
@QUIET
def calibrate(
    suite: Path,
    repeats: int,
    out_dir: Path | None,
    write_baseline: bool,
    baselines_root: Path,
    quiet: bool,
) -> None:
    """Run SUITE's incumbent against itself REPEATS times; report noise and margins."""
    from releasegate.calibrate import calibrate as run_calibration
    from releasegate.calibrate import write_report
    from releasegate.pipeline import claim_folder, default_run_dir
    from releasegate.suite import load_suite

    with trap_signals():
        loaded = load_suite(suite)
        if out_dir is None:
            out_dir = default_run_dir(f"{loaded.suite.name}-calibration")
        else:
            claim_folder(out_dir)
        noise = run_calibration(loaded, repeats, out_dir, quiet)
        report_path = write_report(noise, out_dir)
        if write_baseline:
            from releasegate.baselines import save_baseline, write_calibration

            path = save_baseline(out_dir / str(repeats), "incumbent", baselines_root)
            write_calibration(path, {n.name: n.noise for n in noise})
            click.echo(f"baseline with calibration written: {path}")
    click.echo(f"{'check':<24}{'noise':>10}{'margin':>10}{'recommended':>13}  ok")
    for n in noise:
        unit = "" if n.scale == "difference" else " (log)"
        click.echo(
            f"{n.name:<24}{n.noise:>10.4f}{n.current_margin:>10.4g}"
            f"{n.recommended_margin:>13.4g}  {'yes' if n.margin_ok else 'RAISE'}{unit}"
        )
    click.echo(f"calibration: {report_path}")


@main.command()
@click.option("--suite", "which", flag_value="suite", help="Schema of suite files.")
@click.option(
    "--result", "which", flag_value="result", default=True, help="Schema of result.json (default)."
)
def schema(which: str) -> None:
    """Print a JSON Schema (result.json by default, or suite files)."""
    from releasegate.suite import Suite

    model = Suite if which == "suite" else Result
    click.echo(json.dumps(model.model_json_schema(by_alias=True), indent=2))
