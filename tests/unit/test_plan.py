"""Planning: interleaved round order, and every up-front check with its file:line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from releasegate.errors import SuiteError
from releasegate.plan import Plan, build_plan, interleave
from releasegate.preview import ASSUMED_STARTUP_S, ASSUMED_TOKENS_PER_S, describe
from releasegate.suite import load_suite

SUITE = """\
name: p
server: {{url: "http://127.0.0.1:1"}}
candidate: {{id: a}}
incumbent: {{id: b}}
eval:
  - name: e
    dataset: {{items: [{{id: "1", q: hi, answer: x}}, {{id: "2", answer: y}}]}}
    template: "{template}"
    scorers: [{scorer}]
load:
  - {{name: l, prompts: [hi], requests_per_round: 2, rounds: 3}}
gate:
  checks: [{{name: q, metric: quality, margin: 0.1, owner: o}}]
"""

LAUNCHED = """\
name: launched
server:
  command: [srv, -m, "{{model_path}}", --port, "{{port}}"{extra_arg}]
candidate: {{id: a, source: {cand}}}
incumbent: {{id: b, source: {inc}}}
eval:
  - name: e
    dataset: {{items: [{{q: one}}, {{q: two}}, {{q: three}}]}}
    template: "{{{{ q }}}}"
    max_tokens: 20
    concurrency: 2
    scorers: [{{kind: regex, pattern: "o"}}]
load:
  - {{name: l, prompts: [hi], requests_per_round: 10, rounds: 4, concurrency: 5,
      max_tokens: 8, warmup_requests: 1}}
gate:
  checks: [{{name: t, metric: ttft_p95, margin: 0.1, owner: o}}]
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def plan_of(tmp_path: Path, text: str) -> Plan:
    return build_plan(load_suite(write(tmp_path, text)))


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SuiteError) as info:
        plan_of(tmp_path, text)
    return info.value.problems


def url_suite(template: str = "{{ q | default('') }}", scorer: str = "{kind: exact}") -> str:
    return SUITE.format(template=template, scorer=scorer)


def models(tmp_path: Path, cand: bytes = b"model A", inc: bytes = b"model B") -> dict[str, str]:
    (tmp_path / "a.gguf").write_bytes(cand)
    (tmp_path / "b.gguf").write_bytes(inc)
    return {"cand": "{path: a.gguf}", "inc": "{path: b.gguf}", "extra_arg": ""}


# --------------------------------------------------------------------------- order


def test_rounds_alternate_abba(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, url_suite())
    order = [(r.arm[0], r.index) for r in plan.rounds]
    assert order == [("c", 0), ("i", 0), ("i", 1), ("c", 1), ("c", 2), ("i", 2)]
    assert plan.total_eval_requests == 4
    assert interleave(plan.loaded.suite.load[0]) == plan.rounds


# --------------------------------------------------------------------------- templates


def test_template_syntax_error_points_at_the_template(tmp_path: Path) -> None:
    found = problems_of(tmp_path, url_suite(template="{{ q "))
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 's.yaml'}:8: eval[0].template: template line 1: ")


def test_every_item_is_rendered_and_a_missing_field_names_the_item(tmp_path: Path) -> None:
    found = problems_of(tmp_path, url_suite(template="{{ q }}"))
    assert found == [
        f"{tmp_path / 's.yaml'}:8: eval[0].template: template line 1: item '2': "
        "'q' is undefined (the item's fields: answer, id)"
    ]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 1/0 }}", "ZeroDivisionError: division by zero"),
        ("{{ q.__class__ }}", "SecurityError: access to attribute '__class__'"),
        ("{{ 'x' * 100000000 }}", "SecurityError: repetition result is too large"),
        ("{{ 10 ** 100000 }}", "SecurityError: the power is too large"),
    ],
)
def test_templates_that_raise_are_caught(tmp_path: Path, template: str, message: str) -> None:
    found = problems_of(tmp_path, url_suite(template=template))
    assert len(found) == 2  # one per item
    assert all(p.startswith(f"{tmp_path / 's.yaml'}:8: eval[0].template:") for p in found)
    assert message in found[0] and "item '1'" in found[0] and "item '2'" in found[1]


