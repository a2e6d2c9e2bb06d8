"""What every suite model shares: the strict base model, the arms and the size limits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Arm = Literal["candidate", "incumbent"]
ARMS: tuple[Arm, Arm] = ("candidate", "incumbent")

# Upper bounds: far beyond any real suite, low enough that planning stays instant.
DAY_S = 86_400.0
MAX_ROUNDS = 10_000
MAX_COUNT = 10_000_000
MAX_CONCURRENCY = 4_096
MAX_TOKENS = 1_000_000


class Strict(BaseModel):
    """Base model: unknown keys are errors (typos never pass silently); no inf or nan."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
