"""Turn a validated suite into a run plan, checking everything that can be checked before launch.

Planning resolves model files, loads eval items, compiles prompt templates and imports
python scorers, so a broken suite fails (exit 2) before any server starts. It also fixes the
order of load rounds: the arms alternate A B B A … so that drift on a shared machine hits
both alike, and round *i* of one arm is paired with round *i* of the other.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

from releasegate.endpoints.launcher import PLACEHOLDERS, fill_template
from releasegate.environment import file_sha256
from releasegate.errors import SuiteError
from releasegate.executables import find_executable
from releasegate.redact import redact_url
from releasegate.suite import ARMS, Arm, EvalWorkload, LoadedSuite, LoadWorkload, Suite
from releasegate.suite.compose import one_line
from releasegate.suite.sources import resolve_model_path
from releasegate.workloads.items import EvalItem, check_template, load_items
from releasegate.workloads.scorers import validate_scorer


@dataclass(frozen=True)
class ArmPlan:
    """One arm: its model and, for launched servers, the model file."""

    arm: Arm
    model_id: str
    model_path: Path | None


@dataclass(frozen=True)
class EvalPlan:
    workload: EvalWorkload
    items: list[EvalItem]


@dataclass(frozen=True)
class LoadRound:
    """One round of one load workload on one arm; ``index`` pairs it with the other arm's."""

    workload: LoadWorkload
    arm: Arm
    index: int


@dataclass(frozen=True)
class Plan:
    loaded: LoadedSuite
    arms: dict[Arm, ArmPlan]
    evals: list[EvalPlan] = field(default_factory=list)
    rounds: list[LoadRound] = field(default_factory=list)
    warnings: tuple[str, ...] = ()

    @property
    def sequential(self) -> bool:
        """Look after every round pair: both arms run and :func:`uses_sequential`."""
        return len(self.arms) == 2 and uses_sequential(self.loaded.suite)

    @property
    def run_arms(self) -> tuple[Arm, ...]:
        """The arms this run measures (both, or only the candidate against a baseline)."""
        return tuple(self.arms)

    @property
    def total_eval_requests(self) -> int:
        return sum(len(e.items) for e in self.evals) * len(self.arms)

    @property
    def total_load_rounds(self) -> int:
        return len(self.rounds)


def uses_sequential(suite: Suite) -> bool:
    """Whether load rounds stop early: policy on and a critical load check to decide.

    Advisory load checks alone never stop a run early: nothing gates on them, so all their
    rounds are run.
    """
    gate = suite.gate
    critical_load = any(
        c.severity == "critical" and c.metric not in ("quality", "error_rate") for c in gate.checks
    )
    return gate.sequential.enabled and bool(suite.load) and critical_load


def interleave(workload: LoadWorkload) -> list[LoadRound]:
    """Rounds in A B B A … order: pair k runs candidate first when k is even."""
    rounds: list[LoadRound] = []
    for index in range(workload.rounds):
        order = ARMS if index % 2 == 0 else tuple(reversed(ARMS))
        rounds.extend(LoadRound(workload, arm, index) for arm in order)
    return rounds


def build_plan(
    loaded: LoadedSuite, resolve_models: bool = True, arms: tuple[Arm, ...] = ARMS
) -> Plan:
    """Check and plan a suite: everything a run would trip over, before any server starts.

    Model files are located (a ``factory`` is called: it is the code the suite names, and
    ``run`` would call it anyway), eval items loaded, every item's prompt rendered,
    scorers checked and the server command's placeholders checked.

    Args:
        loaded: the validated suite.
        resolve_models: locate model files (``validate --no-models`` skips it, for a
            machine without the models).
        arms: the arms to run; ``("candidate",)`` when a stored baseline stands in for the
            incumbent.

    Raises:
        SuiteError: every problem found, one ``file:line: field.path: message`` line each.
    """
    suite, base = loaded.suite, loaded.base_dir
    problems: list[str] = []
    arm_plans: dict[Arm, ArmPlan] = {}
    launched = suite.server.command is not None
    for arm in arms:
        spec = suite.model(arm)
        path = None
        if resolve_models and spec.source is not None and launched:
            try:
                path = resolve_model_path(spec.source, base)
            except SuiteError as exc:
                problems.extend(f"{loaded.at((arm, 'source'))}: {p}" for p in exc.problems)
        arm_plans[arm] = ArmPlan(arm, spec.id, path)
    if launched:
        assert suite.server.command is not None
        problems.extend(_command_problems(loaded, suite.server.command))

    evals: list[EvalPlan] = []
    for index, workload in enumerate(suite.eval):
        items, found = _check_eval(loaded, index, workload)
        problems.extend(found)
        evals.append(EvalPlan(workload, items))

    if problems:
        raise SuiteError([one_line(p) for p in problems])
    rounds = [r for workload in suite.load for r in interleave(workload) if r.arm in arms]
    plan = Plan(loaded=loaded, arms=arm_plans, evals=evals, rounds=rounds)
    return dataclasses.replace(plan, warnings=tuple(plan_warnings(plan)))


