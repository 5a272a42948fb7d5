"""Multiple-testing correction of per-feature p-values (KS) across the features of a batch.

- ``holm``: Holm–Bonferroni step-down; controls the family-wise error rate (the chance of any
  false alarm) at ``alpha``.
- ``bh``: Benjamini–Hochberg step-up; controls the false discovery rate (the expected share of
  false alarms among the flagged features) at ``alpha``, for independent or positively dependent
  tests.
- ``none``: the raw p-values.

A NaN p-value (a test that could not run, e.g. an empty column) is left out of the family: it
does not count towards the number of tests, its adjusted value stays NaN and it is never
rejected. Ties get equal adjusted values, whatever their order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from driftgate.errors import DataError

Method = Literal["holm", "bh", "none"]
METHODS: tuple[Method, ...] = ("holm", "bh", "none")


def adjust(pvalues: np.ndarray, method: Method) -> np.ndarray:
    """Adjusted p-values, in the input order.

    Args:
        pvalues: Raw p-values in [0, 1]; NaN for tests that did not run.
        method: ``holm``, ``bh`` or ``none``.

    Returns:
        Float array of the same shape; NaN where the input is NaN.
    """
    if method not in METHODS:
        raise DataError(
            f"unknown multiple-testing method {method!r}", hint=f"use one of {', '.join(METHODS)}"
        )
    p = np.asarray(pvalues, dtype=np.float64)
    flat = p.ravel()
    finite = ~np.isnan(flat)
    if np.any((flat[finite] < 0) | (flat[finite] > 1)):
        raise DataError("p-values must lie in [0, 1]", hint="check the test that produced them")
    out = flat.copy()
    values = flat[finite]
    m = values.size
    if method == "none" or m == 0:
        return out.reshape(p.shape)
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        adjusted = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * ranked))
    else:
        adjusted = np.minimum.accumulate(np.minimum(1.0, m * ranked / rank)[::-1])[::-1]
    result = np.empty(m)
    result[order] = adjusted
    out[finite] = result
    return out.reshape(p.shape)


def reject(pvalues: np.ndarray, alpha: float, method: Method) -> np.ndarray:
    """Which hypotheses are rejected (drift flagged) at level ``alpha`` after correction.

    Args:
        pvalues: Raw p-values in [0, 1]; NaN for tests that did not run (never rejected).
        alpha: Family-wise error rate (``holm``), false discovery rate (``bh``) or per-test level
            (``none``), in (0, 1).
        method: ``holm``, ``bh`` or ``none``.

    Returns:
        Boolean array of the same shape: adjusted p-value ``<= alpha``.
    """
    if not 0.0 < alpha < 1.0:
        raise DataError(f"significance level {alpha} is not in (0, 1)")
    adjusted = adjust(pvalues, method)
    return np.where(np.isnan(adjusted), False, adjusted <= alpha)