def test_error_in_a_block_template_points_at_its_own_line(tmp_path: Path) -> None:
    text = url_suite().replace(
        "    template: \"{{ q | default('') }}\"",
        "    template: |\n      Question: {{ q | default('') }}\n      {{ 1/0 }}\n      Answer:",
    )
    found = problems_of(tmp_path, text)
    # the template key is on line 8, its body starts on line 9: template line 2 is line 10
    assert found[0].startswith(
        f"{tmp_path / 's.yaml'}:10: eval[0].template: template line 2: item '1': ZeroDivisionError"
    )


def test_many_failing_items_are_summarised(tmp_path: Path) -> None:
    items = ", ".join(f"{{id: i{n}}}" for n in range(40))
    text = url_suite(template="{{ q }}").replace(
        '[{id: "1", q: hi, answer: x}, {id: "2", answer: y}]', f"[{items}]"
    )
    found = problems_of(
        tmp_path, text.replace("scorers: [{kind: exact}]", "scorers: [{kind: regex, pattern: x}]")
    )
    assert len(found) == 6 and found[-1].endswith("… and 35 more item(s)")


def test_scorer_and_dataset_problems_have_their_lines(tmp_path: Path) -> None:
    found = problems_of(tmp_path, url_suite(scorer="{kind: numeric}"))
    at = f"{tmp_path / 's.yaml'}:9: eval[0].scorers[0]: scorer numeric"
    assert found == [f"{at}: item '1': 'x' is not a number", f"{at}: item '2': 'y' is not a number"]
    found = problems_of(tmp_path, url_suite(scorer="{kind: python, callable: 'no_such_mod:f'}"))
    assert "cannot import 'no_such_mod'" in found[0] and ":9: eval[0].scorers[0]:" in found[0]
    text = url_suite().replace(
        '{items: [{id: "1", q: hi, answer: x}, {id: "2", answer: y}]}', "{path: nope.jsonl}"
    )
    found = problems_of(tmp_path, text)
    assert found == [
        f"{tmp_path / 's.yaml'}:7: eval[0].dataset: {tmp_path / 'nope.jsonl'}: no such dataset file"
    ]


# --------------------------------------------------------------------------- models


def test_model_files_are_resolved(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, LAUNCHED.format(**models(tmp_path)))
    assert plan.arms["candidate"].model_path == (tmp_path / "a.gguf").resolve()
    assert plan.warnings == (
        f"server.command: 'srv' is not on PATH (nor beside {sys.executable}) here; "
        "launching would fail",
    )


def test_a_missing_model_file_is_a_problem_at_its_source(tmp_path: Path) -> None:
    spec = {**models(tmp_path), "inc": "{path: missing.gguf}"}
    found = problems_of(tmp_path, LAUNCHED.format(**spec))
    assert found == [
        f"{tmp_path / 's.yaml'}:5: incumbent.source: model file "
        f"{tmp_path / 'missing.gguf'} does not exist"
    ]


def test_no_models_skips_resolution(tmp_path: Path) -> None:
    spec = {**models(tmp_path), "inc": "{path: missing.gguf}"}
    plan = build_plan(load_suite(write(tmp_path, LAUNCHED.format(**spec))), resolve_models=False)
    assert plan.arms["incumbent"].model_path is None


def test_factories_are_called_and_their_failures_reported(tmp_path: Path, monkeypatch) -> None:
    module = tmp_path / "rg_test_factories.py"
    module.write_text(
        f"calls = []\n"
        f"def good():\n    calls.append(1)\n    return {str(tmp_path / 'a.gguf')!r}\n"
        "def broken():\n    raise RuntimeError('download failed')\n"
        "not_callable = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {
        **models(tmp_path),
        "cand": "{factory: 'rg_test_factories:good'}",
        "inc": "{factory: 'rg_test_factories:broken'}",
    }
    found = problems_of(tmp_path, LAUNCHED.format(**spec))
    assert found == [
        f"{tmp_path / 's.yaml'}:5: incumbent.source: model factory "
        "'rg_test_factories:broken' failed: download failed"
    ]
    assert sys.modules["rg_test_factories"].calls == [1]
    spec["inc"] = "{factory: 'rg_test_factories:not_callable'}"
    assert "is not callable" in problems_of(tmp_path, LAUNCHED.format(**spec))[0]
    spec["inc"] = "{factory: ':x'}"
    assert "cannot be imported" in problems_of(tmp_path, LAUNCHED.format(**spec))[0]


