"""`releasegate calibrate` on the real llama-server: A/A noise and recommended margins."""

from __future__ import annotations

import json

from releasegate.baselines import load_baseline

from e2e.support import releasegate
from e2e.test_failures import small_suite


def test_calibrate_measures_noise_and_writes_the_baseline(llama_server, tmp_path) -> None:
    suite = small_suite(tmp_path, requests=4, rounds=3)
    out = tmp_path / "calib"
    root = tmp_path / "baselines"
    proc = releasegate(
        "calibrate",
        str(suite),
        "--repeats",
        "2",
        "--out",
        str(out),
        "--quiet",
        "--write-baseline",
        "--baselines",
        str(root),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads((out / "calibration.json").read_text())["checks"]}
    assert set(rows) == {"quality", "e2e"}
    assert rows["quality"]["estimates"] == [0.0, 0.0]  # same weights, greedy: no noise
    assert rows["e2e"]["noise"] > 0 and len(rows["e2e"]["estimates"]) == 2
    assert rows["e2e"]["recommended_margin"] >= 0.02
    baseline = load_baseline(root / "small" / "smollm2.json")
    assert baseline.calibration == {name: row["noise"] for name, row in rows.items()}
    assert any(r.kind == "request" for r in baseline.records)
    assert baseline.fingerprint.model_sha256 and baseline.fingerprint.server_build
