"""Turn a validated suite into a run plan, checking everything that can be checked before launch.

Planning resolves model files, loads eval items, compiles prompt templates and imports
python scorers, so a broken suite fails (exit 2) before any server starts. It also fixes the
order of load rounds: the arms alternate A B B A … so that drift on a shared machine hits
both alike, and round *i* of one arm is paired with round *i* of the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from releasegate.errors import SuiteError
from releasegate.suite import ARMS, Arm, EvalWorkload, LoadedSuite, LoadWorkload, Suite
from releasegate.suite.sources import resolve_model_path
from releasegate.workloads.items import EvalItem, compile_template, load_items
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
    """Check and plan a suite.

    Args:
        loaded: the validated suite.
        resolve_models: locate model files (skip for ``validate``, which must stay fast
            and not write model files).
        arms: the arms to run; ``("candidate",)`` when a stored baseline stands in for the
            incumbent.

    Raises:
        SuiteError: every problem found, one line each.
    """
    suite, base = loaded.suite, loaded.base_dir
    problems: list[str] = []
    arm_plans: dict[Arm, ArmPlan] = {}
    for arm in arms:
        spec = suite.model(arm)
        path = None
        if resolve_models and spec.source is not None and suite.server.command is not None:
            try:
                path = resolve_model_path(spec.source, base)
            except SuiteError as exc:
                problems.extend(f"{loaded.path}: {arm}.source: {p}" for p in exc.problems)
        arm_plans[arm] = ArmPlan(arm, spec.id, path)

    evals: list[EvalPlan] = []
    for index, workload in enumerate(suite.eval):
        where = f"{loaded.path}: eval[{index}] ({workload.name})"
        try:
            items = load_items(workload.dataset, base)
            compile_template(workload.template)
            for scorer in workload.scorers:
                validate_scorer(scorer, items)
        except SuiteError as exc:
            problems.extend(f"{where}: {p}" for p in exc.problems)
            continue
        evals.append(EvalPlan(workload, items))

    if problems:
        raise SuiteError(problems)
    rounds = [r for workload in suite.load for r in interleave(workload) if r.arm in arms]
    return Plan(loaded=loaded, arms=arm_plans, evals=evals, rounds=rounds)
