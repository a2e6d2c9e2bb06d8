"""Hypothesis strategies for suite files: schema-shaped suites plus mutations.

Used by ``tests/unit/test_fuzz_validate.py`` (a few hundred examples) and
``benchmarks/fuzz_validate.py`` (≥ 10,000). Every document is written into a folder that
holds two small fake model files (``a.gguf``, ``b.gguf``) and a dataset (``data.jsonl``).

Import paths (``factory``, python scorers' ``callable``, ``package``) only ever come from
:data:`SAFE_IMPORTS`: validation imports them, and a factory is called.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result
from hypothesis import strategies as st

from releasegate.cli import main

SAFE_IMPORTS = ["rg_fuzz_missing:f", "json:no_such_name", "math:pi", ":x", "json:", "a:b:c"]
IMPORT_KEYS = {"factory", "callable", "package"}
GOOD_URLS = ["http://127.0.0.1:1", "https://h.example/v1", "http://[::1]:8000/"]
BAD_URLS = ["ftp://h/x", "localhost:8000", "http://", "", "http://[::1", "javascript:x", "a b"]
GOOD_TEMPLATES = ["{{ q }}", "Q: {{ q }}\nA:", "{{ q | upper }}", "plain"]
BAD_TEMPLATES = [
    "{{ 1/0 }}",
    "{{ nope }}",
    "{% for %}",
    "{{ q.__class__.__mro__ }}",
    "{{ 'x' * 10**9 }}",
    "{{ 10 ** 10 ** 10 ** 10 }}",
    "{{ range(10**9) | list }}",
    "{{ q ",
    "line\n{{ q.nope }}",
]
BAD_NAMES = ["request-errors", "x y", "", "ü"]
LOAD_METRICS = ["ttft_p95", "e2e_p95", "ttft_p99", "itl_p95", "output_tokens_per_s", "peak_rss"]
BAD_SOURCES = [
    {"path": "missing.gguf"},
    {"path": "~nobody_rg_fuzz/m.gguf"},
    {"package": "rg_fuzz_missing_pkg"},
    {"package": "json", "glob": "../*"},
    {"package": "json", "glob": ""},
    {"factory": "rg_fuzz_missing:f"},
    {"factory": "math:pi"},
    {"factory": "json:loads"},
]
BAD_SCORERS = [
    {"kind": "regex", "pattern": "("},
    {"kind": "json", "schema": {"type": 5}},
    {"kind": "numeric"},
    {"kind": "choice", "labels": ["only"]},
    {"kind": "nope"},
    {"kind": "python", "callable": "rg_fuzz_missing:f"},
]
DATASET_PATHS = ["data.jsonl", "missing.jsonl", "data.txt", "/dev/null.csv", ""]

numbers = st.one_of(
    st.integers(min_value=-3, max_value=50),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 10**30, -(10**30), 1e308, 2**63, 0.5]),
)
bad_values = st.one_of(
    st.sampled_from(BAD_URLS + BAD_TEMPLATES + BAD_NAMES + DATASET_PATHS),
    st.sampled_from(BAD_SOURCES + BAD_SCORERS).map(copy.deepcopy),  # mutated later
    numbers,
)
leaves = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12), bad_values)
junk = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def write_fixture_files(folder: Path) -> None:
    """The files a generated suite may refer to."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.gguf").write_bytes(b"fake model A")
    (folder / "b.gguf").write_bytes(b"fake model B")
    rows = [{"id": "1", "q": "hi", "answer": "x"}, {"id": "2", "q": "yo", "answer": "1"}]
    (folder / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


items = st.lists(
    st.fixed_dictionaries(
        {"q": st.text(max_size=8), "answer": st.sampled_from(["x", "1", "y"])},
        optional={"category": st.sampled_from(["a", "b"])},
    ),
    min_size=1,
    max_size=4,
).map(lambda rows: [{"id": str(i), **row} for i, row in enumerate(rows)])
good_scorers = st.sampled_from(
    [
        {"kind": "exact"},
        {"kind": "contains", "field": "answer"},
        {"kind": "regex", "pattern": "a+", "flags": ["IGNORECASE"]},
        {"kind": "choice", "labels": ["x", "y", "1"], "field": "answer"},
        {"kind": "json", "schema": {"type": "object"}},
        {"kind": "numeric", "tolerance": 0.1, "field": "category"},
    ]
)


@st.composite
def eval_workload(draw: st.DrawFn, index: int) -> dict[str, Any]:
    return {
        "name": f"e{index}",
        "dataset": {"items": draw(items)},
        "template": draw(st.sampled_from(GOOD_TEMPLATES)),
        "scorers": [draw(st.sampled_from([{"kind": "exact"}, {"kind": "contains"}]))],
        "max_tokens": draw(st.integers(1, 64)),
        "concurrency": draw(st.integers(1, 4)),
    }


@st.composite
def load_workload(draw: st.DrawFn, index: int) -> dict[str, Any]:
    workload: dict[str, Any] = {
        "name": f"l{index}",
        "prompts": draw(st.lists(st.text(max_size=8), min_size=1, max_size=3)),
        "concurrency": draw(st.integers(1, 4)),
        "rounds": draw(st.integers(1, 6)),
        "warmup_requests": draw(st.integers(0, 3)),
    }
    if draw(st.booleans()):
        workload["requests_per_round"] = draw(st.integers(1, 20))
    else:
        workload["duration_s"] = draw(st.floats(0.1, 30))
    return workload


@st.composite
def suites(draw: st.DrawFn) -> dict[str, Any]:
    """A valid suite shaped like the schema (launch or url mode, eval and/or load)."""
    launched = draw(st.booleans())
    data: dict[str, Any] = {"name": draw(st.sampled_from(["s", "demo-1", "a.b_c"]))}
    arms: dict[str, dict[str, Any]] = {
        "candidate": {"id": draw(st.sampled_from(["m1", "m2"]))},
        "incumbent": {"id": draw(st.sampled_from(["m1", "m2"]))},
    }
    if launched:
        extra = draw(st.lists(st.sampled_from(["{host}", "{model_id}", "-t", "2", "{x"])))
        data["server"] = {"command": ["srv", "-m", "{model_path}", "--port", "{port}", *extra]}
        for spec in arms.values():
            spec["source"] = {"path": draw(st.sampled_from(["a.gguf", "b.gguf"]))}
    else:
        data["server"] = {"metrics_path": draw(st.sampled_from(["/metrics", None]))}
        shared = draw(st.booleans())
        if shared:
            data["server"]["url"] = draw(st.sampled_from(GOOD_URLS))
        for spec in arms.values():
            if not shared or draw(st.booleans()):
                spec["url"] = draw(st.sampled_from(GOOD_URLS))
    data.update(arms)
    n_eval, n_load = draw(st.sampled_from([(1, 0), (0, 1), (1, 1), (2, 1), (1, 2)]))
    data["eval"] = [draw(eval_workload(i)) for i in range(n_eval)]
    data["load"] = [draw(load_workload(i)) for i in range(n_load)]
    metrics = (["quality"] if n_eval else []) + (LOAD_METRICS if n_load else []) + ["error_rate"]
    if not launched and data["server"]["metrics_path"] is None and "peak_rss" in metrics:
        metrics.remove("peak_rss")
    chosen = draw(st.lists(st.sampled_from(metrics), min_size=1, max_size=4))
    data["gate"] = {
        "checks": [
            {
                "name": f"c{i}",
                "metric": metric,
                "margin": draw(st.floats(0, 1)),
                "owner": "team",
                "severity": draw(st.sampled_from(["critical", "advisory"])),
            }
            for i, metric in enumerate(chosen)
        ]
    }
    return data


def _paths(node: Any, loc: tuple = ()) -> list[tuple]:
    found = [loc]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*loc, index))
    return found


