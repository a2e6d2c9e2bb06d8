"""Pure statistics for the gate: oriented paired estimates, tails, multiplicity, power.

Every estimate is Δ = candidate relative to incumbent, signed so that negative means the
candidate is worse; see `Estimate` for the interval and p-value conventions.  No I/O; any
randomness comes from a caller-supplied `numpy.random.Generator`.
"""

from __future__ import annotations

from releasegate.stats.decision import Verdict, decide
from releasegate.stats.estimate import Estimate, cluster_robust
from releasegate.stats.multiplicity import holm, holm_adjusted
from releasegate.stats.paired import paired_binary, paired_numeric
from releasegate.stats.power import required_n, required_n_mcnemar, units_to_decide
from releasegate.stats.quantiles import harrell_davis, hd_weights
from releasegate.stats.ratios import paired_log_ratio
from releasegate.stats.sequential import SequentialResult, msprt
from releasegate.stats.tails import tail_ratio

__all__ = [
    "Estimate",
    "SequentialResult",
    "Verdict",
    "cluster_robust",
    "decide",
    "harrell_davis",
    "hd_weights",
    "holm",
    "holm_adjusted",
    "msprt",
    "paired_binary",
    "paired_log_ratio",
    "paired_numeric",
    "required_n",
    "required_n_mcnemar",
    "tail_ratio",
    "units_to_decide",
]
