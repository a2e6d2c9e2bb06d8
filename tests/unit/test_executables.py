"""Console scripts are found on PATH or beside sys.executable (a venv that is not activated)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from releasegate import environment
from releasegate.endpoints.launcher import ManagedServer
from releasegate.executables import find_executable

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_llama_server.py"


@pytest.fixture
def venv_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake venv bin/ holding python (the interpreter) and a console script, off PATH."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "fake-llama-server"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    script.chmod(0o755)
    (bin_dir / "not-executable").write_text("")
    python = bin_dir / "python"
    python.symlink_to(sys.executable)  # like a venv: a symlink, not to be resolved
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return bin_dir


def test_found_beside_sys_executable_when_not_on_path(venv_bin: Path) -> None:
    assert find_executable("fake-llama-server") == str(venv_bin / "fake-llama-server")
    assert find_executable("not-executable") is None
    assert find_executable("no-such-script") is None
    assert find_executable("/nonexistent/fake-llama-server") is None  # paths are not searched


def test_path_wins_over_beside_python(venv_bin: Path, tmp_path: Path, monkeypatch) -> None:
    other = tmp_path / "onpath"
    other.mkdir()
    (other / "fake-llama-server").write_text("#!/bin/sh\n")
    (other / "fake-llama-server").chmod(0o755)
    monkeypatch.setenv("PATH", str(other))
    assert find_executable("fake-llama-server") == str(other / "fake-llama-server")


def test_fingerprint_resolves_the_script_beside_python(venv_bin: Path) -> None:
    info = environment.server_info(["fake-llama-server", "-m", "x"])
    assert info["resolved_path"] == str((venv_bin / "fake-llama-server").resolve())
    assert info["sha256"] is not None


async def test_launcher_runs_a_console_script_beside_python(venv_bin: Path, tmp_path: Path) -> None:
    server = ManagedServer(
        ["fake-llama-server", "-m", "{model_path}", "--host", "{host}", "--port", "{port}"],
        model_path=tmp_path / "m.gguf",
        model_id="m",
        log_path=tmp_path / "s.log",
        startup_timeout_s=15.0,
    )
    async with server:
        assert server.exited() is None
        assert server.argv[0] == str(venv_bin / "fake-llama-server")
