"""Paired tests of a change in quality between two models scored on the same rows.

A change threshold compares the candidate's metric with the deployed model's. On a few hundred
held-out rows a bare comparison cannot tell one unlucky row from a real regression. Both models
are scored on the same rows, so the per-row outcomes are paired, and a paired test asks whether
the candidate is worse by more than the allowed change beyond what chance explains:

- **Accuracy** (per-row correctness). ``b`` = rows the baseline gets right and the candidate
  wrong, ``c`` = the reverse, ``n`` = rows; the drop is ``(b - c) / n``. With no allowed drop
  (δ = 0) this is the exact one-sided McNemar test: under "no change" each discordant row is a
  fair coin, so ``p = P(X >= b)`` with ``X ~ Binom(b + c, 1/2)``. With an allowed drop δ > 0 it
  is Tango's score test for paired proportions (Tango 1998, *Statistics in Medicine* 17:891),
  the standard non-inferiority test for matched pairs: the variance of the drop is taken at the
  maximum-likelihood cell probabilities under "the drop is exactly δ", and
  ``z = (b - c - n δ) / sqrt(n (2 q21 + δ (1 - δ)))`` is compared with the normal
  distribution. At δ = 0 it reduces to McNemar's ``(b - c) / sqrt(b + c)``.
- **RMSE and MAE** (per-row errors). A one-sided paired t-test on the per-row differences of
  squared errors (RMSE) or absolute errors (MAE), candidate minus baseline. RMSE is judged
  through the mean squared error: an allowed RMSE increase δ is the allowed MSE increase
  ``(rmse_b + δ)^2 - rmse_b^2`` at the baseline's observed RMSE (exact for δ = 0).

A regression is significant when ``p < 1 - confidence``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

ERROR_METRICS = ("rmse", "mae")


@dataclass(frozen=True)
class PairedTest:
    """The verdict of one paired test of a change threshold.

    Attributes:
        metric: ``accuracy``, ``rmse`` or ``mae``.
        method: The test: ``exact McNemar``, ``Tango score`` or ``paired t``.
        change: Candidate's metric minus the baseline's (an accuracy drop is negative).
        allowed: The change threshold: the allowed drop (accuracy) or increase (rmse, mae).
        n: Rows compared.
        p_value: One-sided p-value of "worse by more than ``allowed``".
        confidence: The confidence level; significant means ``p_value < 1 - confidence``.
        significant: Whether the regression is significant.
        b: Rows the baseline gets right and the candidate wrong (accuracy only).
        c: Rows the candidate gets right and the baseline wrong (accuracy only).
        mean_difference: Mean per-row squared (rmse) or absolute (mae) error, candidate minus
            baseline (error metrics only).
    """

    metric: str
    method: str
    change: float
    allowed: float
    n: int
    p_value: float
    confidence: float
    significant: bool
    b: int | None = None
    c: int | None = None
    mean_difference: float | None = None

    @property
    def verdict(self) -> str:
        """``significant regression`` or ``no significant change``."""
        return "significant regression" if self.significant else "no significant change"

    @property
    def evidence(self) -> str:
        """The counts or the mean per-row difference behind the p-value."""
        if self.b is not None:
            return f"b={self.b}, c={self.c}, n={self.n}"
        kind = "squared" if self.metric == "rmse" else "absolute"
        return f"mean {kind} error {self.mean_difference:+.4g} per row, n={self.n}"

    def explanation(self) -> str:
        """One line with the numbers: change, evidence, test, p-value and verdict."""
        if self.metric == "accuracy":
            direction = "dropped" if self.change < 0 else "rose"
        else:
            direction = "rose" if self.change > 0 else "fell"
        side = "<" if self.significant else ">="
        return (
            f"{self.metric} {direction} by {abs(self.change):.4f} (allowed {self.allowed:.4f}; "
            f"{self.evidence}): {self.method} p = {self.p_value:.3g} {side} "
            f"{1 - self.confidence:.3g}, {self.verdict}"
        )

    def to_dict(self) -> dict:
        """JSON-friendly form, with the verdict and the explanation."""
        return {**asdict(self), "verdict": self.verdict, "explanation": self.explanation()}


def mcnemar_p(b: int, c: int) -> float:
    """Exact one-sided McNemar p-value that the candidate is worse: ``P(X >= b)``.

    Args:
        b: Rows the baseline gets right and the candidate wrong.
        c: Rows the candidate gets right and the baseline wrong.

    Returns:
        The p-value, with ``X ~ Binom(b + c, 1/2)``; 1 when there is no discordant row.
    """
    return float(stats.binom.sf(b - 1, b + c, 0.5)) if b + c else 1.0


def tango_p(b: int, c: int, n: int, allowed: float) -> float:
    """Tango's one-sided score-test p-value that the drop ``(b - c) / n`` exceeds ``allowed``.

    Args:
        b: Rows the baseline gets right and the candidate wrong.
        c: Rows the candidate gets right and the baseline wrong.
        n: Rows compared.
        allowed: The allowed drop δ, in [0, 1).

    Returns:
        The p-value (1 when there are no rows or nothing can exceed ``allowed``).
    """
    if n == 0 or allowed >= 1:
        return 1.0
    # restricted maximum-likelihood probability of the c cell under drop == allowed
    linear = -b - c + (2 * n - b + c) * allowed
    constant = -c * allowed * (1 - allowed)
    q21 = (-linear + math.sqrt(linear**2 - 8 * n * constant)) / (4 * n)
    variance = n * (2 * q21 + allowed * (1 - allowed))
    excess = b - c - n * allowed
    if variance <= 0:  # allowed == 0 and no discordant row
        return 1.0
    return float(stats.norm.sf(excess / math.sqrt(variance)))


def accuracy_change(
    baseline_correct: np.ndarray,
    candidate_correct: np.ndarray,
    allowed: float,
    confidence: float,
) -> PairedTest:
    """Whether the candidate's accuracy is significantly lower than ``allowed`` permits.

    Args:
        baseline_correct: Per-row correctness of the deployed model (booleans).
        candidate_correct: Per-row correctness of the candidate, on the same rows.
        allowed: The allowed accuracy drop δ (0: no drop).
        confidence: Confidence level of the test.

    Returns:
        Exact McNemar for δ = 0, Tango's score test for δ > 0.
    """
    base = np.asarray(baseline_correct, dtype=bool)
    cand = np.asarray(candidate_correct, dtype=bool)
    n = len(base)
    b, c = int(np.sum(base & ~cand)), int(np.sum(cand & ~base))
    exact = allowed <= 0
    p = mcnemar_p(b, c) if exact else tango_p(b, c, n, allowed)
    return PairedTest(
        "accuracy",
        "exact McNemar" if exact else "Tango score",
        (c - b) / n if n else 0.0,
        allowed,
        n,
        p,
        confidence,
        p < 1 - confidence,
        b=b,
        c=c,
    )


def error_change(
    metric: str,
    baseline_residuals: np.ndarray,
    candidate_residuals: np.ndarray,
    allowed: float,
    confidence: float,
) -> PairedTest:
    """Whether the candidate's RMSE or MAE is significantly higher than ``allowed`` permits.

    Args:
        metric: ``rmse`` (judged through per-row squared errors) or ``mae`` (absolute errors).
        baseline_residuals: Per-row target minus prediction of the deployed model.
        candidate_residuals: The same for the candidate, on the same rows.
        allowed: The allowed increase δ of the metric (0: no increase).
        confidence: Confidence level of the test.

    Returns:
        A one-sided paired t-test on the per-row error differences.
    """
    if metric not in ERROR_METRICS:
        raise ValueError(f"error_change judges {ERROR_METRICS}, not {metric!r}")
    base = np.asarray(baseline_residuals, dtype=np.float64)
    cand = np.asarray(candidate_residuals, dtype=np.float64)
    n = len(base)
    if metric == "rmse":
        base_loss, cand_loss = base**2, cand**2
        rmse_b = math.sqrt(base_loss.mean()) if n else 0.0
        margin = (rmse_b + allowed) ** 2 - rmse_b**2
        change = math.sqrt(cand_loss.mean()) - rmse_b if n else 0.0
    else:
        base_loss, cand_loss = np.abs(base), np.abs(cand)
        margin = allowed
        change = float(cand_loss.mean() - base_loss.mean()) if n else 0.0
    differences = cand_loss - base_loss
    mean = float(differences.mean()) if n else 0.0
    spread = float(differences.std(ddof=1)) if n > 1 else math.nan
    if n < 2:
        p = 1.0
    elif spread == 0:
        p = 0.0 if mean > margin else 1.0
    else:
        p = float(stats.t.sf((mean - margin) / (spread / math.sqrt(n)), n - 1))
    return PairedTest(
        metric,
        "paired t",
        float(change),
        allowed,
        n,
        p,
        confidence,
        p < 1 - confidence,
        mean_difference=mean,
    )
