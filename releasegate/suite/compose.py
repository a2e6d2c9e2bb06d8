"""Bounded YAML reading: size, nesting, alias expansion and duplicate keys are checked.

PyYAML shares the node of an anchor between its aliases, so composing an "alias bomb"
(``b: [*a, *a, …]`` nested a few levels) is cheap, but everything that walks the result
afterwards (validation, line maps, dumps) sees the expanded tree: nine levels of nine aliases
are 387 million nodes. The composed tree is therefore measured before anything is built from
it (each node once, its expanded size and height remembered), and a suite is refused when

- the text is larger than :data:`MAX_SUITE_BYTES`,
- it holds more than :data:`MAX_ALIASES` aliases, or aliases add more than
  :data:`MAX_ALIAS_NODES` nodes by expansion, or an alias refers to its own anchor,
- it nests deeper than :data:`MAX_DEPTH` (counted after expansion),
- a mapping repeats a key (PyYAML would silently keep the last one).

Every refusal is a :class:`SuiteError` line ``file:line: path: message``.
"""

from __future__ import annotations

from typing import Any

import yaml
import yaml.reader
from yaml.composer import ComposerError

from releasegate.errors import SuiteError

Loc = tuple[str | int, ...]

MAX_SUITE_BYTES = 1 << 20
MAX_ALIASES = 1_000
MAX_ALIAS_NODES = 100_000
MAX_DEPTH = 64


def format_loc(loc: Loc) -> str:
    """``eval[0].template`` style; ``(suite)`` for the root; odd keys quoted (``x['a\\nb']``)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.isprintable() or len(part) > 80:
            text += f"[{part[:80]!r}]"
        else:
            text += f".{part}" if text else part
    return text or "(suite)"


def one_line(problem: str) -> str:
    """A problem as a single line, whatever its message held (exception texts may not)."""
    return " ".join(problem.splitlines())


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that stops composing past :data:`MAX_DEPTH` levels or :data:`MAX_ALIASES`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise ComposerError(
                    None, None, f"more than {MAX_ALIASES} aliases (*name)", event.start_mark
                )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Walk:
    """One pass over the composed graph: expanded size, height, duplicate keys."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.memo: dict[int, tuple[int, int]] = {}  # id(node) → (expanded size, height)
        self.open: set[int] = set()
        self.distinct = 0
        self.problems: list[str] = []

    def _refuse(self, node: yaml.Node, loc: Loc, message: str) -> SuiteError:
        line = node.start_mark.line + 1
        return SuiteError([f"{self.file}:{line}: {format_loc(loc)}: {message}"])

    def visit(self, node: yaml.Node, loc: Loc, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in self.open:
            raise self._refuse(node, loc, "an alias refers to its own anchor (a cycle)")
        if key in self.memo:
            size, height = self.memo[key]
        else:
            self.open.add(key)
            size, height = self._measure(node, loc, depth)
            self.open.discard(key)
            self.memo[key] = (size, height)
            self.distinct += 1
        if depth + height > MAX_DEPTH:
            raise self._refuse(node, loc, f"nested deeper than {MAX_DEPTH} levels (aliases count)")
        return size, height

    def _measure(self, node: yaml.Node, loc: Loc, depth: int) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            raise self._refuse(node, loc, f"nested deeper than {MAX_DEPTH} levels (aliases count)")
        size, height = 1, 0
        children: list[tuple[yaml.Node, Loc]] = []
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                if (
                    isinstance(key_node, yaml.ScalarNode)
                    and key_node.tag != "tag:yaml.org,2002:merge"
                ):
                    ident = (key_node.tag, key_node.value)
                    line = key_node.start_mark.line + 1
                    if ident in first:
                        self.problems.append(
                            f"{self.file}:{line}: {format_loc((*loc, name))}: duplicate key "
                            f"(first at line {first[ident]}; YAML would keep only the last)"
                        )
                    else:
                        first[ident] = line
                children += [(key_node, loc), (value_node, (*loc, name))]
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, (*loc, i)) for i, item in enumerate(node.value)]
        for child, child_loc in children:
            child_size, child_height = self.visit(child, child_loc, depth + 1)
            size += child_size
            height = max(height, child_height + 1)
        return size, height


def compose(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """Compose and construct one YAML document within the bounds above.

    Returns:
        The composed root node (for line numbers) and the Python data built from it;
        ``(None, None)`` for an empty document.

    Raises:
        SuiteError: a YAML syntax error or a refused document (``file:line: …``).
    """
    if len(text) > MAX_SUITE_BYTES:
        raise SuiteError([too_large(file, len(text.encode("utf-8", "replace")))])
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters here already
        node = loader.get_single_node()
        if node is None:
            return None, None
        walk = _Walk(file)
        size, _ = walk.visit(node, (), 0)
        if walk.problems:
            raise SuiteError(walk.problems)
        if size - walk.distinct > MAX_ALIAS_NODES:
            raise SuiteError(
                [
                    f"{file}:1: (yaml): aliases expand the document by {size - walk.distinct:,} "
                    f"nodes; at most {MAX_ALIAS_NODES:,} are allowed (an alias bomb?)"
                ]
            )
        try:
            data = loader.construct_document(node)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # e.g. ValueError from a date like 2024-13-45
            raise SuiteError([f"{file}:1: (yaml): cannot read a value: {exc}"]) from exc
        return node, data
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = _char(exc.character)
        raise SuiteError([f"{file}:{line}: (yaml): {char} is not allowed ({exc.reason})"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuiteError([f"{file}:{line}: (yaml): {problem}"]) from exc
    finally:
        if loader is not None:
            loader.dispose()


def too_large(file: str, size: int) -> str:
    """The refusal line for a suite file over :data:`MAX_SUITE_BYTES`."""
    return (
        f"{file}:1: (file): {size:,} bytes; a suite file may hold at most "
        f"{MAX_SUITE_BYTES:,} bytes (put eval items in a dataset file: dataset.path)"
    )


def _char(character: object) -> str:
    return f"U+{character:04X}" if isinstance(character, int) else repr(character)
