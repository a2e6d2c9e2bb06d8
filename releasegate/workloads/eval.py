"""Eval workloads: render each item's prompt, ask one arm's model, score the answer.

Stored text is bounded (:func:`releasegate.records.clip.bounded`): prompt and output keep at
most 16 KiB each in the record, with their full length and sha256. Scorers see the output as
the client kept it, up to 1 Mi characters (``OpenAIClient.max_text_chars``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from releasegate.endpoints.client import Completion, OpenAIClient
from releasegate.records import ItemRecord, Timing
from releasegate.records.clip import bounded
from releasegate.suite import Arm, EvalWorkload
from releasegate.workloads.budget import Budget
from releasegate.workloads.items import EvalItem, render_prompt
from releasegate.workloads.scorers import score, scorer_name


def score_output(workload: EvalWorkload, item: EvalItem, output: str) -> tuple[dict, dict]:
    """Scores and details of one output under every scorer of the workload."""
    scores: dict[str, float] = {}
    details: dict[str, str] = {}
    for spec in workload.scorers:
        result = score(spec, output, item)
        name = scorer_name(spec)
        if name in scores:  # two scorers of one kind: number them
            name = f"{name}_{sum(k.startswith(name) for k in scores) + 1}"
        scores[name] = float(result.value)
        details[name] = result.detail
    return scores, details


def _cluster(workload: EvalWorkload, item: EvalItem) -> str | None:
    field = workload.dataset.cluster_field
    if field is None or item.fields.get(field) is None:
        return None
    return str(item.fields[field])


async def run_eval(
    client: OpenAIClient,
    workload: EvalWorkload,
    items: list[EvalItem],
    arm: Arm,
    on_record: Callable[[ItemRecord], None],
) -> int:
    """Run every item on one arm with the workload's concurrency; return the error count.

    A failed request is scored like an empty answer and keeps its error in the record; so
    is an item left unsent because the workload's ``budget_s`` was spent.
    """
    budget = Budget(workload.budget_s)
    budget.start()
    queue: asyncio.Queue[EvalItem] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            prompt = render_prompt(workload.template, item)
            completion = await _ask(client, workload, prompt, budget)
            output = completion.text if completion.timing.error is None else ""
            errors += completion.timing.error is not None
            scores, details = score_output(workload, item, output)
            stored_prompt, prompt_chars, prompt_sha = bounded(prompt)
            stored_output, output_chars, output_sha = bounded(
                completion.text, completion.text_chars, completion.text_sha256
            )
            on_record(
                ItemRecord(
                    t=time.time(),
                    arm=arm,
                    workload=workload.name,
                    item_id=item.id,
                    category=item.category,
                    cluster=_cluster(workload, item),
                    prompt=stored_prompt,
                    prompt_chars=prompt_chars,
                    prompt_sha256=prompt_sha,
                    output=stored_output,
                    output_chars=output_chars,
                    output_sha256=output_sha,
                    scores=scores,
                    score_details=details,
                    timing=completion.timing,
                )
            )

    try:
        await asyncio.gather(*(worker() for _ in range(min(workload.concurrency, len(items)))))
    finally:
        budget.stop()
    return errors


async def _ask(
    client: OpenAIClient, workload: EvalWorkload, prompt: str, budget: Budget
) -> Completion:
    """One item's request, within what is left of the budget (not sent once it is spent)."""
    if budget.spent:
        return Completion(budget.not_sent(), "")
    kept: list[Completion] = []

    async def send(deadline: float | None) -> Timing:
        completion = await client.complete(
            prompt,
            max_tokens=workload.max_tokens,
            system=workload.system,
            extra=workload.params or None,
            deadline_s=deadline,
        )
        kept.append(completion)
        return completion.timing

    timing = await budget.run(send, client.deadline_s)
    return kept[0]._replace(timing=timing)
