"""releasegate: decide whether a new local LLM may replace the one in production.

The pipeline reads as its folders: ``suite`` → ``plan`` → ``execute`` (``endpoints``,
``workloads``, ``probes``) → ``records`` → ``gate`` (``stats``) → ``report``.
"""

from releasegate.errors import (
    EndpointError,
    GateError,
    RecordsError,
    ReleasegateError,
    ServerStartError,
    SuiteError,
)

__version__ = "0.1.0"

__all__ = [
    "EndpointError",
    "GateError",
    "RecordsError",
    "ReleasegateError",
    "ServerStartError",
    "SuiteError",
    "__version__",
]
