"""Read a suite from YAML and report every problem as ``file:line: field.path: message``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from releasegate.errors import SuiteError
from releasegate.suite.compose import (
    MAX_SUITE_BYTES,
    Loc,
    compose,
    format_loc,
    one_line,
    too_large,
)
from releasegate.suite.models import Suite
from releasegate.suite.rules import suite_problems


@dataclass(frozen=True)
class Positions:
    """Where each key path of a suite file is: 1-based lines, for error messages."""

    file: str = "<suite>"
    lines: dict[Loc, int] = field(default_factory=dict)
    literal_starts: dict[Loc, int] = field(default_factory=dict)  # first line of a `|` block

    def line(self, loc: Loc) -> int:
        """The line of the deepest existing prefix of ``loc`` (a missing key → its parent)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1

    def at(self, loc: Loc, inner_line: int | None = None) -> str:
        """``file:line: field.path`` for ``loc``; ``inner_line`` is a line inside a ``|`` block."""
        line = self.line(loc)
        if inner_line is not None and loc in self.literal_starts:
            line = self.literal_starts[loc] + inner_line - 1
        return f"{self.file}:{line}: {format_loc(loc)}"


@dataclass(frozen=True)
class LoadedSuite:
    """A validated suite with where it came from."""

    suite: Suite
    path: Path
    sha256: str
    positions: Positions = field(default_factory=Positions)

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the suite are resolved against."""
        return self.path.parent

    def at(self, loc: Loc, inner_line: int | None = None) -> str:
        """``file:line: field.path`` of a key path in this suite's file."""
        if self.positions.lines:
            return self.positions.at(loc, inner_line)
        return f"{self.path}:1: {format_loc(loc)}"


def _positions(node: yaml.Node, file: str) -> Positions:
    """Map every key path in a composed YAML tree to its line (the key's own line)."""
    pos = Positions(file=file)

    def walk(node: yaml.Node, loc: Loc) -> None:
        pos.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value)
                walk(value_node, (*loc, key))
                pos.lines[(*loc, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*loc, index))
        elif isinstance(node, yaml.ScalarNode) and node.style == "|":
            pos.literal_starts[loc] = node.start_mark.line + 2

    walk(node, ())
    return pos


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Loc:
    """Drop pydantic's discriminator tags (a scorer's ``kind``) from an error location."""
    clean: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict) and node.get("kind") == part:
            continue  # the tag of a union member selected by 'kind'
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, dict):
            node = None  # a missing or unknown key: keep it, stop descending
        else:
            break
        clean.append(part)
    return tuple(clean)


def format_errors(exc: ValidationError, data: Any, pos: Positions) -> list[str]:
    """Turn a pydantic error into ``file:line: field.path: message`` lines."""
    problems: list[str] = []
    seen: set[str] = set()
    for err in exc.errors():
        loc = _clean_loc(err["loc"], data)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `releasegate schema --suite`)"
        msg = msg.removeprefix("Value error, ")
        line = one_line(f"{pos.at(loc)}: {msg}")
        if line not in seen:
            seen.add(line)
            problems.append(line)
    return problems


def parse_positioned(text: str, file: str = "<suite>") -> tuple[Suite, Positions]:
    """Validate suite YAML text; return the suite and where its keys are.

    Raises:
        SuiteError: every problem, one ``file:line: field.path: message`` line each.
    """
    node, data = compose(text, file)
    if not isinstance(data, dict) or node is None:
        raise SuiteError([f"{file}:1: (suite): expected a mapping of keys such as name, server"])
    pos = _positions(node, file)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(format_errors(exc, data, pos)) from exc
    problems = [one_line(f"{pos.at(loc)}: {msg}") for loc, msg in suite_problems(suite)]
    if problems:
        raise SuiteError(problems)
    return suite, pos


def parse_suite(text: str, file: str = "<suite>") -> Suite:
    """Validate suite YAML text; raise :class:`SuiteError` listing every problem."""
    return parse_positioned(text, file)[0]


def load_suite(path: str | Path) -> LoadedSuite:
    """Read and validate a suite file (at most :data:`MAX_SUITE_BYTES`)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_SUITE_BYTES + 1)
            if len(raw) > MAX_SUITE_BYTES:
                fh.seek(0, 2)
                raise SuiteError([too_large(str(path), fh.tell())])
    except OSError as exc:
        raise SuiteError([f"{path}:0: (file): cannot read: {exc.strerror or exc}"]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuiteError([f"{path}:1: (file): not UTF-8 text"]) from exc
    suite, pos = parse_positioned(text, str(path))
    return LoadedSuite(
        suite=suite, path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest(), positions=pos
    )
