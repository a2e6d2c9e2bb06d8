"""Eval items and prompt templates: load a dataset, render one prompt per item.

Items come inline from the suite or from a local ``.jsonl`` / ``.json`` / ``.csv`` file read
with the ``datasets`` library (offline, caches in a throw-away folder, progress bars off).
Every row becomes an :class:`EvalItem`; its fields are the template's variables.

Rules:

- ids come from ``id_field``; when no row has that field, ids are 0-based row numbers.
  A row missing its id while others have one, or a repeated id, is an error.
- CSV values stay strings (no type guessing, empty cells stay ``""``).
- JSON nulls are dropped from ``fields`` (``datasets`` fills a key missing from some rows
  with null, so the two cannot be told apart); a template naming one fails clearly.
- ``limit`` keeps the first N rows.
- A dataset file may hold at most 256 MiB (it is read whole into memory).

Templates are Jinja2 in a ``SandboxedEnvironment`` with ``StrictUndefined``.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from releasegate.errors import SuiteError
from releasegate.suite.models import DatasetSpec

SUFFIXES = (".jsonl", ".json", ".csv")
MAX_DATASET_BYTES = 256 << 20  # eval sets are read whole into memory


@dataclass(frozen=True)
class EvalItem:
    """One eval item: its id, optional category, and every field of its row."""

    id: str
    category: str | None
    fields: dict[str, Any]


# --------------------------------------------------------------------------- loading


def load_items(spec: DatasetSpec, base_dir: Path) -> list[EvalItem]:
    """Load the items of a dataset spec.

    Args:
        spec: the workload's dataset (inline ``items`` or a ``path``).
        base_dir: folder that a relative ``path`` is resolved against (the suite's folder).

    Returns:
        The items, in file order, at most ``spec.limit`` of them.

    Raises:
        SuiteError: missing file, unsupported extension, unreadable file, bad row,
            missing or repeated id, or no items at all.
    """
    if spec.items is not None:
        where = "dataset.items"
        rows: list[Any] = list(spec.items)
    else:
        assert spec.path is not None  # the spec guarantees exactly one of items/path
        path = Path(spec.path)
        if not path.is_absolute():
            path = base_dir / path
        where = str(path)
        rows = _read_file(path)
    if not rows:
        raise SuiteError([f"{where}: the dataset has no items"])
    return _to_items(rows, spec, where)


def _read_file(path: Path) -> list[Any]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SuiteError(
            [f"{path}: unsupported dataset file type {suffix!r}; use .jsonl/.json/.csv"]
        )
    if not path.is_file():
        raise SuiteError([f"{path}: no such dataset file"])
    size = path.stat().st_size
    if size == 0:
        raise SuiteError([f"{path}: the dataset file is empty"])
    if size > MAX_DATASET_BYTES:
        raise SuiteError(
            [f"{path}: {size:,} bytes; a dataset file may hold at most {MAX_DATASET_BYTES:,}"]
        )
    try:
        with _quiet_datasets() as (datasets, cache_dir):
            if suffix == ".csv":
                header = _check_csv_shape(path)
                features = datasets.Features({c: datasets.Value("string") for c in header})
                ds = datasets.Dataset.from_csv(
                    str(path),
                    cache_dir=cache_dir,
                    keep_in_memory=True,
                    features=features,
                    keep_default_na=False,
                    index_col=False,
                )
            else:
                ds = datasets.Dataset.from_json(str(path), cache_dir=cache_dir, keep_in_memory=True)
            return ds.to_list()
    except SuiteError:
        raise
    except Exception as exc:  # datasets/pyarrow/pandas raise many types; report them all
        raise SuiteError([f"{path}: cannot read the dataset: {_root_message(exc)}"]) from exc


def _check_csv_shape(path: Path) -> list[str]:
    """Return the CSV header; every row must have as many cells (pandas would guess)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows = 0
        for row in reader:
            if not row:
                continue
            rows += 1
            if len(row) != len(header):
                raise SuiteError(
                    [
                        f"{path}:{reader.line_num}: {len(row)} cells, "
                        f"but the header has {len(header)}"
                    ]
                )
    if rows == 0:
        raise SuiteError([f"{path}: the dataset has no items"])
    return header


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[tuple[Any, str]]:
    """Import ``datasets`` offline; silence its progress bars and logs for this block."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets
    from datasets.utils import logging as ds_logging

    bars_were_off = datasets.utils.are_progress_bars_disabled()
    verbosity = ds_logging.get_verbosity()
    datasets.utils.disable_progress_bars()
    ds_logging.set_verbosity(ds_logging.CRITICAL)
    try:
        with tempfile.TemporaryDirectory(prefix="releasegate-ds-") as cache_dir:
            yield datasets, cache_dir
    finally:
        ds_logging.set_verbosity(verbosity)
        if not bars_were_off:
            datasets.utils.enable_progress_bars()


def _root_message(exc: BaseException) -> str:
    """The innermost cause's message (``datasets`` wraps the useful pyarrow error)."""
    seen: list[BaseException] = [exc]
    while seen[-1].__cause__ is not None and len(seen) < 10:
        seen.append(seen[-1].__cause__)
    inner = seen[-1]
    return f"{type(inner).__name__}: {inner}".strip()


def _to_items(rows: list[Any], spec: DatasetSpec, where: str) -> list[EvalItem]:
    problems: list[str] = []
    dicts: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"{where}: item #{i}: expected an object, got {type(row).__name__}")
            continue
        dicts.append({k: v for k, v in row.items() if v is not None})
    if problems:
        raise SuiteError(problems)

    has_ids = any(spec.id_field in row for row in dicts)
    items: list[EvalItem] = []
    first_seen: dict[str, int] = {}
    for i, row in enumerate(dicts):
        if has_ids:
            raw = row.get(spec.id_field)
            if raw is None or str(raw).strip() == "":
                problems.append(f"{where}: item #{i}: missing id field {spec.id_field!r}")
                continue
            item_id = str(raw).strip()
        else:
            item_id = str(i)
        if item_id in first_seen:
            problems.append(
                f"{where}: item #{i}: duplicate id {item_id!r}"
                f" (first at item #{first_seen[item_id]})"
            )
            continue
        first_seen[item_id] = i
        category = row.get(spec.category_field)
        category = None if category is None or str(category) == "" else str(category)
        items.append(EvalItem(id=item_id, category=category, fields=row))
    if problems:
        raise SuiteError(problems)
    return items[: spec.limit] if spec.limit is not None else items


