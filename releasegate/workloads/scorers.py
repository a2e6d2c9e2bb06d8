"""Scorers: turn one model output for one eval item into a score in [0, 1].

Model output is untrusted text: it is only ever matched, searched and parsed as data, never
evaluated. Patterns and schemas come from the suite, never from the output.

Kinds (``field`` is the item field holding the expected value; ``case_sensitive`` is off
unless set):

``exact``
    The output equals the expected value after normalising both: surrounding whitespace,
    surrounding quotes/backticks and trailing ``. , ! ? ; :`` are removed and inner runs of
    whitespace become one space (all only when ``strip``, the default); case per flag.
``contains``
    The expected value appears in the output as a whole word: ``"4"`` does not match
    ``"14"``, ``"4.5"`` or ``"-4"``, and ``"cat"`` does not match ``"category"``.
``regex``
    ``re.search(pattern, output, flags)`` finds a match. The pattern is plain (no fields).
``choice``
    The first of ``labels`` named in the output (whole word, earliest position; at one
    position the longest label wins) must equal the item's ``field``. Naming none scores 0
    with detail ``"no label"``.
``json``
    The first JSON object or array in the output (a fenced ```json block first, then the
    first ``{``/``[`` that parses, prose around it ignored) must parse, validate against
    ``schema`` when given, and for each ``expect_fields`` entry (JSON key → item field) the
    top-level key must equal the item's value: strings compared stripped and
    case-insensitively, numbers numerically, booleans as ``true``/``false``.
``numeric``
    The first number in the output (``-3``, ``1,234``, ``2.5``, ``= 42``, ``1e3``) is within
    ``tolerance`` of the expected number: absolute, or relative to the expected value when
    ``relative``.
``python``
    RUNS USER CODE: ``callable`` is ``module:function``, imported from ``sys.path`` and
    called as ``fn(output, fields)`` with a copy of the item's fields. It returns a bool, a
    number in [0, 1], or ``(number, detail)``. An exception or a bad return value inside the
    user code scores 0 with its text as detail; it never stops the run. A module that cannot
    be imported is a :class:`SuiteError`, raised by :func:`load_python_scorer` at validation.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema

from releasegate.errors import SuiteError
from releasegate.suite.models import (
    ChoiceScorer,
    ContainsScorer,
    ExactScorer,
    JsonScorer,
    NumericScorer,
    PythonScorer,
    RegexScorer,
    ScorerSpec,
)
from releasegate.workloads.items import EvalItem

_QUOTES = "\"'`\u2018\u2019\u201c\u201d"
_TRAILING = ".,!?;:"
_NUMBER = re.compile(
    r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_MAX_JSON_STARTS = 64  # bounds the work on hostile output full of braces
_DETAIL_CHARS = 80


@dataclass(frozen=True)
class Score:
    """One scorer's verdict: ``value`` in [0, 1] and a short human-readable reason."""

    value: float
    detail: str


def scorer_name(spec: ScorerSpec) -> str:
    """The name scores are recorded under: the scorer kind, e.g. ``"exact"``."""
    return spec.kind


def score(spec: ScorerSpec, output: str, item: EvalItem) -> Score:
    """Score one output for one item.

    Raises:
        SuiteError: the suite is at fault (expected field missing, bad pattern, python
            scorer not importable); :func:`validate_scorer` finds these up front.
    """
    return _KINDS[type(spec)](spec, output, item)


def validate_scorer(spec: ScorerSpec, items: Iterable[EvalItem]) -> None:
    """Check a scorer against its items before any request is sent.

    Raises:
        SuiteError: one line per problem (missing field, bad pattern or schema, a choice
            label that is not in ``labels``, a non-numeric expected value, import failure).
    """
    problems: list[str] = []
    try:
        if isinstance(spec, RegexScorer):
            _compiled(spec.pattern, tuple(spec.flags))
        elif isinstance(spec, JsonScorer) and spec.json_schema is not None:
            jsonschema.validators.validator_for(spec.json_schema).check_schema(spec.json_schema)
        elif isinstance(spec, PythonScorer):
            load_python_scorer(spec.callable)
    except jsonschema.SchemaError as exc:
        problems.append(f"scorer json: schema: {exc.message}")
    except SuiteError as exc:
        problems.extend(exc.problems)
    fields = [spec.field] if hasattr(spec, "field") else []
    if isinstance(spec, JsonScorer):
        fields = sorted(set(spec.expect_fields.values()))
    for item in items:
        try:
            for field in fields:
                _expected(spec, item, field)
        except SuiteError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SuiteError(problems)


# --------------------------------------------------------------------------- helpers


