"""Fuzz ``releasegate validate`` at scale and print what happened as JSON.

The same property as ``tests/unit/test_fuzz_validate.py`` (exit 0 or 2, never a traceback,
every problem a ``file:line: …`` line), with many more examples (default 10,000) drawn from
the strategies in ``tests/fakes/fuzz_suites.py``. Usage::

    python benchmarks/fuzz_validate.py [--examples N] [--seed S]

Output: ``{"examples": …, "exit_codes": {"0": …, "2": …}, "failures": …, "seconds": …,
"slowest_s": …}``; the exit status is 1 when any example broke the property.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # this checkout's releasegate, then fakes

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from fakes.fuzz_suites import (  # noqa: E402
    check_outcome,
    documents,
    run_validate,
    write_fixture_files,
)


def fuzz(examples: int, random_seed: int) -> dict[str, object]:
    """Run the property ``examples`` times; count exit codes and failures."""
    folder = Path(tempfile.mkdtemp(prefix="releasegate-fuzz-"))
    write_fixture_files(folder)
    codes: Counter[int] = Counter()
    failures: list[str] = []
    slowest = 0.0

    @seed(random_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # count every example; no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(document=documents)
    def property_holds(document: bytes) -> None:
        nonlocal slowest
        started = time.perf_counter()
        result = run_validate(folder, document)
        slowest = max(slowest, time.perf_counter() - started)
        codes[result.exit_code] += 1
        try:
            check_outcome(folder, result)
        except AssertionError as exc:
            if len(failures) < 20:
                failures.append(f"{exc} :: {document[:200]!r}")

    started = time.perf_counter()
    property_holds()
    return {
        "examples": sum(codes.values()),
        "exit_codes": {str(k): v for k, v in sorted(codes.items())},
        "failures": len(failures),
        "failure_samples": failures,
        "seconds": round(time.perf_counter() - started, 1),
        "slowest_s": round(slowest, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = fuzz(args.examples, args.seed)
    print(json.dumps(report, indent=2))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
