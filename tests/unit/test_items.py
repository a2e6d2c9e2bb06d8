"""Tests for eval item loading and prompt templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from releasegate.errors import SuiteError
from releasegate.suite.models import DatasetSpec
from releasegate.workloads import items as items_module
from releasegate.workloads.items import (
    EvalItem,
    check_template,
    compile_template,
    load_items,
    render_prompt,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "suites" / "data"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- inline


def test_inline_items_keep_ids_categories_and_fields() -> None:
    spec = DatasetSpec(
        items=[
            {"id": "a", "category": "facts", "question": "Q1", "answer": "1"},
            {"id": 7, "question": "Q2", "answer": "2"},
        ]
    )
    items = load_items(spec, Path("/nonexistent"))
    assert items == [
        EvalItem("a", "facts", {"id": "a", "category": "facts", "question": "Q1", "answer": "1"}),
        EvalItem("7", None, {"id": 7, "question": "Q2", "answer": "2"}),
    ]


def test_ids_default_to_row_numbers_when_no_row_has_an_id() -> None:
    spec = DatasetSpec(items=[{"q": "x"}, {"q": "y"}, {"q": "z"}], limit=2)
    items = load_items(spec, Path("."))
    assert [i.id for i in items] == ["0", "1"]
    assert [i.fields["q"] for i in items] == ["x", "y"]


def test_custom_id_and_category_fields() -> None:
    spec = DatasetSpec(
        items=[{"key": "k1", "group": "g", "q": "x"}], id_field="key", category_field="group"
    )
    (item,) = load_items(spec, Path("."))
    assert (item.id, item.category) == ("k1", "g")


def test_duplicate_ids_are_an_error_naming_both_rows() -> None:
    spec = DatasetSpec(items=[{"id": "a"}, {"id": "b"}, {"id": "a"}])
    with pytest.raises(SuiteError) as err:
        load_items(spec, Path("."))
    assert "duplicate id 'a'" in str(err.value)
    assert "item #2" in str(err.value) and "item #0" in str(err.value)


def test_a_row_missing_its_id_when_others_have_one_is_an_error() -> None:
    spec = DatasetSpec(items=[{"id": "a"}, {"q": "no id"}])
    with pytest.raises(SuiteError, match=r"item #1: missing id field 'id'"):
        load_items(spec, Path("."))


def test_limit_keeps_the_first_n() -> None:
    spec = DatasetSpec(items=[{"id": str(i)} for i in range(10)], limit=3)
    assert [i.id for i in load_items(spec, Path("."))] == ["0", "1", "2"]


# --------------------------------------------------------------------------- files


def test_jsonl_relative_path_resolves_against_base_dir(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    _jsonl(
        tmp_path / "data" / "e.jsonl",
        [
            {"id": "x1", "category": "c", "question": "Q", "answer": "4"},
            {"id": "x2", "question": "R", "answer": "5", "extra": {"k": 1}},
        ],
    )
    items = load_items(DatasetSpec(path="data/e.jsonl"), tmp_path)
    assert [i.id for i in items] == ["x1", "x2"]
    assert items[0].category == "c" and items[1].category is None
    # keys missing from a row are not invented as None
    assert "extra" not in items[0].fields and items[1].fields["extra"] == {"k": 1}
    assert "category" not in items[1].fields


def test_json_array_file(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps([{"id": "a", "answer": "1"}, {"id": "b", "answer": "2"}]))
    items = load_items(DatasetSpec(path=str(path)), Path("/elsewhere"))
    assert [(i.id, i.fields["answer"]) for i in items] == [("a", "1"), ("b", "2")]


def test_csv_values_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text('id,question,answer\n007,"Hello, world",4\nb,x,\n', encoding="utf-8")
    items = load_items(DatasetSpec(path="e.csv"), tmp_path)
    assert [i.id for i in items] == ["007", "b"]
    assert items[0].fields == {"id": "007", "question": "Hello, world", "answer": "4"}
    assert items[1].fields["answer"] == ""


def test_csv_without_id_column_uses_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("question,answer\na,1\nb,2\nc,3\n", encoding="utf-8")
    items = load_items(DatasetSpec(path="e.csv", limit=2), tmp_path)
    assert [(i.id, i.fields["question"]) for i in items] == [("0", "a"), ("1", "b")]


def test_csv_ragged_row_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("id,answer\na,1\nb,2,3\n", encoding="utf-8")
    with pytest.raises(SuiteError, match=r"e\.csv:3: 3 cells, but the header has 2"):
        load_items(DatasetSpec(path="e.csv"), tmp_path)


def test_header_only_csv_has_no_items(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("id,answer\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="no items"):
        load_items(DatasetSpec(path="e.csv"), tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as err:
        load_items(DatasetSpec(path="nope.jsonl"), tmp_path)
    assert err.value.problems == [f"{tmp_path / 'nope.jsonl'}: no such dataset file"]


def test_unsupported_extension(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("hi")
    with pytest.raises(SuiteError, match=r"unsupported dataset file type '\.txt'"):
        load_items(DatasetSpec(path="e.txt"), tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(SuiteError, match="empty"):
        load_items(DatasetSpec(path="e.jsonl"), tmp_path)


def test_malformed_jsonl_row_is_a_suite_error(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text('{"id": "a"}\nnot json\n')
    with pytest.raises(SuiteError) as err:
        load_items(DatasetSpec(path="e.jsonl"), tmp_path)
    assert str(err.value).startswith(f"{tmp_path / 'e.jsonl'}: cannot read the dataset:")


def test_duplicate_ids_in_a_file(tmp_path: Path) -> None:
    _jsonl(tmp_path / "e.jsonl", [{"id": "a"}, {"id": "a"}])
    with pytest.raises(SuiteError, match="duplicate id 'a'"):
        load_items(DatasetSpec(path="e.jsonl"), tmp_path)


def test_loading_writes_no_cache_next_to_the_data(tmp_path: Path) -> None:
    _jsonl(tmp_path / "e.jsonl", [{"id": "a"}])
    load_items(DatasetSpec(path="e.jsonl"), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.jsonl"]


# --------------------------------------------------------------------------- templates


def test_render_prompt_fills_fields_without_escaping() -> None:
    item = EvalItem("1", None, {"question": "Is 1 < 2 & 3 > 2?"})
    out = render_prompt("Question: {{ question }}\nAnswer:", item)
    assert out == "Question: Is 1 < 2 & 3 > 2?\nAnswer:"


def test_missing_field_names_the_field_and_the_item() -> None:
    item = EvalItem("q7", None, {"prompt": "hi"})
    with pytest.raises(SuiteError) as err:
        render_prompt("Q: {{ question }}", item)
    message = str(err.value)
    assert "'question' is undefined" in message
    assert "'q7'" in message and "prompt" in message


def test_template_syntax_error_is_reported_up_front() -> None:
    with pytest.raises(SuiteError, match=r"template line 2: .*"):
        compile_template("ok\n{{ question ")


def test_sandbox_blocks_python_internals() -> None:
    item = EvalItem("1", None, {"question": "x"})
    with pytest.raises(SuiteError, match="SecurityError"):
        render_prompt("{{ question.__class__.__mro__[1].__subclasses__() }}", item)


# --------------------------------------------------------------------------- demo data


def test_demo_eval_set_shape() -> None:
    by_cat: dict[str, list[EvalItem]] = {}
    for cat in ("arithmetic", "classify", "facts", "json"):
        by_cat[cat] = load_items(DatasetSpec(path=f"demo_{cat}.jsonl"), DEMO)
        assert {item.category for item in by_cat[cat]} == {cat}
    items = [item for members in by_cat.values() for item in members]
    assert len(items) >= 96
    assert len({item.id for item in items}) == len(items)
    assert all(len(v) >= 24 for v in by_cat.values())
    assert all(str(i.fields["answer"]).strip() for i in items)
    labels = [i.fields["label"] for i in by_cat["classify"]]
    assert sorted(set(labels)) == ["negative", "positive"]
    assert labels.count("positive") == labels.count("negative")


DEMO_TEMPLATES = {
    "facts": "Answer with one word.\nQuestion: What is the capital of Italy?\nAnswer: Rome\n"
    "Question: {{ question }}\nAnswer:",
    "arithmetic": "Answer with a number only.\nQuestion: What is 1 + 1?\nAnswer: 2\n"
    "Question: {{ question }}\nAnswer:",
    "classify": "Is the review positive or negative?\nReview: The room was dirty.\n"
    "Sentiment: negative\nReview: {{ question }}\nSentiment:",
    "json": 'Reply with JSON only.\nTask: Return a JSON object with the key "answer" set to '
    'the string "ok".\nJSON: {"answer": "ok"}\nTask: {{ question }}\nJSON:',
}


@pytest.mark.parametrize("cat", sorted(DEMO_TEMPLATES))
def test_demo_templates_render_every_item(cat: str) -> None:
    items = load_items(DatasetSpec(path=f"demo_{cat}.jsonl"), DEMO)
    prompts = [render_prompt(DEMO_TEMPLATES[cat], it) for it in items]
    for it, prompt in zip(items, prompts, strict=True):
        assert f"{it.fields['question']}\n" in prompt and prompt.endswith(":")
        # the few-shot example is not one of the items
        assert prompt.count(it.fields["question"]) == 1
    assert len(set(prompts)) == len(prompts)


def test_check_template_renders_every_item_and_caps_the_list() -> None:
    items = [EvalItem(str(n), None, {"q": "x"} if n % 2 else {}) for n in range(20)]
    found = check_template("line one\n{{ q }}", items, max_problems=3)
    assert [p.line for p in found] == [2, 2, 2, None]
    assert found[0].message == "item '0': 'q' is undefined (the item's fields: none)"
    assert found[-1].message == "… and 7 more item(s)"
    assert check_template("{{ q }}", items[1::2]) == []


def test_check_template_reports_a_syntax_error_once() -> None:
    items = [EvalItem(str(n), None, {"q": "x"}) for n in range(5)]
    (problem,) = check_template("ok\n{% if q %}", items)
    assert problem.line == 2 and "endif" in problem.message


def test_render_prompt_names_the_template_line() -> None:
    item = EvalItem("7", None, {"q": 0})
    with pytest.raises(SuiteError) as err:
        render_prompt("a\nb\n{{ 1 / q }}", item)
    assert err.value.problems == ["template line 3: item '7': ZeroDivisionError: division by zero"]


def test_a_dataset_file_over_the_limit_is_refused(tmp_path: Path, monkeypatch) -> None:
    path = _jsonl(tmp_path / "big.jsonl", [{"q": "x" * 100}] * 20)
    monkeypatch.setattr(items_module, "MAX_DATASET_BYTES", 1000)
    with pytest.raises(SuiteError, match=r"a dataset file may hold at most 1,000"):
        load_items(DatasetSpec(path=str(path)), tmp_path)
