"""The request-error check: an exact test of the candidate's failure rate.

The share of failed measured requests (load and eval) is judged against the limit L
(``gate.max_error_rate``, the check's margin) and against the incumbent with
:func:`releasegate.stats.rates.error_rate_test`. In the gate's orientation Δ = −(the
candidate's rate) and the margin is L, so :func:`releasegate.stats.decide` reads it like any
other check:

- PASS when ci_low = −(one-sided Clopper–Pearson upper bound) > −L;
- FAIL when the Holm-adjusted p < α and the rate is above L, where p = max(p_limit, p_inc)
  (candidate above the limit AND above the incumbent: both must be shown), so the check
  joins the Holm family like every tested check;
- otherwise INCONCLUSIVE (too few requests to tell, or both arms fail alike).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from releasegate.records.views import RunRecords
from releasegate.stats import Estimate
from releasegate.stats.rates import error_rate_test
from releasegate.suite import CheckSpec

if TYPE_CHECKING:
    from releasegate.gate.compare import Comparison

METHOD = "exact binomial vs limit ∧ Fisher vs incumbent; Clopper–Pearson bounds"


def error_counts(run: RunRecords, workload: str | None, arm: str) -> tuple[int, int]:
    """Failed and total measured requests (load and eval) of one arm, optionally one workload."""
    failed = total = 0
    for r in [*run.requests, *run.items]:
        if r.arm != arm or getattr(r, "warmup", False):
            continue
        if workload is not None and r.workload != workload:
            continue
        total += 1
        failed += not r.timing.ok
    return failed, total


def compare_errors(check: CheckSpec, run: RunRecords, confidence: float) -> Comparison:
    """The candidate's failure rate against ``check.margin`` and the incumbent (see module)."""
    from releasegate.gate.compare import Comparison  # compare.py imports this module

    (ce, cn), (ie, in_) = (error_counts(run, check.workload, a) for a in ("candidate", "incumbent"))
    if cn == 0 or in_ == 0:
        return Comparison.no_data(
            check, "difference", check.margin, "errors", "no requests were sent"
        )
    test = error_rate_test(ce, cn, ie, in_, check.margin, confidence)
    est = Estimate(-test.rate, -test.high, -test.low, test.p, cn, METHOD)
    note = f"candidate {ce}/{cn} failed, incumbent {ie}/{in_}"
    return Comparison(
        check, est, "difference", check.margin, test.rate, ie / in_, "error rate", note
    )
