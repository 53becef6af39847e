"""Wall-clock budgets in tests: reported, never a failure.

On a loaded two-core machine a correct program can take ten times its usual time, so a test that asserts a
wall-clock threshold fails for the machine, not the code. What the tests check is behaviour (what was heard,
what was cancelled, what came back); how long it took is measured by the benchmarks and reported here as a
warning in pytest's summary when it runs over the budget.
"""

from __future__ import annotations

import warnings


class OverBudget(UserWarning):
    """A test's step took longer than its wall-clock budget (a slow machine, or a regression to look at)."""


def within_budget(what: str, seconds: float, budget: float) -> float:
    """Report `seconds` against `budget`; returns `seconds`. Never fails the test."""
    if seconds > budget:
        warnings.warn(f"{what}: {seconds:.3f} s, over its {budget} s budget", OverBudget, stacklevel=2)
    return seconds