def test_unknown_command_placeholders_are_found(tmp_path: Path) -> None:
    spec = {**models(tmp_path), "extra_arg": ', "--threads={thread}"'}
    found = problems_of(tmp_path, LAUNCHED.format(**spec))
    assert len(found) == 1
    assert found[0].startswith(
        f"{tmp_path / 's.yaml'}:3: server.command[5]: unknown placeholder {{thread}}"
    )


# --------------------------------------------------------------------------- warnings


def test_same_model_file_warns_by_path_and_by_sha256(tmp_path: Path) -> None:
    spec = {**models(tmp_path), "inc": "{path: a.gguf}"}
    (warning,) = [w for w in plan_of(tmp_path, LAUNCHED.format(**spec)).warnings if "same" in w]
    assert warning.startswith("both arms run the same model file (same path)")
    copy = models(tmp_path, cand=b"same bytes", inc=b"same bytes")
    (warning,) = [w for w in plan_of(tmp_path, LAUNCHED.format(**copy)).warnings if "same" in w]
    assert warning.startswith("both arms run the same model file (same sha256)")
    other = models(tmp_path, cand=b"same size", inc=b"SAME SIZE")
    assert not [w for w in plan_of(tmp_path, LAUNCHED.format(**other)).warnings if "same" in w]


def test_same_url_and_model_id_warns(tmp_path: Path) -> None:
    text = url_suite().replace("incumbent: {id: b}", "incumbent: {id: a}")
    (warning,) = plan_of(tmp_path, text).warnings
    assert warning.startswith("both arms are model 'a' at http://127.0.0.1:1")
    text = text.replace("candidate: {id: a}", "candidate: {id: a, url: 'http://127.0.0.1:2'}")
    assert plan_of(tmp_path, text).warnings == ()
    assert plan_of(tmp_path, url_suite()).warnings == ()  # same url, other model id


def test_peak_rss_in_url_mode_warns_about_the_metrics_it_needs(tmp_path: Path) -> None:
    text = url_suite().replace(
        "checks: [", "checks: [{name: m, metric: peak_rss, margin: 0.1, owner: o}, "
    )
    (warning,) = plan_of(tmp_path, text).warnings
    assert "process_resident_memory_bytes" in warning and "llama-server does not" in warning


# --------------------------------------------------------------------------- preview


def test_preview_counts_requests_rounds_and_estimates_the_duration(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, LAUNCHED.format(**models(tmp_path)))
    lines = describe(plan)
    assert "eval e: 3 items, max_tokens 20, concurrency 2" in lines
    assert "requests per arm: 3 eval + 44 load = 47; arms: candidate, incumbent" in lines
    assert (
        "rounds: 8 in all, A B B A order; sequential stopping may end them after 3 round pairs"
        in lines
    )
    # eval: 2 waves x 20 tokens; load: 4 rounds x (2 waves x 8 + 1 warm-up wave x 8) tokens
    tokens_per_arm = 2 * 20 + 4 * (2 * 8 + 8)
    expected = 2 * (tokens_per_arm / ASSUMED_TOKENS_PER_S + ASSUMED_STARTUP_S)
    (line,) = [x for x in lines if x.startswith("estimated duration")]
    assert line.startswith(f"estimated duration: ~{expected:.0f} s (rough")


def test_preview_in_url_mode_has_no_duration(tmp_path: Path) -> None:
    lines = describe(plan_of(tmp_path, url_suite()))
    assert "estimated duration: unknown (url mode: the endpoints' speed is not known)" in lines
    assert "candidate: a at http://127.0.0.1:1" in lines
