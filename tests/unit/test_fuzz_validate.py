"""Fuzz ``releasegate validate``: whatever the file holds, exit 0 or 2 and never a traceback.

The documents are schema-shaped suites with mutations (wrong types, unknown and missing
keys, huge numbers, nan/inf, bad URLs, broken templates), YAML edits (duplicate keys,
aliases, alias bombs, deep nesting, cuts, tabs), random text and binary junk. The
benchmark ``benchmarks/fuzz_validate.py`` runs the same property with ≥ 10,000 examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from fakes.fuzz_suites import check_outcome, documents, run_validate, write_fixture_files


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz")
    write_fixture_files(path)
    return path


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=documents)
def test_validate_never_raises(folder: Path, document: bytes) -> None:
    check_outcome(folder, run_validate(folder, document))
