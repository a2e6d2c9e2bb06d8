"""The exception tree of releasegate; the CLI maps each branch to an exit code.

    ReleasegateError
    ├── SuiteError            invalid suite / CLI input                  → exit 2
    ├── EndpointError         a server could not be launched or reached  → exit 4
    │   └── ServerStartError  the server never became healthy
    ├── ModelFetchError       a model file could not be fetched          → exit 4
    ├── RecordsError          records missing or unreadable              → exit 4
    └── GateError             the gate could not be evaluated            → exit 4

A failed *request* is not an exception: workloads record it as data.
"""

from __future__ import annotations


class ReleasegateError(Exception):
    """Root of every error releasegate raises on purpose."""

    exit_code = 4


class SuiteError(ReleasegateError):
    """The suite (or the command line) is invalid.

    Args:
        problems: one line per problem, formatted ``file:line: field.path: message``.
        run_started: raised after the run began (records were written), so "nothing was
            run" would be untrue.
    """

    exit_code = 2

    def __init__(self, problems: list[str], run_started: bool = False) -> None:
        self.problems = problems
        self.run_started = run_started
        super().__init__("\n".join(problems))


class EndpointError(ReleasegateError):
    """A model endpoint could not be launched or reached."""


class ServerStartError(EndpointError):
    """A managed server exited or never became healthy before its deadline."""


class ModelFetchError(ReleasegateError):
    """A model file could not be downloaded (no network, no such package version)."""


class RecordsError(ReleasegateError):
    """Records are missing, unreadable or of an unknown schema version."""


class GateError(ReleasegateError):
    """The gate could not be evaluated from the records."""
