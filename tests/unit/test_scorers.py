"""Tests for the scorers: each kind passing, failing, and on hostile or odd output."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from releasegate.errors import SuiteError
from releasegate.suite.models import DatasetSpec, ScorerSpec
from releasegate.workloads.items import EvalItem, load_items
from releasegate.workloads.scorers import (
    Score,
    load_python_scorer,
    score,
    scorer_name,
    validate_scorer,
)

SPEC = TypeAdapter(ScorerSpec)
HOSTILE = [
    "",
    "<script>alert(1)</script>",
    "\udcff\udcfe bytes \x00\x1b[31m",
    "{" * 5000,
    "[" * 100_000,
    "x" * 1_000_000,
]


def spec(**kw: Any) -> Any:
    return SPEC.validate_python(kw)


def item(**fields: Any) -> EvalItem:
    return EvalItem("i1", None, fields)


def value(sp: Any, output: str, it: EvalItem) -> float:
    result = score(sp, output, it)
    assert isinstance(result, Score) and 0.0 <= result.value <= 1.0 and result.detail
    return result.value


def test_scorer_name_is_the_kind() -> None:
    assert scorer_name(spec(kind="exact")) == "exact"
    assert scorer_name(spec(kind="choice", labels=["a", "b"])) == "choice"


# --------------------------------------------------------------------------- exact


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("Paris", 1.0),
        ("  paris.\n", 1.0),
        ('"Paris"', 1.0),
        ("'PARIS!'", 1.0),
        ("“Paris.”", 1.0),
        ("Paris, France", 0.0),
        ("The answer is Paris", 0.0),
        ("Pari", 0.0),
    ],
)
def test_exact(output: str, expected: float) -> None:
    assert value(spec(kind="exact"), output, item(answer="Paris")) == expected


def test_exact_case_sensitive_and_no_strip() -> None:
    assert value(spec(kind="exact", case_sensitive=True), "paris", item(answer="Paris")) == 0.0
    assert value(spec(kind="exact", strip=False), "Paris.", item(answer="Paris")) == 0.0
    assert value(spec(kind="exact", strip=False), "paris", item(answer="Paris")) == 1.0


def test_exact_compares_numbers_as_text() -> None:
    assert value(spec(kind="exact"), "42.", item(answer=42)) == 1.0


def test_exact_missing_field_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="item 'i1' has no field 'answer'"):
        score(spec(kind="exact"), "x", item(question="q"))


# --------------------------------------------------------------------------- contains


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("The answer is 4.", 1.0),
        ("4", 1.0),
        ("2 + 2 = 4", 1.0),
        ("14", 0.0),
        ("41", 0.0),
        ("4.5", 0.0),
        ("-4", 0.0),
        ("1,4", 0.0),
        ("four", 0.0),
    ],
)
def test_contains_whole_numbers(output: str, expected: float) -> None:
    assert value(spec(kind="contains"), output, item(answer="4")) == expected


def test_contains_whole_words_and_case() -> None:
    sp = spec(kind="contains")
    assert value(sp, "It is a CAT.", item(answer="cat")) == 1.0
    assert value(sp, "category", item(answer="cat")) == 0.0
    assert value(sp, "in New  York", item(answer="New York")) == 0.0
    assert value(sp, "in new york city", item(answer="New York")) == 1.0
    assert value(spec(kind="contains", case_sensitive=True), "cat", item(answer="Cat")) == 0.0


def test_contains_expected_with_regex_metacharacters_is_literal() -> None:
    sp = spec(kind="contains")
    assert value(sp, "use C++ here", item(answer="C++")) == 1.0
    assert value(sp, "use CCC here", item(answer="C.C")) == 0.0


# --------------------------------------------------------------------------- regex


def test_regex() -> None:
    sp = spec(kind="regex", pattern=r"^\s*yes\b", flags=["IGNORECASE"])
    assert value(sp, "  YES, indeed", item()) == 1.0
    assert value(sp, "no, not yes", item()) == 0.0


def test_regex_multiline_flag() -> None:
    sp = spec(kind="regex", pattern=r"^done$", flags=["MULTILINE"])
    assert value(sp, "work\ndone\n", item()) == 1.0
    assert value(spec(kind="regex", pattern=r"^done$"), "work\ndone\n", item()) == 0.0


def test_regex_bad_pattern_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="bad pattern"):
        validate_scorer(spec(kind="regex", pattern="(unclosed"), [])


# --------------------------------------------------------------------------- choice

SENTIMENT = {"kind": "choice", "labels": ["positive", "negative"]}


@pytest.mark.parametrize(
    ("output", "label", "expected", "detail"),
    [
        ("Positive", "positive", 1.0, "named 'positive'"),
        ("The sentiment is negative.", "negative", 1.0, "named 'negative'"),
        ("negative", "positive", 0.0, "named 'negative', expected 'positive'"),
        ("positive or negative?", "negative", 0.0, "ambiguous: names negative, positive"),
        ("positive or negative?", "positive", 0.0, "ambiguous: names negative, positive"),
        ("Positive. Very positive!", "positive", 1.0, "named 'positive'"),
        ("I think it's good", "positive", 0.0, "no label"),
        ("nonpositive", "positive", 0.0, "no label"),
        ("", "positive", 0.0, "no label"),
    ],
)
def test_choice(output: str, label: str, expected: float, detail: str) -> None:
    result = score(spec(**SENTIMENT), output, item(label=label))
    assert (result.value, result.detail) == (expected, detail)


def test_choice_prefers_the_longest_label_at_a_position() -> None:
    sp = spec(kind="choice", labels=["very positive", "positive"])
    assert value(sp, "very positive!", item(label="Very Positive")) == 1.0


def test_choice_unknown_expected_label_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="'neutral' is not one of"):
        score(spec(**SENTIMENT), "positive", item(label="neutral"))


# --------------------------------------------------------------------------- json

JSON_ANSWER = {
    "kind": "json",
    "schema": {
        "type": "object",
        "properties": {"answer": {"type": ["string", "number"]}},
        "required": ["answer"],
    },
    "expect_fields": {"answer": "answer"},
}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"answer": "blue"}', 1.0),
        ('Sure! Here it is:\n```json\n{"answer": "Blue "}\n```\nDone.', 1.0),
        ('Here: {"answer": "blue", "extra": 1} and {"answer": "red"}', 1.0),
        ('{"answer": "red"}', 0.0),
        ('{"colour": "blue"}', 0.0),
        ('{"answer": ["blue"]}', 0.0),
        ("answer: blue", 0.0),
        ('{"answer": "blue"', 0.0),
        ('["blue"]', 0.0),
    ],
)
def test_json_with_schema_and_expected_field(output: str, expected: float) -> None:
    assert value(spec(**JSON_ANSWER), output, item(answer="blue")) == expected


def test_json_numbers_and_booleans_compare_by_value() -> None:
    sp = spec(kind="json", expect_fields={"n": "answer"})
    assert value(sp, '{"n": 4}', item(answer="4")) == 1.0
    assert value(sp, '{"n": 4.0}', item(answer="4")) == 1.0
    assert value(sp, '{"n": "4"}', item(answer=4)) == 1.0
    assert value(sp, '{"n": 5}', item(answer="4")) == 0.0
    assert value(sp, '{"n": true}', item(answer="True")) == 1.0
    assert value(sp, '{"n": null}', item(answer="4")) == 0.0


def test_json_without_expectations_only_needs_valid_json() -> None:
    sp = spec(kind="json")
    assert value(sp, "prose [1, 2] prose", item()) == 1.0
    assert value(sp, "{'single': 'quotes'}", item()) == 0.0


def test_json_schema_failure_detail() -> None:
    result = score(spec(**JSON_ANSWER), '{"answer": {"deep": 1}}', item(answer="x"))
    assert result.value == 0.0 and result.detail.startswith("schema:")


def test_json_invalid_schema_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="schema"):
        validate_scorer(spec(kind="json", schema={"type": "no-such-type"}), [])


# --------------------------------------------------------------------------- numeric


@pytest.mark.parametrize(
    ("output", "answer", "expected"),
    [
        ("12", "12", 1.0),
        ("The answer is 12.", "12", 1.0),
        ("= 42", "42", 1.0),
        ("-3", "-3", 1.0),
        ("\u22123 degrees", "-3", 1.0),
        ("1,234 apples", "1234", 1.0),
        ("2.5", "2.5", 1.0),
        ("It is 1e3", "1000", 1.0),
        ("12", "13", 0.0),
        ("3", "-3", 0.0),
        ("twelve", "12", 0.0),
        ("H2O then 12", "12", 1.0),
        ("", "1", 0.0),
    ],
)
def test_numeric(output: str, answer: str, expected: float) -> None:
    assert value(spec(kind="numeric"), output, item(answer=answer)) == expected


def test_numeric_first_number_wins() -> None:
    assert value(spec(kind="numeric"), "7 + 5 = 12", item(answer="12")) == 0.0


def test_numeric_pick_last_number() -> None:
    last = spec(kind="numeric", pick="last")
    assert value(last, "7 + 5 = 12", item(answer="12")) == 1.0
    assert value(last, "12 is not it, 13", item(answer="12")) == 0.0
    assert value(last, "no digits", item(answer="12")) == 0.0


def test_numeric_tolerance_absolute_and_relative() -> None:
    it = item(answer="100")
    assert value(spec(kind="numeric", tolerance=0.5), "100.4", it) == 1.0
    assert value(spec(kind="numeric", tolerance=0.5), "100.6", it) == 0.0
    assert value(spec(kind="numeric", tolerance=0.05, relative=True), "104", it) == 1.0
    assert value(spec(kind="numeric", tolerance=0.05, relative=True), "106", it) == 0.0
    assert value(spec(kind="numeric"), "0.30000000000000004", item(answer="0.3")) == 1.0


def test_numeric_non_numeric_expected_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="'abc' is not a number"):
        score(spec(kind="numeric"), "1", item(answer="abc"))


# --------------------------------------------------------------------------- hostile output


@pytest.mark.parametrize("output", HOSTILE, ids=lambda s: f"len{len(s)}")
@pytest.mark.parametrize(
    "sp",
    [
        {"kind": "exact"},
        {"kind": "contains"},
        {"kind": "regex", "pattern": "alert"},
        SENTIMENT,
        JSON_ANSWER,
        {"kind": "numeric"},
    ],
    ids=lambda s: s["kind"],
)
def test_hostile_output_scores_without_crashing(sp: dict, output: str) -> None:
    result = score(spec(**sp), output, item(answer="4", label="positive"))
    assert result.value in (0.0, 1.0)
    assert len(result.detail) < 300
    if sp["kind"] != "regex":  # none of these outputs holds the right answer
        assert result.value == 0.0


def test_script_tag_is_only_matched_as_text() -> None:
    out = "<script>alert(1)</script>"
    assert value(spec(kind="regex", pattern=r"<script>"), out, item()) == 1.0
    assert value(spec(kind="numeric"), out, item(answer="1")) == 1.0


# --------------------------------------------------------------------------- python


@pytest.fixture()
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any) -> str:
    name = f"user_scorer_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')}"
    code = """
        def ok(output, fields):
            return output.strip() == fields["answer"]

        def half(output, fields):
            return 0.5, "half marks"

        def boom(output, fields):
            raise RuntimeError("scorer bug " + output[:10])

        def bad(output, fields):
            return 7

        def nan(output, fields):
            return float("nan")

        def mutate(output, fields):
            fields["answer"] = "changed"
            return True

        NOT_CALLABLE = 3
    """
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(code))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_python_scorer_results(user_module: str) -> None:
    def run(fn: str, output: str = "yes") -> Score:
        return score(spec(kind="python", callable=f"{user_module}:{fn}"), output, it)

    it = item(answer="yes")
    assert run("ok") == Score(1.0, "python scorer")
    assert run("ok", "no").value == 0.0
    assert run("half") == Score(0.5, "half marks")
    boom = run("boom", "<script>")
    assert boom.value == 0.0 and "RuntimeError" in boom.detail and "scorer bug" in boom.detail
    assert run("bad").value == 0.0 and "scorer returned 7" in run("bad").detail
    assert run("nan").value == 0.0
    assert run("mutate").value == 1.0
    assert it.fields == {"answer": "yes"}


def test_python_scorer_import_errors(user_module: str) -> None:
    with pytest.raises(SuiteError, match="cannot import 'no_such_module_xyz'"):
        load_python_scorer("no_such_module_xyz:fn")
    with pytest.raises(SuiteError, match="not of the form"):
        load_python_scorer("justamodule")
    with pytest.raises(SuiteError, match="not a callable"):
        load_python_scorer(f"{user_module}:NOT_CALLABLE")
    with pytest.raises(SuiteError, match="not a callable"):
        load_python_scorer(f"{user_module}:missing")
    with pytest.raises(SuiteError, match="cannot import"):
        validate_scorer(spec(kind="python", callable="no_such_module_xyz:fn"), [])


def test_python_scorer_module_failing_at_import(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "user_scorer_broken.py").write_text("raise ValueError('broken at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SuiteError, match="ValueError: broken at import"):
        load_python_scorer("user_scorer_broken:fn")


# --------------------------------------------------------------------------- validation


def test_validate_scorer_lists_every_problem() -> None:
    items = [
        EvalItem("a", None, {"answer": "x", "label": "maybe"}),
        EvalItem("b", None, {"question": "q"}),
    ]
    with pytest.raises(SuiteError) as err:
        validate_scorer(spec(**SENTIMENT), items)
    assert err.value.problems == [
        "scorer choice: item 'a': 'maybe' is not one of ['positive', 'negative']",
        "scorer choice: item 'b' has no field 'label'",
    ]
    with pytest.raises(SuiteError, match="'x' is not a number"):
        validate_scorer(spec(kind="numeric"), items[:1])
    with pytest.raises(SuiteError, match="'answer' is empty"):
        validate_scorer(spec(kind="contains"), [item(answer=" ")])


# --------------------------------------------------------------------------- demo configs

DEMO_SCORERS: dict[str, list[dict]] = {
    "facts": [{"kind": "contains"}, {"kind": "exact"}],
    "arithmetic": [{"kind": "numeric"}, {"kind": "contains"}],
    "classify": [SENTIMENT],
    "json": [JSON_ANSWER],
}


def _good_output(cat: str, it: EvalItem) -> str:
    if cat == "classify":
        return f"{it.fields['label'].capitalize()}."
    if cat == "json":
        return f"```json\n{json.dumps({'answer': it.fields['answer']})}\n```"
    return f" {it.fields['answer']}\n"


@pytest.mark.parametrize("cat", sorted(DEMO_SCORERS))
def test_demo_scorer_configs_fit_the_demo_items(cat: str) -> None:
    data = Path(__file__).resolve().parents[2] / "suites" / "data"
    items = load_items(DatasetSpec(path=f"demo_{cat}.jsonl"), data)
    for sp_dict in DEMO_SCORERS[cat]:
        sp = spec(**sp_dict)
        validate_scorer(sp, items)
        assert [value(sp, _good_output(cat, it), it) for it in items] == [1.0] * len(items)
        # an answer from another item of the same category is mostly wrong
        shifted = [value(sp, _good_output(cat, b), a) for a, b in itertools.pairwise(items)]
        assert sum(shifted) <= len(shifted) // 2
