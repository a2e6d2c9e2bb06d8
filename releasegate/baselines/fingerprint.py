"""What a stored baseline was measured on, and which differences void a comparison with it.

A :class:`Fingerprint` is cut from a run's ``meta`` record for one arm: the model file, the
server recipe (argv template and the model's extra arguments), the server build, the
machine, the suite hash and the request parameters.

Rules, decided here once:

- **Performance** numbers compare only when the server recipe and the machine are the same:
  server command template, server URL, the model's ``server_args``, the server build
  (``build_sha256``, else ``binary_sha256``, else the executable's sha256), CPU model,
  usable CPU count and GPU names. See :func:`performance_mismatches`.
- The **model file** is not part of that: a candidate is naturally another model. It
  matters for drift checks (the incumbent now against its own baseline), see
  :func:`drift_mismatches`.
- Suite hash, request parameters, total memory and releasegate version differences are
  **warnings** only (:func:`fingerprint_warnings`); so is a server whose build is unknown on
  both sides (e.g. reached by URL), since it cannot be verified either way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from releasegate.records.model import Arm, MetaRecord

_BUILD_KINDS = ("build_sha256", "binary_sha256", "executable_sha256")


class ServerBuild(BaseModel):
    """Which server build ran, as ``environment.server_info`` identified it."""

    model_config = ConfigDict(extra="forbid")

    package: str | None = None
    package_version: str | None = None
    build_sha256: str | None = Field(
        default=None, description="One digest over the llama-server binary and its libraries."
    )
    binary_sha256: str | None = None
    executable_sha256: str | None = Field(
        default=None, description="sha256 of argv[0] as resolved (may be a launcher script)."
    )

    def identity(self) -> tuple[str, str] | None:
        """The strongest known identity: (kind, digest), or None when nothing is known."""
        for kind in _BUILD_KINDS:
            value = getattr(self, kind)
            if value:
                return kind, value
        return None


class Fingerprint(BaseModel):
    """One arm of one run: model, server recipe and build, machine, suite and parameters."""

    model_config = ConfigDict(extra="forbid")

    model_id: str
    model_sha256: str | None = None
    server_command: list[str] | None = Field(
        default=None, description="The suite's server argv template, as given."
    )
    server_url: str | None = None
    server_args: list[str] = Field(default_factory=list, description="The model's server_args.")
    server_build: ServerBuild = Field(default_factory=ServerBuild)
    cpu_model: str | None = None
    cpu_count: int | None = Field(default=None, description="Usable (affinity) CPUs.")
    memory_total_bytes: int | None = None
    gpus: list[str] = Field(default_factory=list, description="GPU names, in index order.")
    releasegate_version: str | None = None
    suite_sha256: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="The model's request params.")


def fingerprint_from_meta(meta: MetaRecord, arm: Arm) -> Fingerprint:
    """Cut the fingerprint of one arm out of a run's ``meta`` record.

    Missing environment keys (older or partial runs) become None / empty values.
    """
    env = meta.environment or {}
    model = (env.get("models") or {}).get(arm) or {}
    spec = meta.suite.get(arm) or {}
    server = env.get("server") or {}
    machine = env.get("machine") or {}
    cpu_count = machine.get("cpu_count_usable") or machine.get("cpu_count_logical")
    return Fingerprint(
        model_id=str(spec.get("id") or model.get("id") or arm),
        model_sha256=model.get("sha256"),
        server_command=server.get("command"),
        server_url=server.get("url"),
        server_args=list(spec.get("server_args") or []),
        server_build=ServerBuild(
            package=server.get("package"),
            package_version=server.get("package_version"),
            build_sha256=server.get("build_sha256"),
            binary_sha256=server.get("binary_sha256"),
            executable_sha256=server.get("sha256"),
        ),
        cpu_model=machine.get("cpu_model"),
        cpu_count=cpu_count,
        memory_total_bytes=machine.get("memory_total_bytes"),
        gpus=[str(g.get("name")) for g in machine.get("gpus") or [] if isinstance(g, dict)],
        releasegate_version=env.get("releasegate"),
        suite_sha256=meta.suite_sha256,
        params=dict(model.get("params") or spec.get("params") or {}),
    )


def _differs(label: str, stored: object, current: object) -> list[str]:
    if stored == current:
        return []
    return [f"{label}: baseline {_show(stored)}, now {_show(current)}"]


def _show(value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value)


def _build_mismatch(stored: ServerBuild, current: ServerBuild) -> list[str]:
    """Compare by the strongest identity either side knows; the other must know it too."""
    known = [i for i in (stored.identity(), current.identity()) if i is not None]
    if not known:
        return []  # unverifiable on both sides: a warning, not a mismatch
    kind = min((k for k, _ in known), key=_BUILD_KINDS.index)
    was, now = getattr(stored, kind), getattr(current, kind)
    if not was or not now:
        side = "the baseline" if not was else "this run"
        return [f"server build: {kind} unknown for {side}, cannot match the build"]
    return [] if was == now else [_build_line(kind, stored, current)]


def _build_line(kind: str, stored: ServerBuild, current: ServerBuild) -> str:
    was, now = getattr(stored, kind), getattr(current, kind)
    return (
        f"server build ({kind}): baseline {str(was)[:12]} "
        f"({stored.package_version or 'version unknown'}), "
        f"now {str(now)[:12]} ({current.package_version or 'version unknown'})"
    )


def performance_mismatches(stored: Fingerprint, current: Fingerprint) -> list[str]:
    """Differences that make performance numbers of the two incomparable (one line each).

    The model file, suite hash, request params and releasegate version are not listed here.
    """
    out = _differs("server command", stored.server_command, current.server_command)
    out += _differs("server url", stored.server_url, current.server_url)
    out += _differs("server_args", stored.server_args, current.server_args)
    out += _build_mismatch(stored.server_build, current.server_build)
    out += _differs("cpu model", stored.cpu_model, current.cpu_model)
    out += _differs("cpu count", stored.cpu_count, current.cpu_count)
    out += _differs("gpus", stored.gpus, current.gpus)
    return out


def drift_mismatches(stored: Fingerprint, current: Fingerprint) -> list[str]:
    """Differences that void a drift check (the same model now against its baseline).

    Everything :func:`performance_mismatches` lists, plus a different model file (when both
    hashes are known: a model reached by URL has no file to hash).
    """
    out = []
    if stored.model_sha256 and current.model_sha256 and stored.model_sha256 != current.model_sha256:
        out.append(
            f"model file: baseline sha256 {stored.model_sha256[:12]}, "
            f"now {current.model_sha256[:12]}"
        )
    return out + performance_mismatches(stored, current)


def fingerprint_warnings(stored: Fingerprint, current: Fingerprint) -> list[str]:
    """Differences worth showing that do not void a comparison by themselves."""
    out = _differs("suite sha256", stored.suite_sha256, current.suite_sha256)
    out += _differs("request params", stored.params, current.params)
    out += _differs("memory total bytes", stored.memory_total_bytes, current.memory_total_bytes)
    out += _differs("releasegate version", stored.releasegate_version, current.releasegate_version)
    if stored.server_build.identity() is None and current.server_build.identity() is None:
        out.append("server build: unknown on both sides, cannot verify it is the same")
    return out
