"""How many streamed requests per second can releasegate's client drive, and at what cost?

Starts nginx on 127.0.0.1 answering ``POST /v1/chat/completions`` with a fixed 16-token SSE
body (see ``benchmarks/nginx/``), so the server's share of every request is ~0.1 ms; then runs
the closed-loop load generator against it at each concurrency and prints JSON: requests/s,
achieved concurrency (also as % of requested), and the TTFT the client reports, which here is
the harness's own overhead.

    python benchmarks/client_capacity.py [--requests N] [--concurrency 1 8 64] [--uvloop]
        [--guidellm PATH/TO/guidellm]

Needs Debian's nginx (``apt-get install -y nginx``). With ``--guidellm``, GuideLLM (installed
apart, e.g. in a throwaway venv; never a dependency of releasegate) is run against the same
nginx at the same levels, offline, and its numbers are reported beside ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from releasegate.endpoints.client import OpenAIClient  # noqa: E402
from releasegate.records.model import Timing  # noqa: E402
from releasegate.workloads.load import run_round  # noqa: E402

# GuideLLM 0.8.1 on this 2-core machine against the same nginx (see benchmarks/README.md).
GUIDELLM_RPS = {8: 380.0, 64: 450.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen[bytes], deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on 127.0.0.1:{port} within {deadline_s} s")


@contextmanager
def nginx_server():
    """Run nginx in the foreground on a free port; yield its base URL; stop it at the end."""
    exe = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if exe is None:
        sys.exit(
            "nginx not found: install Debian's nginx (apt-get update && apt-get install -y nginx)"
        )
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="rg-nginx-") as root:
        os.chmod(root, 0o755)  # nginx workers drop root privileges and must read the body
        shutil.copy(HERE / "nginx" / "sse_body.txt", Path(root) / "sse_body.txt")
        conf = (HERE / "nginx" / "nginx.conf.template").read_text()
        conf = conf.replace("@ROOT@", root).replace("@PORT@", str(port))
        (Path(root) / "nginx.conf").write_text(conf)
        proc = subprocess.Popen(
            [exe, "-p", root, "-c", "nginx.conf"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(port, proc, 10.0)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(url: str, concurrency: int, requests: int) -> dict[str, Any]:
    ttfts: list[float] = []
    e2es: list[float] = []

    def on_result(_seq: int, timing: Timing, warmup: bool) -> None:
        if not warmup and timing.ttft_s is not None and timing.e2e_s is not None:
            ttfts.append(timing.ttft_s)
            e2es.append(timing.e2e_s)

    async with OpenAIClient(url, model="bench", max_connections=concurrency) as client:
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        summary = await run_round(
            client,
            ["Count to sixteen."],
            concurrency=concurrency,
            max_tokens=16,
            requests=requests,
            warmup=max(100, 4 * concurrency),
            on_result=on_result,
        )
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "requests": summary.requests,
        "errors": summary.errors,
        "requests_per_s": round(summary.requests_per_s, 1),
        "output_tokens_per_s": round(summary.output_tokens_per_s, 1),
        "achieved_concurrency": round(summary.mean_concurrency, 2),
        "achieved_concurrency_pct": round(100 * summary.mean_concurrency / concurrency, 1),
        "ttft_median_ms": round(1000 * statistics.median(ttfts), 3) if ttfts else None,
        "ttft_p95_ms": round(1000 * _pct(ttfts, 0.95), 3) if ttfts else None,
        "e2e_median_ms": round(1000 * statistics.median(e2es), 3) if e2es else None,
        "client_cpu_ms_per_request": round(1000 * cpu_s / max(1, summary.requests), 3),
    }
    if concurrency in GUIDELLM_RPS:
        result["x_guidellm_0_8_1"] = round(summary.requests_per_s / GUIDELLM_RPS[concurrency], 2)
    return result


async def main_async(args: argparse.Namespace, url: str) -> list[dict[str, Any]]:
    return [await measure(url, c, args.requests) for c in args.concurrency]


def guidellm(exe: str, url: str, concurrency: int, requests: int) -> dict[str, Any]:
    """Run GuideLLM's closed-loop ("concurrent") profile against the same server."""
    with tempfile.TemporaryDirectory(prefix="rg-guidellm-") as tmp:
        data, out = Path(tmp) / "prompts.json", Path(tmp) / "out.json"
        data.write_text(json.dumps([{"prompt": "Count to sixteen."}] * (requests + 100)))
        backend = f"kind=openai_http,target={url},model=bench,validate_backend=false,"
        cmd = [
            exe,
            "run",
            "--backend",
            backend + "http2=false,max_tokens=16",
            "--profile",
            f"kind=concurrent,streams={concurrency}",
            "--constraint",
            f"kind=max_requests,count={requests}",
            "--data",
            f"kind=json_file,path={data}",
            "--output",
            f"kind=json,path={out}",
            "--disable-console",
        ]
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=900)
        bench = json.loads(out.read_text())["benchmarks"][0]
    metrics = bench["metrics"]
    done = metrics["request_totals"]["successful"]
    in_flight = metrics["request_concurrency"]["successful"]["mean"]
    return {
        "concurrency": concurrency,
        "requests": done,
        "requests_per_s": round(done / bench["duration"], 1),
        "achieved_concurrency": round(in_flight, 2),
        "achieved_concurrency_pct": round(100 * in_flight / concurrency, 1),
        "ttft_median_ms": round(metrics["time_to_first_token_ms"]["successful"]["median"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="measured requests per level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop if installed")
    parser.add_argument("--guidellm", metavar="EXE", help="also run this GuideLLM executable")
    args = parser.parse_args()
    loop_name = "asyncio"
    runner: Any = asyncio.run
    if args.uvloop:
        try:
            import uvloop
        except ImportError:
            sys.exit("--uvloop: uvloop is not installed (pip install uvloop)")
        runner, loop_name = uvloop.run, "uvloop"
    others: list[dict[str, Any]] = []
    with nginx_server() as url:
        levels = runner(main_async(args, url))
        if args.guidellm:
            others = [guidellm(args.guidellm, url, c, args.requests) for c in args.concurrency]
    report: dict[str, Any] = {
        "server": "nginx, fixed 16-token SSE body",
        "event_loop": loop_name,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "levels": levels,
    }
    if others:
        report["guidellm_0_8_1"] = others
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