def _parent(data: Any, loc: tuple) -> Any:
    for part in loc[:-1]:
        data = data[part]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A suite with up to three mutations: wrong types, bad values, unknown keys, deletions,
    repeated check names, a missing item field, a server command with both arms' file."""
    data = copy.deepcopy(draw(suites()))
    if draw(st.integers(0, 2)) == 0:
        _semantic(draw, data)  # first: it expects the suite's shape intact
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        loc = draw(st.sampled_from(_paths(data)[1:]))
        parent = _parent(data, loc)
        action = draw(st.sampled_from(["replace", "bad", "delete", "unknown"]))
        if loc[-1] in IMPORT_KEYS:
            parent[loc[-1]] = draw(st.sampled_from(SAFE_IMPORTS))
        elif action == "replace":
            parent[loc[-1]] = draw(junk)
        elif action == "bad":
            parent[loc[-1]] = draw(bad_values)
        elif action == "delete":
            del parent[loc[-1]]
        elif isinstance(parent[loc[-1]], dict):
            parent[loc[-1]][draw(st.text(min_size=1, max_size=8))] = draw(leaves)
    return data


def _semantic(draw: st.DrawFn, data: dict[str, Any]) -> None:
    """A mutation that only the cross-field and plan checks can see."""
    checks = data["gate"]["checks"]
    choice = draw(st.integers(0, 5))
    if choice == 0:
        checks.append(dict(checks[0]))  # a repeated check name
    elif choice == 1:
        checks[0]["name"] = "request-errors"
    elif choice == 2 and data["eval"]:
        data["eval"][0]["dataset"]["items"][0].pop("q", None)
    elif choice == 3 and data["eval"]:
        data["eval"][0]["template"] = draw(st.sampled_from(BAD_TEMPLATES))
    elif choice == 4 and data["eval"]:
        scorer = draw(st.one_of(good_scorers, st.sampled_from(BAD_SCORERS)))
        data["eval"][0]["scorers"] = [copy.deepcopy(scorer)]
    elif "source" in data["candidate"]:
        source = copy.deepcopy(draw(st.sampled_from(BAD_SOURCES)))
        data[draw(st.sampled_from(["candidate", "incumbent"]))]["source"] = source
    else:
        data["server"]["metrics_path"] = None
        checks.append({"name": "mem", "metric": "peak_rss", "margin": 0.1, "owner": "o"})


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def text_mutations(draw: st.DrawFn) -> bytes:
    """YAML text of a (mutated) suite, then edited as text: duplicates, aliases, cuts."""
    text = _dump(draw(mutated()))
    lines = text.splitlines(keepends=True)
    action = draw(
        st.sampled_from(
            ["none"] * 6 + ["duplicate", "alias", "bomb", "cut", "insert", "deep", "tab"]
        )
    )
    if action == "duplicate" and lines:
        index = draw(st.integers(0, len(lines) - 1))
        lines.insert(index, lines[index])
    elif action == "alias":
        lines.insert(0, "x-shared: &shared {temperature: 0}\n")
        lines.append(draw(st.sampled_from(["extra: *shared\n", "extra: *nope\n", "<<: *shared\n"])))
    elif action == "bomb":
        width = draw(st.integers(2, 9))
        bomb = ["b0: &b0 [" + ", ".join(["x"] * width) + "]\n"]
        for level in range(1, draw(st.integers(2, 9))):
            bomb.append(f"b{level}: &b{level} [" + ", ".join([f"*b{level - 1}"] * width) + "]\n")
        lines = bomb + lines
    elif action == "cut" and text:
        lines = [text[: draw(st.integers(0, len(text)))]]
    elif action == "insert":
        index = draw(st.integers(0, len(lines)))
        lines.insert(index, draw(st.text(max_size=20)))
    elif action == "deep":
        depth = draw(st.integers(30, 3000))
        lines.append("deep: " + "[" * depth + "]" * depth + "\n")
    elif action == "tab":
        lines = [line.replace("  ", "\t", 1) for line in lines]
    return "".join(lines).encode("utf-8", "surrogatepass")


documents = st.one_of(
    st.builds(lambda d: _dump(d).encode("utf-8", "surrogatepass"), suites()),
    text_mutations(),
    text_mutations(),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),
)


def run_validate(folder: Path, document: bytes) -> Result:
    """Write ``document`` as a suite file in ``folder`` and run ``releasegate validate``."""
    path = folder / "suite.yaml"
    path.write_bytes(document)
    return CliRunner().invoke(main, ["validate", str(path)])


def check_outcome(folder: Path, result: Result) -> None:
    """The property: exit 0 or 2, no traceback, every problem line is ``file:line: …``."""
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    if result.exit_code == 2:
        prefix = f"{folder / 'suite.yaml'}:"
        *problems, summary = result.stderr.splitlines()
        assert summary.startswith("releasegate: ") and "nothing was run" in summary
        assert problems
        for line in problems:
            head, _, rest = line.removeprefix(prefix).partition(": ")
            assert line.startswith(prefix) and head.isdigit() and rest, line
