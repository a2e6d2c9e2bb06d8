"""Suite validation: every problem reported as file:line: field.path: message."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from releasegate.cli import main
from releasegate.errors import SuiteError
from releasegate.suite import load_suite, parse_suite

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
    for name in ("demo.yaml", "demo-aa.yaml"):
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
