"""Developer sessions: tests, lint, demo, bench (client capacity), calibration (gate sim), fuzz."""

from __future__ import annotations

import shutil

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, end-to-end tests on the real llama-server included."""
    session.install("-e", ".[demo,dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", "releasegate", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "releasegate", "tests", "benchmarks", "noxfile.py")


@nox.session
def demo(session: nox.Session) -> None:
    """The demo gate: Gemma-3-270M (candidate) against SmolLM2-135M (incumbent)."""
    session.install("-e", ".[demo]")
    session.run("releasegate", "run", "suites/demo.yaml", *session.posargs, success_codes=[0, 1, 3])


@nox.session
def bench(session: nox.Session) -> None:
    """Client capacity against a local nginx stub (installs Debian's nginx if missing)."""
    if shutil.which("nginx") is None:
        session.run("apt-get", "update", external=True)
        session.run("apt-get", "install", "-y", "nginx", external=True)
    session.install("-e", ".")
    session.run("python", "benchmarks/client_capacity.py", *session.posargs)


@nox.session
def calibration(session: nox.Session) -> None:
    """Gate calibration by simulation with known truth (≥ 1,000 runs per scenario)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/gate_calibration.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Fuzz `releasegate validate` with ≥ 10,000 generated suites (exit 0 or 2, no traceback)."""
    session.install("-e", ".[dev]")
    session.run("python", "benchmarks/fuzz_validate.py", *session.posargs)


@nox.session
def coverage(session: nox.Session) -> None:
    """One-sided coverage of every gate interval by simulation (≥ 2,000 runs per cell)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/interval_coverage.py", *session.posargs)
