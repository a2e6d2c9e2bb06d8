"""Endpoints: the OpenAI-compatible streaming client and the managed-server launcher."""

from releasegate.endpoints.client import Completion, OpenAIClient
from releasegate.endpoints.launcher import ExitInfo, ManagedServer

__all__ = ["Completion", "ExitInfo", "ManagedServer", "OpenAIClient"]
