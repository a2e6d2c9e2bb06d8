"""ManagedServer against a stdlib fake llama-server: start, health wait, failures, teardown."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from releasegate.endpoints import launcher
from releasegate.endpoints.launcher import ExitInfo, ManagedServer, fill_template
from releasegate.errors import ServerStartError, SuiteError

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_llama_server.py"
TEMPLATE = [sys.executable, str(FAKE), "-m", "{model_path}", "--host", "{host}", "--port", "{port}"]


def make(tmp_path: Path, *extra: str, **kw: object) -> ManagedServer:
    kw.setdefault("startup_timeout_s", 15.0)
    return ManagedServer(
        TEMPLATE,
        model_path=tmp_path / "model.gguf",
        model_id="fake-model",
        log_path=tmp_path / "logs" / "server.log",
        extra_args=list(extra),
        **kw,  # type: ignore[arg-type]
    )


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def wait_gone(*pids: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(gone(p) for p in pids):
            return True
        await asyncio.sleep(0.05)
    return all(gone(p) for p in pids)


async def test_healthy_start_serves_and_stops(tmp_path: Path) -> None:
    srv = make(tmp_path, "--metrics")
    async with srv as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert server.argv[-1] == "--metrics"
        assert server.argv[server.argv.index("--port") + 1] == str(server.port)
        assert server.argv[server.argv.index("-m") + 1] == str(tmp_path / "model.gguf")
        async with httpx.AsyncClient() as client:
            resp = await client.get(server.base_url + "/health")
        assert resp.status_code == 200
        assert resp.json() == {"status": "ok"}
        assert server.exited() is None
        assert not gone(server.pid)
        pid = server.pid
    assert await wait_gone(pid)
    info = srv.exited()
    assert info is not None and info.signal == "SIGTERM"
    log_text = (tmp_path / "logs" / "server.log").read_text()
    assert "=== releasegate" in log_text and "fake: listening on 127.0.0.1" in log_text


async def test_slow_load_waits_through_503(tmp_path: Path) -> None:
    async with make(tmp_path, "--load-seconds", "1.0") as server:
        assert server.startup_s is not None and server.startup_s >= 1.0
    assert '"GET /health HTTP/1.1" 503' in (tmp_path / "logs" / "server.log").read_text()


async def test_exit_before_healthy_reports_code_and_log_tail(tmp_path: Path) -> None:
    seen: list[ExitInfo] = []
    srv = make(tmp_path, "--exit-immediately", "7", on_exit=seen.append)
    with pytest.raises(ServerStartError) as err:
        async with srv:
            pytest.fail("body must not run")
    msg = str(err.value)
    assert "exit code 7" in msg
    assert "failed to load model (simulated)" in msg
    assert srv.command_line in msg and "--exit-immediately 7" in msg
    assert seen == []  # a start failure is raised, not reported as a death during the run
    info = srv.exited()
    assert info is not None and info.returncode == 7


async def test_log_tail_covers_only_this_run(tmp_path: Path) -> None:
    log_path = tmp_path / "logs" / "server.log"
    log_path.parent.mkdir()
    log_path.write_text("old line from an earlier run\n")
    with pytest.raises(ServerStartError) as err:
        async with make(tmp_path, "--exit-immediately", "2"):
            pass
    assert "old line" not in str(err.value)
    assert "old line" in log_path.read_text()  # appended, not truncated


async def test_deadline_passed_raises_and_kills(tmp_path: Path) -> None:
    srv = make(tmp_path, "--load-seconds", "30", startup_timeout_s=1.0)
    t0 = time.monotonic()
    with pytest.raises(ServerStartError) as err:
        async with srv:
            pass
    assert time.monotonic() - t0 < 10
    assert "within 1 s" in str(err.value) and "Loading model" in str(err.value)
    assert await wait_gone(srv.pid)


async def test_env_is_passed_and_path_from_env_is_used(tmp_path: Path) -> None:
    tool = tmp_path / "bin" / "my-server"
    tool.parent.mkdir()
    tool.write_text(
        f"#!{sys.executable}\nimport os, runpy, sys\n"
        f"print('MARK=' + os.environ['RG_MARK'], flush=True)\n"
        f"sys.argv[0] = {str(FAKE)!r}\nrunpy.run_path({str(FAKE)!r}, run_name='__main__')\n"
    )
    tool.chmod(0o755)
    srv = ManagedServer(
        ["my-server", "--host", "{host}", "--port", "{port}"],
        model_path=tmp_path / "m.gguf",
        model_id="m",
        log_path=tmp_path / "s.log",
        env={"RG_MARK": "xyz", "PATH": f"{tool.parent}:{os.environ['PATH']}"},
        startup_timeout_s=15,
    )
    async with srv as server:
        assert server.exited() is None
    assert "MARK=xyz" in (tmp_path / "s.log").read_text()


async def test_missing_binary(tmp_path: Path) -> None:
    srv = ManagedServer(
        ["/nonexistent/llama-cpp-server", "--port", "{port}"],
        model_path=tmp_path / "m.gguf",
        model_id="m",
        log_path=tmp_path / "s.log",
    )
    with pytest.raises(ServerStartError, match="not found") as err:
        async with srv:
            pass
    assert "/nonexistent/llama-cpp-server" in str(err.value)
    assert "demo" in str(err.value)


def test_fill_template_rejects_unknown_placeholder_and_keeps_other_braces() -> None:
    vals = {"port": "8080", "host": "127.0.0.1"}
    assert fill_template(
        ["--port", "{port}", '{"a": {"b": 1}}', "{ host }", "h={host}:{port}"], vals
    ) == [
        "--port",
        "8080",
        '{"a": {"b": 1}}',
        "{ host }",
        "h=127.0.0.1:8080",
    ]
    with pytest.raises(SuiteError, match=r"unknown placeholder \{model\}"):
        fill_template(["-m", "{model}"], vals)


async def test_unknown_placeholder_raises_before_start(tmp_path: Path) -> None:
    srv = ManagedServer(
        [*TEMPLATE, "--alias", "{name}"],
        model_path=tmp_path / "m.gguf",
        model_id="m",
        log_path=tmp_path / "s.log",
    )
    with pytest.raises(SuiteError, match="name"):
        async with srv:
            pass
    assert srv.pid == 0


async def test_teardown_kills_whole_process_group(tmp_path: Path) -> None:
    async with make(tmp_path, "--spawn-child") as server:
        async with httpx.AsyncClient() as client:
            child = (await client.get(server.base_url + "/child")).json()["pid"]
        assert psutil.Process(child).ppid() == server.pid
        pid = server.pid
    assert await wait_gone(pid, child)


async def test_sigterm_ignored_escalates_to_sigkill(tmp_path: Path) -> None:
    srv = make(tmp_path, "--ignore-sigterm", "--spawn-child", stop_timeout_s=0.5)
    async with srv as server, httpx.AsyncClient() as client:
        child = (await client.get(server.base_url + "/child")).json()["pid"]
    info = srv.exited()
    assert info is not None and info.signal == "SIGKILL" and info.returncode == -9
    assert await wait_gone(srv.pid, child)


async def test_death_during_run_is_recorded_and_run_continues(tmp_path: Path) -> None:
    seen: list[ExitInfo] = []
    srv = make(tmp_path, "--die-after", "1.5", on_exit=seen.append)  # healthy first
    async with srv as server:
        deadline = time.monotonic() + 10
        while server.exited() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        info = server.exited()
        assert info is not None
        assert (info.returncode, info.signal) == (3, None)
        assert abs(info.at - time.time()) < 10
        assert info.describe() == "exit code 3"
    assert seen == [info]  # called exactly once, not again at teardown


async def test_on_exit_callback_errors_do_not_escape(tmp_path: Path) -> None:
    def boom(info: ExitInfo) -> None:
        raise RuntimeError("callback bug")

    async with make(tmp_path, "--die-after", "1.5", on_exit=boom) as server:  # healthy first
        deadline = time.monotonic() + 10
        while server.exited() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert server.exited() is not None
        await asyncio.sleep(0.05)  # watcher finished without raising into the run


async def test_cancellation_during_run_tears_down(tmp_path: Path) -> None:
    srv = make(tmp_path)
    started = asyncio.Event()

    async def run() -> None:
        async with srv:
            started.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(run())
    await asyncio.wait_for(started.wait(), 15)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone(srv.pid)


async def test_cancellation_during_startup_tears_down(tmp_path: Path) -> None:
    srv = make(tmp_path, "--load-seconds", "30")
    task = asyncio.create_task(srv.__aenter__())
    deadline = time.monotonic() + 10
    while srv.pid == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert srv.pid
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone(srv.pid)


async def test_atexit_safety_net_kills_live_groups(tmp_path: Path) -> None:
    srv = make(tmp_path)
    async with srv as server:
        assert server.pid in launcher._LIVE_GROUPS
        launcher._kill_leftovers()  # what atexit would run
        assert await wait_gone(server.pid)
        assert server.pid not in launcher._LIVE_GROUPS
    info = srv.exited()
    assert info is not None and info.signal == "SIGKILL"
