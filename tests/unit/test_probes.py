"""Probes: RSS sampling of real child process trees, Prometheus parsing and scraping."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from releasegate.endpoints.launcher import ManagedServer, free_port
from releasegate.probes import (
    MemorySampler,
    in_flight,
    metric_sum,
    parse_metrics,
    queue_depth,
    scrape_metrics,
)

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_llama_server.py"
MB = 1 << 20

# The child holds 60 MB for a while, frees it, then idles; the root only waits on it.
ALLOC_CHILD = (
    "import time; time.sleep(0.4); b = b'x' * (60 << 20); time.sleep(1.0); del b; time.sleep(5)"
)
ROOT = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {ALLOC_CHILD!r}])"


@pytest.fixture
def spawn() -> Iterator:
    procs: list[subprocess.Popen[bytes]] = []

    def _spawn(code: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
        procs.append(proc)
        return proc

    yield _spawn
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


async def until(cond, timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.02)
    return bool(cond())


async def test_sampler_reads_a_live_process(spawn) -> None:
    proc = spawn("import time; time.sleep(5)")
    async with MemorySampler(proc.pid, period_s=0.05) as mem:
        assert await until(lambda: mem.samples >= 3)
        assert mem.peak_rss >= mem.last_rss > 1 * MB
    assert not mem.root_gone


async def test_sampler_sums_descendants_and_tracks_peak(spawn) -> None:
    root = spawn(ROOT)
    async with MemorySampler(root.pid, period_s=0.05, tree_refresh_s=0.1) as mem:
        assert await until(lambda: len(mem._tree) == 2, timeout=3)  # root + child
        await asyncio.sleep(0.1)
        baseline = mem.last_rss
        assert await until(lambda: mem.peak_rss >= baseline + 50 * MB)
        assert await until(lambda: mem.last_rss < mem.peak_rss - 40 * MB)  # freed again
        peak = mem.peak_rss
        mem.reset_peak()
        assert mem.peak_rss == mem.last_rss < peak - 40 * MB
        await asyncio.sleep(0.2)
        assert mem.peak_rss < peak - 40 * MB  # new window does not see the old peak


async def test_sampler_stops_quietly_when_root_exits(spawn) -> None:
    proc = spawn("import time; time.sleep(0.3)")
    mem = MemorySampler(proc.pid, period_s=0.05)
    await mem.start()
    assert await until(lambda: mem.root_gone, timeout=5)
    assert mem._task is not None and mem._task.done() and mem._task.exception() is None
    assert mem.peak_rss > 0
    await mem.stop()
    assert mem.sample() is None


def test_sampler_on_missing_pid_returns_none(spawn) -> None:
    proc = spawn("pass")
    proc.wait(5)
    mem = MemorySampler(proc.pid)
    assert mem.sample() is None and mem.root_gone and mem.samples == 0


def test_sampler_is_cheap(spawn) -> None:
    proc = spawn(ROOT)
    mem = MemorySampler(proc.pid, tree_refresh_s=1.0)
    mem.sample()
    t0 = time.process_time()
    for _ in range(200):
        mem.sample()
    per_sample = (time.process_time() - t0) / 200
    assert mem.samples == 201
    assert per_sample < 0.001


# ---------------------------------------------------------------- metrics

LLAMA_TEXT = """\
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 5
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 120
"""

VLLM_TEXT = """\
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="a"} 4.0
vllm:num_requests_waiting{model_name="b"} 1.0
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="a"} 7.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="a"} 0.25
"""


def test_parse_llama_metrics() -> None:
    m = parse_metrics(LLAMA_TEXT)
    assert m == {
        "llamacpp:requests_processing": 2.0,
        "llamacpp:requests_deferred": 5.0,
        "llamacpp:prompt_tokens_total": 120.0,
    }
    assert queue_depth(m) == 5.0
    assert in_flight(m) == 2.0


def test_parse_vllm_metrics_with_labels() -> None:
    m = parse_metrics(VLLM_TEXT)
    assert m is not None
    assert m['vllm:num_requests_waiting{model_name="a"}'] == 4.0
    assert m['vllm:kv_cache_usage_perc{engine="0",model_name="a"}'] == 0.25
    assert queue_depth(m) == 5.0  # summed over models
    assert in_flight(m) == 7.0
    assert metric_sum(m, "vllm:num_requests") is None  # prefix of a name is not a match


def test_unknown_or_bad_metrics() -> None:
    assert parse_metrics("<html><body>oops</body></html>") is None
    assert parse_metrics("") == {}
    assert queue_depth({}) is None and in_flight(None) is None
    assert queue_depth({"other_metric": 1.0}) is None


def _mock_client(status: int, body: str) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_scrape_status_and_body_handling() -> None:
    async with _mock_client(200, LLAMA_TEXT) as c:
        assert (await scrape_metrics(c, "http://x/metrics")) == parse_metrics(LLAMA_TEXT)
    async with _mock_client(404, "not found") as c:
        assert await scrape_metrics(c, "http://x/metrics") is None
    async with _mock_client(200, "{ not prometheus }") as c:
        assert await scrape_metrics(c, "http://x/metrics") is None


async def test_scrape_unreachable_returns_none() -> None:
    async with httpx.AsyncClient(timeout=2.0) as c:
        assert await scrape_metrics(c, f"http://127.0.0.1:{free_port()}/metrics") is None


@pytest.mark.parametrize("with_metrics", [True, False])
async def test_scrape_fake_server(tmp_path: Path, with_metrics: bool) -> None:
    extra = ["--metrics"] if with_metrics else []
    srv = ManagedServer(
        [sys.executable, str(FAKE), "--host", "{host}", "--port", "{port}"],
        model_path=tmp_path / "m.gguf",
        model_id="m",
        log_path=tmp_path / "s.log",
        extra_args=extra,
        startup_timeout_s=15,
    )
    async with srv as server, httpx.AsyncClient(timeout=5.0) as client:
        m = await scrape_metrics(client, server.base_url + "/metrics")
    if with_metrics:
        assert m is not None
        assert queue_depth(m) == 3.0 and in_flight(m) == 2.0
        assert m["llamacpp:tokens_predicted_total"] == 456.0
    else:
        assert m is None