def _command_problems(loaded: LoadedSuite, command: list[str]) -> list[str]:
    """Placeholders in the server command that the launcher would not know."""
    problems: list[str] = []
    known = {name: name for name in PLACEHOLDERS}
    for index, arg in enumerate(command):
        try:
            fill_template([arg], known)
        except SuiteError as exc:
            at = loaded.at(("server", "command", index))
            problems.extend(f"{at}: {p.removeprefix('server command: ')}" for p in exc.problems)
    return problems


def _check_eval(
    loaded: LoadedSuite, index: int, workload: EvalWorkload
) -> tuple[list[EvalItem], list[str]]:
    """An eval workload's items, and what is wrong with it (dataset, template, scorers)."""
    loc = ("eval", index)
    try:
        items = load_items(workload.dataset, loaded.base_dir)
    except SuiteError as exc:
        return [], [f"{loaded.at((*loc, 'dataset'))}: {p}" for p in exc.problems]
    problems: list[str] = []
    for problem in check_template(workload.template, items):
        at = loaded.at((*loc, "template"), problem.line)
        inner = f"template line {problem.line}: " if problem.line is not None else ""
        problems.append(f"{at}: {inner}{problem.message}")
    for s_index, scorer in enumerate(workload.scorers):
        try:
            validate_scorer(scorer, items)
        except SuiteError as exc:
            at = loaded.at((*loc, "scorers", s_index))
            problems.extend(f"{at}: {p}" for p in exc.problems)
    return items, problems


def plan_warnings(plan: Plan) -> list[str]:
    """What may be a mistake but does not stop a run (printed by ``validate`` and ``run``)."""
    suite = plan.loaded.suite
    warnings: list[str] = []
    both = len(plan.arms) == 2
    if suite.server.command is not None:
        paths = [plan.arms[arm].model_path for arm in plan.arms]
        if both and paths[0] is not None and paths[1] is not None:
            same = _same_file(paths[0], paths[1])
            if same:
                warnings.append(
                    f"both arms run the same model file ({same}): {paths[0]} — an A/A run? "
                    "Otherwise the candidate is not the model you meant to test"
                )
        exe = suite.server.command[0]
        if "{" not in exe and find_executable(exe) is None:
            warnings.append(
                f"server.command: {exe!r} is not on PATH (nor beside {sys.executable}) here; "
                "launching would fail"
            )
    else:
        urls = {arm: suite.endpoint_url(arm) or "" for arm in plan.arms}
        ids = {arm: suite.model(arm).id for arm in plan.arms}
        if both and _same_url(urls["candidate"], urls["incumbent"]) and len(set(ids.values())) == 1:
            warnings.append(
                f"both arms are model {ids['candidate']!r} at {redact_url(urls['candidate'])}: "
                "an A/A run? Otherwise the candidate is not the model you meant to test"
            )
        if suite.server.metrics_path is not None and any(
            c.metric == "peak_rss" for c in suite.gate.checks
        ):
            warnings.append(
                "peak_rss in url mode is read from the server's "
                f"{suite.server.metrics_path} (process_resident_memory_bytes): vLLM exports "
                "it, llama-server does not (the check is then inconclusive)"
            )
    return warnings


def _same_file(a: Path, b: Path) -> str | None:
    """Why two model files are the same ("same path", "same sha256"), or None.

    Only files of equal size are hashed, so different models cost a ``stat`` each.
    """
    if a == b:
        return "same path"
    try:
        if a.stat().st_size == b.stat().st_size and file_sha256(a) == file_sha256(b):
            return "same sha256"
    except OSError:
        return None
    return None


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/").casefold() == b.rstrip("/").casefold()