# --------------------------------------------------------------------------- templates

# Prompts are plain text sent to a model, never HTML shown in a browser, so escaping would
# only corrupt them (``&`` → ``&amp;``): autoescape stays off here on purpose. The sandbox
# keeps a template from reaching Python internals; StrictUndefined makes a missing field an
# error instead of an empty string.

MAX_PROMPT_CHARS = 1 << 20
_MAX_POWER_BITS = 1 << 16  # ints up to ~20,000 digits


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox, plus ``*`` and ``**`` that cannot build huge values (``'x' * 10**9``).

    Intercepting them also keeps Jinja from folding such constants while compiling.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            bits = abs(left).bit_length() if isinstance(left, int) else 1
            if isinstance(right, int | float) and bits * abs(right) > _MAX_POWER_BITS:
                raise jinja2.sandbox.SecurityError("the power is too large")
            return left**right
        for seq, times in ((left, right), (right, left)):
            repeats = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if repeats and len(seq) * times > MAX_PROMPT_CHARS:
                raise jinja2.sandbox.SecurityError("repetition result is too large")
        return left * right


_ENV = _BoundedSandbox(autoescape=False, undefined=jinja2.StrictUndefined)


@functools.lru_cache(maxsize=64)
def compile_template(template: str) -> jinja2.Template:
    """Parse a prompt template once.

    Raises:
        SuiteError: the template has a syntax error (the Jinja message and line).
    """
    try:
        return _ENV.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise SuiteError([f"template line {exc.lineno}: {exc.message}"]) from exc


@dataclass(frozen=True)
class TemplateProblem:
    """A template that fails for an item: the line inside the template (if known), why."""

    line: int | None
    message: str


def _template_line(exc: BaseException) -> int | None:
    """The template line a render error was raised at (Jinja maps frames to ``<template>``)."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render(template: str, item: EvalItem) -> str:
    """Render or raise :class:`TemplateFailure` carrying the template line."""
    try:
        prompt = compile_template(template).render(item.fields)
    except SuiteError:
        raise
    except jinja2.UndefinedError as exc:
        have = ", ".join(sorted(item.fields)) or "none"
        raise TemplateFailure(
            _template_line(exc),
            f"item {item.id!r}: {exc.message} (the item's fields: {have})",
        ) from exc
    except Exception as exc:  # SecurityError, ZeroDivisionError, TypeError from filters, ...
        raise TemplateFailure(
            _template_line(exc), f"item {item.id!r}: {type(exc).__name__}: {exc}"
        ) from exc
    if len(prompt) > MAX_PROMPT_CHARS:
        raise TemplateFailure(
            None,
            f"item {item.id!r}: the prompt has {len(prompt):,} characters "
            f"(at most {MAX_PROMPT_CHARS:,})",
        )
    return prompt


class TemplateFailure(Exception):
    """A template failed for one item (internal: turned into a problem line)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def render_prompt(template: str, item: EvalItem) -> str:
    """Render ``template`` with the item's fields as variables.

    Raises:
        SuiteError: syntax error, a field the item lacks, or anything else the template
            cannot do with this item (the message names the item and the field).
    """
    try:
        return _render(template, item)
    except TemplateFailure as exc:
        where = f"template line {exc.line}: " if exc.line is not None else "template: "
        raise SuiteError([where + exc.message]) from exc


def check_template(
    template: str, items: list[EvalItem], max_problems: int = 5
) -> list[TemplateProblem]:
    """Render the template for every item, as a run would; return what fails.

    A syntax error is one problem; otherwise at most ``max_problems`` failing items are
    listed, then one line counting the rest.
    """
    try:
        compile_template(template)
    except SuiteError as exc:
        cause = exc.__cause__
        line = cause.lineno if isinstance(cause, jinja2.TemplateSyntaxError) else None
        message = cause.message if isinstance(cause, jinja2.TemplateSyntaxError) else str(exc)
        return [TemplateProblem(line, message or "syntax error")]
    problems: list[TemplateProblem] = []
    failed = 0
    for item in items:
        try:
            _render(template, item)
        except TemplateFailure as exc:
            failed += 1
            if len(problems) < max_problems:
                problems.append(TemplateProblem(exc.line, exc.message))
    if failed > max_problems:
        problems.append(TemplateProblem(None, f"… and {failed - max_problems} more item(s)"))
    return problems
