"""The execute stage: run the plan's eval and load workloads on both arms, writing records.

Eval workloads run on both arms at once (quality does not depend on timing). Load rounds
run one at a time in the plan's A B B A order; around each round the server's memory peak
is reset and read, and its ``/metrics`` are scraped about once a second. With sequential
stopping on, the gate looks after every completed round pair and skips the remaining rounds
once every critical load check is decided (see :mod:`releasegate.gate.sequential`).

A resumed run (:mod:`releasegate.resume`) passes what earlier attempts finished: those items
and rounds are skipped, the rest run in plan order, and the looks see all of it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from releasegate.endpoints.arms import Endpoint, open_endpoints
from releasegate.gate.sequential import compare_evals, look
from releasegate.plan import LoadRound, Plan
from releasegate.probes.metrics import ScrapedMemory, scrape_metrics
from releasegate.progress import RunProgress
from releasegate.records import EventRecord, ProbeRecord, Record, RecordWriter, RequestRecord
from releasegate.records.lifecycle import Finished
from releasegate.records.views import RunRecords
from releasegate.workloads.eval import run_eval
from releasegate.workloads.load import run_round

METRICS_PERIOD_S = 1.0


async def execute(
    plan: Plan,
    run_dir: Path,
    writer: RecordWriter,
    progress: RunProgress,
    finished: Finished | None = None,
) -> None:
    """Run every workload of the plan; every result is appended to ``writer`` as it arrives.

    Args:
        finished: what earlier attempts of this run finished (a resume); skipped here.

    Raises:
        EndpointError: an endpoint could not be brought up (nothing is run then).
    """
    suite = plan.loaded.suite
    done = finished or Finished(frozenset(), frozenset(), frozenset(), False)
    evals = [
        (e, arm, [i for i in e.items if (e.workload.name, i.id, arm) not in done.items])
        for e in plan.evals
        for arm in plan.run_arms
    ]
    rounds = [] if done.stopped else [r for r in plan.rounds if _key(r) not in done.rounds]
    if not rounds and not any(items for _, _, items in evals):
        progress.stage("nothing left to run")
        return
    concurrency = max(
        [w.concurrency for w in suite.eval] + [w.concurrency for w in suite.load] + [1]
    )
    seen: list[Record] = list(done.records)  # in-memory copy for the sequential looks

    def write(record: Record) -> None:
        writer.write(record)
        seen.append(record)

    progress.stage("starting servers")
    async with open_endpoints(plan, run_dir, write, concurrency) as endpoints:
        for e in plan.evals:
            todo = [(arm, items) for plan_e, arm, items in evals if plan_e is e and items]
            if not todo:
                continue
            progress.stage(f"eval {e.workload.name}")
            task = progress.add(f"eval {e.workload.name}", total=sum(len(i) for _, i in todo))

            def on_item(record: Record, task: int = task) -> None:
                write(record)
                progress.advance(task)

            await asyncio.gather(
                *(
                    run_eval(endpoints[arm].client, e.workload, items, arm, on_item)
                    for arm, items in todo
                )
            )
        if rounds:
            await _run_load(plan, rounds, done.rounds, endpoints, write, seen, progress)
        progress.stage("stopping servers")


def _key(rnd: LoadRound) -> tuple[str, int, str]:
    return (rnd.workload.name, rnd.index, rnd.arm)


async def _run_load(
    plan: Plan,
    rounds: list[LoadRound],
    finished: frozenset[tuple[str, int, str]],
    endpoints,
    write,
    seen: list[Record],
    progress,
) -> None:
    """The load rounds left, in plan order, stopping early when a sequential look says so."""
    suite = plan.loaded.suite
    task = progress.add("load rounds", total=len(rounds))
    done: set[tuple[str, int, str]] = set(finished)
    evals = None
    for rnd in rounds:
        progress.stage(f"load {rnd.workload.name}: {rnd.arm} round {rnd.index + 1}")
        await _run_load_round(rnd, endpoints[rnd.arm], write)
        progress.advance(task)
        done.add(_key(rnd))
        other = "incumbent" if rnd.arm == "candidate" else "candidate"
        if not plan.sequential or (rnd.workload.name, rnd.index, other) not in done:
            continue
        run = RunRecords.of(seen)
        evals = evals if evals is not None else compare_evals(suite, run)
        verdict = look(suite, run, evals=evals)
        if verdict.stop and rnd is not rounds[-1]:
            skipped = len(plan.rounds) - len(done)
            write(
                EventRecord(
                    t=time.time(),
                    event="sequential_stop",
                    detail={
                        "pairs": verdict.pairs,
                        "reason": verdict.reason,
                        "decided": verdict.decided,
                        "rounds_skipped": skipped,
                    },
                )
            )
            progress.stage(
                f"sequential stop after {verdict.pairs} round pairs "
                f"({verdict.reason}); {skipped} rounds skipped"
            )
            progress.advance(task, len(rounds) - len(done - finished))
            return


async def _poll_metrics(
    endpoint: Endpoint, rnd: LoadRound, write, memory: ScrapedMemory | None = None
) -> None:
    """Scrape ``/metrics`` about once a second until cancelled; stop if there are none."""
    assert endpoint.metrics_url is not None
    while True:
        values = await scrape_metrics(endpoint.http, endpoint.metrics_url)
        if values is None:
            return
        if memory is not None:
            memory.observe(values)
        write(
            ProbeRecord(t=time.time(), arm=rnd.arm, probe="metrics", round=rnd.index, values=values)
        )
        await asyncio.sleep(METRICS_PERIOD_S)


async def _run_load_round(rnd: LoadRound, endpoint: Endpoint, write) -> None:
    workload = rnd.workload
    if endpoint.sampler is not None:
        endpoint.sampler.reset_peak()
    write(
        EventRecord(
            t=time.time(),
            arm=rnd.arm,
            event="round_start",
            detail={"workload": workload.name, "round": rnd.index},
        )
    )
    poller = None
    # not launched here: memory only from the server's own /metrics, if it exports RSS
    memory = ScrapedMemory() if endpoint.sampler is None and endpoint.metrics_url else None
    if endpoint.metrics_url is not None:
        poller = asyncio.create_task(_poll_metrics(endpoint, rnd, write, memory))

    def on_result(seq: int, timing, warmup: bool) -> None:
        write(
            RequestRecord(
                t=time.time(),
                arm=rnd.arm,
                workload=workload.name,
                round=rnd.index,
                seq=seq,
                warmup=warmup,
                timing=timing,
            )
        )

    try:
        summary = await run_round(
            endpoint.client,
            workload.prompts,
            concurrency=workload.concurrency,
            max_tokens=workload.max_tokens,
            requests=workload.requests_per_round,
            duration_s=workload.duration_s,
            warmup=workload.warmup_requests,
            extra={**workload.params, **({"ignore_eos": True} if workload.ignore_eos else {})},
            on_result=on_result,
            budget=endpoint.budget(workload.name, workload.budget_s),
        )
    finally:
        if poller is not None:
            poller.cancel()
            try:
                await poller
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # the run itself is being cancelled (a signal), not just the poller
    rss = None
    if endpoint.sampler is not None:
        rss = {
            "peak_rss": float(endpoint.sampler.peak_rss),
            "last_rss": float(endpoint.sampler.last_rss),
        }
    elif memory is not None and endpoint.metrics_url is not None:
        memory.observe(await scrape_metrics(endpoint.http, endpoint.metrics_url))  # round end
        rss = memory.values()
    if rss is not None:
        write(ProbeRecord(t=time.time(), arm=rnd.arm, probe="memory", round=rnd.index, values=rss))
    write(
        EventRecord(
            t=time.time(),
            arm=rnd.arm,
            event="round_end",
            detail={"workload": workload.name, "round": rnd.index, **summary.as_dict()},
        )
    )