def _expected(spec: ScorerSpec, item: EvalItem, field: str) -> Any:
    """The item's expected value for ``field``, checked and made canonical for the kind."""
    raw = item.fields.get(field)
    where = f"scorer {spec.kind}: item {item.id!r}"
    if raw is None:
        raise SuiteError([f"{where} has no field {field!r}"])
    if isinstance(spec, ContainsScorer) and not str(raw).strip():
        raise SuiteError([f"{where}: {field!r} is empty"])
    if isinstance(spec, NumericScorer) and _parse_number(str(raw)) is None:
        raise SuiteError([f"{where}: {raw!r} is not a number"])
    if isinstance(spec, ChoiceScorer):
        want = str(raw).strip() if spec.case_sensitive else str(raw).strip().casefold()
        for label in spec.labels:
            if (label if spec.case_sensitive else label.casefold()) == want:
                return label
        raise SuiteError([f"{where}: {raw!r} is not one of {spec.labels}"])
    return raw


def _show(text: str) -> str:
    """A short, printable excerpt of (untrusted) text for a score detail."""
    if len(text) > _DETAIL_CHARS:
        text = text[:_DETAIL_CHARS] + "…"
    return repr(text)


def _normalise(text: str, strip: bool, case_sensitive: bool) -> str:
    if strip:
        text = " ".join(text.split())
        previous = None
        while text != previous:
            previous = text
            text = text.rstrip(_TRAILING).strip()
            if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
                text = text[1:-1].strip()
    return text if case_sensitive else text.casefold()


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, flags: tuple[str, ...]) -> re.Pattern[str]:
    try:
        return re.compile(
            pattern, functools.reduce(operator.or_, map(re.RegexFlag.__getitem__, flags), 0)
        )
    except re.error as exc:
        raise SuiteError([f"scorer regex: bad pattern {pattern!r}: {exc}"]) from exc


def _word_pattern(literal: str) -> str:
    """``literal`` as a regex that only matches whole words / whole numbers."""
    body = re.escape(literal)
    before = r"(?<!\w)" if re.match(r"\w", literal) else ""
    if literal[:1].isdigit():
        before += r"(?<![-\u2212])(?<!\d[.,])"
    after = r"(?!\w)" if re.search(r"\w$", literal) else ""
    if literal[-1:].isdigit():
        after += r"(?![.,]\d)"
    return before + body + after


def _parse_number(text: str, last: bool = False) -> float | None:
    """The first (or last) number written in ``text``."""
    if last:
        matches = list(_NUMBER.finditer(text))
        match = matches[-1] if matches else None
    else:
        match = _NUMBER.search(text)
    if match is None:
        return None
    token = match.group(0).replace(",", "").replace("\u2212", "-")
    try:
        value = float(token)
    except ValueError:  # pragma: no cover - the regex only admits float syntax
        return None
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- kinds


def _exact(spec: ExactScorer, output: str, item: EvalItem) -> Score:
    expected = str(_expected(spec, item, spec.field))
    got = _normalise(output, spec.strip, spec.case_sensitive)
    want = _normalise(expected, spec.strip, spec.case_sensitive)
    if got == want:
        return Score(1.0, "exact match")
    return Score(0.0, f"got {_show(output)}, expected {_show(expected)}")


def _contains(spec: ContainsScorer, output: str, item: EvalItem) -> Score:
    expected = str(_expected(spec, item, spec.field)).strip()
    flags = 0 if spec.case_sensitive else re.IGNORECASE
    if re.search(_word_pattern(expected), output, flags):
        return Score(1.0, f"found {_show(expected)}")
    return Score(0.0, f"{_show(expected)} not in output")


def _regex(spec: RegexScorer, output: str, item: EvalItem) -> Score:
    if _compiled(spec.pattern, tuple(spec.flags)).search(output):
        return Score(1.0, "pattern matched")
    return Score(0.0, "pattern did not match")


def _choice(spec: ChoiceScorer, output: str, item: EvalItem) -> Score:
    expected = _expected(spec, item, spec.field)
    ordered = sorted(spec.labels, key=len, reverse=True)
    pattern = "|".join(f"({_word_pattern(label)})" for label in ordered)
    flags = 0 if spec.case_sensitive else re.IGNORECASE
    named_all = {
        ordered[m.lastindex - 1] for m in re.finditer(pattern, output, flags) if m.lastindex
    }
    if not named_all:
        return Score(0.0, "no label")
    if len(named_all) > 1:
        return Score(0.0, f"ambiguous: names {', '.join(sorted(named_all))}")
    named = named_all.pop()
    if named == expected:
        return Score(1.0, f"named {named!r}")
    return Score(0.0, f"named {named!r}, expected {expected!r}")


