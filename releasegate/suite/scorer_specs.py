"""Scorer specs of eval workloads (one pydantic model per scorer kind)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from releasegate.suite.base import Strict


class ExactScorer(Strict):
    kind: Literal["exact"]
    field: str = "answer"
    case_sensitive: bool = False
    strip: bool = True


class ContainsScorer(Strict):
    kind: Literal["contains"]
    field: str = "answer"
    case_sensitive: bool = False


class RegexScorer(Strict):
    kind: Literal["regex"]
    pattern: str
    flags: list[Literal["IGNORECASE", "MULTILINE", "DOTALL"]] = Field(default_factory=list)


class ChoiceScorer(Strict):
    kind: Literal["choice"]
    labels: list[str] = Field(min_length=2)
    field: str = "label"
    case_sensitive: bool = False


class JsonScorer(Strict):
    kind: Literal["json"]
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    expect_fields: dict[str, str] = Field(
        default_factory=dict, description="JSON key → item field whose value it must equal."
    )


class NumericScorer(Strict):
    """The first (``pick: first``) or last number in the output, within a tolerance."""

    kind: Literal["numeric"]
    field: str = "answer"
    pick: Literal["first", "last"] = "first"
    tolerance: float = Field(default=0.0, ge=0)
    relative: bool = False


class PythonScorer(Strict):
    """Runs user code: ``callable`` is an import path ``module:function``."""

    kind: Literal["python"]
    callable: str


ScorerSpec = Annotated[
    ExactScorer
    | ContainsScorer
    | RegexScorer
    | ChoiceScorer
    | JsonScorer
    | NumericScorer
    | PythonScorer,
    Field(discriminator="kind"),
]
