"""Planning: interleaved round order and up-front checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from releasegate.errors import SuiteError
from releasegate.plan import build_plan, interleave
from releasegate.suite import parse_suite
from releasegate.suite.loader import LoadedSuite

SUITE = """\
name: p
server: {{url: "http://127.0.0.1:1"}}
candidate: {{id: a}}
incumbent: {{id: b}}
eval:
  - name: e
    dataset: {{items: [{{id: "1", q: hi, answer: x}}]}}
    template: "{template}"
    scorers: [{scorer}]
load:
  - {{name: l, prompts: [hi], requests_per_round: 2, rounds: 3}}
gate:
  checks: [{{name: q, metric: quality, margin: 0.1, owner: o}}]
"""


def loaded(tmp_path: Path, template: str = "{{ q }}", scorer: str = "{kind: exact}"):
    suite = parse_suite(SUITE.format(template=template, scorer=scorer))
    return LoadedSuite(suite=suite, path=tmp_path / "s.yaml", sha256="0")


def test_rounds_alternate_abba(tmp_path: Path) -> None:
    plan = build_plan(loaded(tmp_path))
    order = [(r.arm[0], r.index) for r in plan.rounds]
    assert order == [("c", 0), ("i", 0), ("i", 1), ("c", 1), ("c", 2), ("i", 2)]
    assert plan.total_eval_requests == 2
    assert interleave(plan.loaded.suite.load[0]) == plan.rounds


def test_template_and_scorer_problems_are_found_before_launch(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as info:
        build_plan(loaded(tmp_path, template="{{ q ", scorer="{kind: numeric}"))
    text = "\n".join(info.value.problems)
    assert "eval[0] (e)" in text and "template" in text

    with pytest.raises(SuiteError) as info:
        build_plan(loaded(tmp_path, scorer="{kind: numeric}"))
    assert "'x' is not a number" in "\n".join(info.value.problems)

    with pytest.raises(SuiteError) as info:
        build_plan(loaded(tmp_path, scorer="{kind: python, callable: 'no_such_mod:f'}"))
    assert "cannot import 'no_such_mod'" in "\n".join(info.value.problems)
