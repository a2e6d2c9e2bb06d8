"""The fake OpenAI server (tests/fakes) as a launchable process, like llama-server.

``python fake_openai_launched.py --port P [--host H] [-m MODEL] [--token-delay S]`` serves
``/health`` (200) and the streaming completions of :class:`fakes.FakeOpenAIServer`, and
exits after ``--lifetime`` seconds so a leaked process cannot live long.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.openai_server import FakeOpenAIServer, Scenario  # noqa: E402


class _Launched(FakeOpenAIServer):
    async def _respond(self, writer: asyncio.StreamWriter, path: str, sc: Scenario) -> None:
        if path == "/health":
            body = json.dumps({"status": "ok"}).encode()
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
            )
            writer.write(head.encode() + b"\r\n\r\n" + body)
            await writer.drain()
            return
        await super()._respond(writer, path, sc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-m", "--model", default="")
    ap.add_argument("--token-delay", type=float, default=0.01)
    ap.add_argument("--lifetime", type=float, default=60.0)
    args = ap.parse_args()
    threading.Timer(min(args.lifetime, 120.0), os._exit, args=(0,)).start()
    scenario = Scenario(
        tokens=("Hello", ",", " world", "!"),
        first_token_delay_s=args.token_delay,
        token_delay_s=args.token_delay,
    )
    fake = _Launched(scenario)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(asyncio.start_server(fake._handle, args.host, args.port))
    print(f"fake-openai: listening on {args.host}:{args.port} model {args.model!r}", flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