def _extract_json(output: str) -> tuple[Any, str | None]:
    """The first JSON value found in the output, or ``(None, reason)``."""
    decoder = json.JSONDecoder()
    candidates = [m.group(1) for m in _FENCE.finditer(output)] + [output]
    for text in candidates:
        starts = (i for i, ch in enumerate(text) if ch in "{[")
        for n, start in enumerate(starts):
            if n >= _MAX_JSON_STARTS:
                break
            try:
                value, _ = decoder.raw_decode(text, start)
            except (ValueError, RecursionError):
                continue
            return value, None
    return None, "no JSON object or array in output"


def _same_value(got: Any, expected: Any) -> bool:
    if isinstance(got, bool):
        return str(expected).strip().casefold() == ("true" if got else "false")
    if isinstance(got, int | float):
        want = _parse_number(str(expected))
        return want is not None and math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(got, str):
        return got.strip().casefold() == str(expected).strip().casefold()
    return False


def _json(spec: JsonScorer, output: str, item: EvalItem) -> Score:
    value, problem = _extract_json(output)
    if problem is not None:
        return Score(0.0, problem)
    if spec.json_schema is not None:
        validator = jsonschema.validators.validator_for(spec.json_schema)(spec.json_schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            return Score(0.0, f"schema: {_show(error.message)}")
    if spec.expect_fields and not isinstance(value, dict):
        return Score(0.0, f"expected a JSON object, got {type(value).__name__}")
    for key, field in spec.expect_fields.items():
        expected = _expected(spec, item, field)
        if key not in value:
            return Score(0.0, f"missing key {key!r}")
        if not _same_value(value[key], expected):
            return Score(
                0.0, f"{key!r} is {_show(str(value[key]))}, expected {_show(str(expected))}"
            )
    return Score(1.0, "valid JSON" + (" with expected fields" if spec.expect_fields else ""))


def _numeric(spec: NumericScorer, output: str, item: EvalItem) -> Score:
    expected = _parse_number(str(_expected(spec, item, spec.field)))
    assert expected is not None  # _expected checked it
    got = _parse_number(output, last=spec.pick == "last")
    if got is None:
        return Score(0.0, "no number in output")
    allowed = spec.tolerance * abs(expected) if spec.relative else spec.tolerance
    if abs(got - expected) <= allowed or math.isclose(got, expected, rel_tol=1e-9):
        return Score(1.0, f"{got:g} matches {expected:g}")
    return Score(0.0, f"{got:g} is not {expected:g} (tolerance {allowed:g})")


# --------------------------------------------------------------------------- python


@functools.lru_cache(maxsize=64)
def load_python_scorer(path: str) -> Callable[[str, dict[str, Any]], Any]:
    """Import a user scorer ``module:function`` (this RUNS the module's code).

    Raises:
        SuiteError: bad path, module not importable, or the attribute is not callable.
    """
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise SuiteError([f"scorer python: {path!r} is not of the form 'module:function'"])
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or anything the module raises while importing
        raise SuiteError(
            [f"scorer python: cannot import {module_name!r}: {type(exc).__name__}: {exc}"]
        ) from exc
    fn: Any = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
    if not callable(fn):
        raise SuiteError([f"scorer python: {path!r} is not a callable in {module_name!r}"])
    return fn


def _python(spec: PythonScorer, output: str, item: EvalItem) -> Score:
    fn = load_python_scorer(spec.callable)
    try:
        result = fn(output, copy.deepcopy(item.fields))
    except Exception as exc:  # user code: its failure is a score, not a crash
        return Score(0.0, f"scorer raised {type(exc).__name__}: {_show(str(exc))}")
    detail = "python scorer"
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
        result, detail = result[0], result[1][: 4 * _DETAIL_CHARS]
    if isinstance(result, bool):
        return Score(1.0 if result else 0.0, detail)
    if isinstance(result, int | float) and math.isfinite(result) and 0.0 <= result <= 1.0:
        return Score(float(result), detail)
    shown = repr(result)[:_DETAIL_CHARS]
    return Score(0.0, f"scorer returned {shown}; want bool, [0, 1] or (value, str)")


_KINDS: dict[type, Callable[[Any, str, EvalItem], Score]] = {
    ExactScorer: _exact,
    ContainsScorer: _contains,
    RegexScorer: _regex,
    ChoiceScorer: _choice,
    JsonScorer: _json,
    NumericScorer: _numeric,
    PythonScorer: _python,
}
