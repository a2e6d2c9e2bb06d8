"""Suites: the YAML schema, loading with file:line errors, and model sources."""

from releasegate.suite.loader import LoadedSuite, load_suite, parse_suite
from releasegate.suite.models import ARMS, Arm, CheckSpec, EvalWorkload, LoadWorkload, Suite
from releasegate.suite.sources import resolve_model_path

__all__ = [
    "ARMS",
    "Arm",
    "CheckSpec",
    "EvalWorkload",
    "LoadWorkload",
    "LoadedSuite",
    "Suite",
    "load_suite",
    "parse_suite",
    "resolve_model_path",
]
