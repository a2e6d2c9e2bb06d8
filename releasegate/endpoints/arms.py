"""Bring up both arms' endpoints identically: launch (or connect to) them, attach probes.

In url mode each endpoint is probed before anything runs (:mod:`releasegate.endpoints.probe`):
one that does not answer ends the run with EndpointError (exit 4). URLs written to records
are redacted (:func:`releasegate.redact.redact_url`).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from releasegate.endpoints.client import OpenAIClient
from releasegate.endpoints.launcher import ExitInfo, ManagedServer
from releasegate.endpoints.probe import probe_endpoint, require
from releasegate.errors import EndpointError
from releasegate.plan import ArmPlan, Plan
from releasegate.probes.memory import MemorySampler
from releasegate.records import EventRecord
from releasegate.redact import redact_url
from releasegate.suite import Arm
from releasegate.workloads.budget import Budget


@dataclass
class Endpoint:
    """One arm's live endpoint: the client, and for a launched server its process and probes."""

    arm: Arm
    base_url: str
    client: OpenAIClient
    http: httpx.AsyncClient
    server: ManagedServer | None = None
    sampler: MemorySampler | None = None
    metrics_url: str | None = None
    budgets: dict[str, Budget] = field(default_factory=dict)

    def budget(self, workload: str, seconds: float | None) -> Budget:
        """The time budget of a workload on this arm, kept across its rounds."""
        return self.budgets.setdefault(workload, Budget(seconds))


def _api_key(env_name: str | None) -> str | None:
    if env_name is None:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise EndpointError(f"environment variable {env_name} (api_key_env) is not set")
    return key


@asynccontextmanager
async def open_endpoints(
    plan: Plan,
    run_dir: Path,
    on_event: Callable[[EventRecord], None],
    max_concurrency: int,
) -> AsyncIterator[dict[Arm, Endpoint]]:
    """Launch or connect both arms, with the same recipe, and tear everything down after.

    Servers are launched one after the other (so start-up does not compete for CPU) and
    each is healthy before the run starts. A server that dies later is recorded as an event;
    the run carries on and its requests become error records.
    """
    suite = plan.loaded.suite
    spec = suite.server
    async with AsyncExitStack() as stack:
        endpoints: dict[Arm, Endpoint] = {}
        for arm in plan.run_arms:
            arm_plan: ArmPlan = plan.arms[arm]
            model = suite.model(arm)
            server = None
            if spec.command is not None:
                assert arm_plan.model_path is not None
                server = ManagedServer(
                    spec.command,
                    model_path=arm_plan.model_path,
                    model_id=model.id,
                    log_path=run_dir / f"server-{arm}.log",
                    health_path=spec.health_path,
                    startup_timeout_s=spec.startup_timeout_s,
                    extra_args=model.server_args,
                    on_exit=_exit_reporter(arm, on_event),
                )
                started = time.time()
                await stack.enter_async_context(server)
                base_url = server.base_url
                on_event(
                    EventRecord(
                        t=time.time(),
                        arm=arm,
                        event="server_started",
                        detail={
                            "argv": server.argv,
                            "pid": server.pid,
                            "base_url": base_url,
                            "startup_s": round(time.time() - started, 3),
                        },
                    )
                )
            else:
                url = suite.endpoint_url(arm)
                assert url is not None  # guaranteed by the suite's validation
                base_url = url.rstrip("/")
                on_event(
                    EventRecord(
                        t=time.time(),
                        arm=arm,
                        event="connected",
                        detail={"base_url": redact_url(base_url)},
                    )
                )
            api_key = _api_key(suite.api_key_env(arm))
            client = OpenAIClient(
                base_url,
                model=model.id,
                api=model.api,
                params=model.params,
                api_key=api_key,
                timeout_s=spec.request_timeout_s,
                deadline_s=spec.request_deadline_s,
                max_connections=max(max_concurrency, 1),
            )
            stack.push_async_callback(client.aclose)
            if server is None:
                probe = await probe_endpoint(
                    base_url, client, health_path=spec.health_path, api_key=api_key
                )
                on_event(
                    EventRecord(t=time.time(), arm=arm, event="probe", detail=probe.as_detail())
                )
                require(arm, probe)
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
            http = httpx.AsyncClient(timeout=5.0, headers=headers)
            stack.push_async_callback(http.aclose)
            endpoint = Endpoint(arm=arm, base_url=base_url, client=client, http=http, server=server)
            if spec.metrics_path:
                root = base_url.removesuffix("/v1")
                endpoint.metrics_url = root + spec.metrics_path
            if server is not None:
                sampler = MemorySampler(server.pid, period_s=0.2)
                await stack.enter_async_context(sampler)
                endpoint.sampler = sampler
            endpoints[arm] = endpoint
        yield endpoints


def _exit_reporter(arm: Arm, on_event: Callable[[EventRecord], None]) -> Callable[[ExitInfo], None]:
    def report(info: ExitInfo) -> None:
        on_event(
            EventRecord(
                t=time.time(),
                arm=arm,
                event="server_exited",
                detail={"returncode": info.returncode, "signal": info.signal},
            )
        )

    return report
