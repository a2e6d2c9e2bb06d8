"""Workloads: eval items and scorers (quality) and closed-loop load rounds (performance)."""

from releasegate.workloads.eval import run_eval, score_output
from releasegate.workloads.items import EvalItem, load_items, render_prompt
from releasegate.workloads.load import RoundSummary, run_round
from releasegate.workloads.scorers import Score, score, scorer_name

__all__ = [
    "EvalItem",
    "RoundSummary",
    "Score",
    "load_items",
    "render_prompt",
    "run_eval",
    "run_round",
    "score",
    "score_output",
    "scorer_name",
]
