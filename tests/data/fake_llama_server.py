"""A tiny stand-in for llama-server used by the launcher and probe tests (stdlib only).

Serves ``/health`` (503 "Loading model" until ``--load-seconds`` have passed, then 200),
``/metrics`` (Prometheus text with llamacpp:* names, with ``--metrics``; else 404) and
``/child`` (the pid of a helper child process, with ``--spawn-child``). Always exits after
``--lifetime`` seconds so a leaked process cannot live long.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

METRICS = """\
# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 120
# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 456
# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# HELP llamacpp:requests_deferred Number of requests deferred.
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 3
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-m", "--model", default="")
    ap.add_argument("--load-seconds", type=float, default=0.0)
    ap.add_argument("--die-after", type=float, default=None, help="exit code 3 after S seconds")
    ap.add_argument("--exit-immediately", type=int, default=None, metavar="CODE")
    ap.add_argument("--metrics", action="store_true")
    ap.add_argument("--spawn-child", action="store_true")
    ap.add_argument("--ignore-sigterm", action="store_true")
    ap.add_argument("--lifetime", type=float, default=60.0)
    args = ap.parse_args()

    print(f"fake: model {args.model!r} argv {sys.argv[1:]}", flush=True)
    if args.exit_immediately is not None:
        print("fake: error: failed to load model (simulated)", file=sys.stderr, flush=True)
        sys.exit(args.exit_immediately)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    lifetime = min(args.lifetime, 120.0)
    threading.Timer(lifetime, os._exit, args=(0,)).start()
    if args.die_after is not None:
        threading.Timer(args.die_after, os._exit, args=(3,)).start()

    child_pid = None
    if args.spawn_child:
        code = f"import time; time.sleep({lifetime})"
        child_pid = subprocess.Popen([sys.executable, "-c", code]).pid

    ready_at = time.monotonic() + args.load_seconds

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                if time.monotonic() < ready_at:
                    err = {"error": {"code": 503, "message": "Loading model"}}
                    self._send(503, json.dumps(err))
                else:
                    self._send(200, json.dumps({"status": "ok"}))
            elif self.path == "/metrics" and args.metrics:
                self._send(200, METRICS, "text/plain; version=0.0.4")
            elif self.path == "/child" and child_pid is not None:
                self._send(200, json.dumps({"pid": child_pid}))
            else:
                self._send(404, json.dumps({"error": "not found"}))

        def log_message(self, format: str, *a: object) -> None:
            print("fake: " + format % a, file=sys.stderr, flush=True)

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"fake: listening on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
