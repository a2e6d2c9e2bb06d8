"""In-process fakes of the servers releasegate talks to, for fast and exact tests."""

from .openai_server import FakeOpenAIServer, Scenario, closed_port

__all__ = ["FakeOpenAIServer", "Scenario", "closed_port"]
