"""Read a suite from YAML and report every problem as ``file:line: field.path: message``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from releasegate.errors import SuiteError
from releasegate.suite.models import Suite

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedSuite:
    """A validated suite with where it came from."""

    suite: Suite
    path: Path
    sha256: str

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the suite are resolved against."""
        return self.path.parent


def _line_map(node: yaml.Node, loc: Loc = (), out: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Map every key path in a composed YAML tree to its 1-based line number."""
    out = {} if out is None else out
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*loc, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*loc, key), out)
            # Keep the key's own line for the path (value line only for nested paths).
            out[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*loc, index), out)
    return out


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int:
    """The line of the deepest existing prefix of ``loc`` (a missing key → its parent)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


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


def _format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(suite)"


def format_errors(exc: ValidationError, data: Any, lines: dict[Loc, int], file: str) -> list[str]:
    """Turn a pydantic error into ``file:line: field.path: message`` lines."""
    problems: list[str] = []
    seen: set[str] = set()
    for err in exc.errors():
        loc = _clean_loc(err["loc"], data)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `releasegate schema --suite`)"
        elif err["type"] == "union_tag_invalid":
            msg = err["msg"]
        msg = msg.removeprefix("Value error, ")
        line = f"{file}:{_line_for(loc, lines)}: {_format_loc(loc)}: {msg}"
        if line not in seen:
            seen.add(line)
            problems.append(line)
    return problems


def parse_suite(text: str, file: str = "<suite>") -> Suite:
    """Validate suite YAML text; raise :class:`SuiteError` listing every problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError([f"{file}:{line}: (yaml): {problem}"]) from exc
    if not isinstance(data, dict) or node is None:
        raise SuiteError([f"{file}:1: (suite): expected a mapping of keys such as name, server"])
    lines = _line_map(node)
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(format_errors(exc, data, lines, file)) from exc


def load_suite(path: str | Path) -> LoadedSuite:
    """Read and validate a suite file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError([f"{path}:0: (file): cannot read: {exc.strerror}"]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuiteError([f"{path}:1: (file): not UTF-8 text"]) from exc
    suite = parse_suite(text, str(path))
    return LoadedSuite(suite=suite, path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest())
