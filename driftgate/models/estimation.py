"""Confidence-based performance estimation (CBPE): a classifier's quality without labels.

For a calibrated model, row ``i`` is classified correctly with probability ``p_i``, the
probability of its predicted (top) class. Following NannyML's CBPE:

- ``accuracy`` is estimated as the mean of ``p_i``. The realised accuracy of the batch is a sum
  of independent Bernoulli(``p_i``) variables divided by ``n``, with variance
  ``Σ p_i (1 - p_i) / n²``; the interval is its normal approximation, clipped to [0, 1].
- ``precision``, ``recall`` and ``f1`` are macro averages over the classes of one-vs-rest
  metrics computed from the expected confusion matrix: for class ``k``,
  ``TP_k = Σ_{ŷ_i = k} p_ik``, ``FP_k = Σ_{ŷ_i = k} (1 - p_ik)`` and
  ``FN_k = Σ_{ŷ_i ≠ k} p_ik``. A class that is never predicted has precision 0. Their
  interval comes from simulating the labels the calibrated model implies (``draws`` label sets
  drawn row by row from the probabilities, fixed seed) and taking the quantiles of the realised
  metric, because these ratios have no simple closed-form variance.

ROC-AUC is not estimated: the project scores it one-vs-rest over the classes present, and the
estimate would need the full threshold sweep for a number that the gate does not use.

Every estimate is only as good as the calibration of the model, so :func:`calibration_error`
measures it on held-out labelled rows at training time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from driftgate.errors import DataError

ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1")


@dataclass(frozen=True)
class Estimate:
    """An estimated metric with its confidence interval for a batch of ``rows`` rows."""

    value: float
    low: float
    high: float
    rows: int


def _as_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """Validates ``(n, classes)`` probabilities; a 1-D array is P(class 1) of a binary model."""
    array = np.asarray(probabilities, dtype=np.float64)
    if array.ndim == 1:
        array = np.column_stack([1.0 - array, array])
    if array.ndim != 2 or array.shape[1] < 2:
        raise DataError(
            f"predicted probabilities have shape {array.shape}",
            hint="pass one row per example and one column per class",
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise DataError(
            "predicted probabilities hold NaN, infinite or negative values",
            hint="check the model's output layer",
        )
    sums = array.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-3):
        raise DataError(
            "predicted probabilities do not sum to 1 per row",
            hint="pass the model's softmax output, not logits",
        )
    return array / sums[:, None]


def calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error (ECE) of the top-class confidence.

    Rows are grouped into ``bins`` equal-width bins of their top-class probability; the result is
    the row-weighted mean of ``|accuracy - mean confidence|`` over the bins.

    Args:
        probabilities: ``(n, classes)`` predicted probabilities of held-out rows.
        labels: True class index of each row.
        bins: Number of confidence bins.

    Returns:
        The ECE in [0, 1]; NaN when there are no rows.
    """
    p = _as_probabilities(probabilities)
    y = np.asarray(labels)
    if y.shape != (p.shape[0],):
        raise DataError(
            f"{y.shape[0] if y.ndim else 0} labels for {p.shape[0]} rows of probabilities",
            hint="pass one class index per row",
        )
    if p.shape[0] == 0:
        return float("nan")
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    gap = np.bincount(which, weights=correct - confidence, minlength=bins)
    return float(np.abs(gap).sum() / p.shape[0])


def _macro_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> dict[str, np.ndarray]:
    """Macro precision, recall and F1 from per-class counts (last axis: classes)."""

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)

    return {
        "precision": ratio(tp, tp + fp).mean(axis=-1),
        "recall": ratio(tp, tp + fn).mean(axis=-1),
        "f1": ratio(2 * tp, 2 * tp + fp + fn).mean(axis=-1),
    }


def _simulated_macro(p: np.ndarray, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Realised macro metrics for ``draws`` label sets drawn from the probabilities."""
    n, classes = p.shape
    predicted = p.argmax(axis=1)
    cumulative = np.cumsum(p, axis=1)
    cumulative[:, -1] = 1.0
    rng = np.random.default_rng(seed)
    tp = np.zeros((draws, classes))
    fp = np.zeros((draws, classes))
    fn = np.zeros((draws, classes))
    for d in range(draws):
        true = (rng.random(n)[:, None] >= cumulative).sum(axis=1)
        hit = true == predicted
        tp[d] = np.bincount(predicted[hit], minlength=classes)
        fp[d] = np.bincount(predicted[~hit], minlength=classes)
        fn[d] = np.bincount(true[~hit], minlength=classes)
    return _macro_from_counts(tp, fp, fn)


def estimate(
    probabilities: np.ndarray,
    metrics: Sequence[str] = ESTIMATED_METRICS,
    confidence: float = 0.95,
    *,
    draws: int = 200,
    seed: int = 0,
) -> dict[str, Estimate]:
    """Estimates a calibrated classifier's metrics on a batch from its own probabilities.

    Args:
        probabilities: ``(n, classes)`` predicted probabilities of the batch (or, for a binary
            model, a 1-D array of P(class 1)).
        metrics: Names from :data:`ESTIMATED_METRICS`.
        confidence: Two-sided coverage of the intervals, in (0, 1).
        draws: Simulated label sets for the precision, recall and F1 intervals.
        seed: Seed of that simulation.

    Returns:
        Metric name to :class:`Estimate`; an empty batch gives NaN values and intervals.
    """
    unknown = sorted(set(metrics) - set(ESTIMATED_METRICS))
    if unknown:
        raise DataError(
            f"cannot estimate {', '.join(unknown)} without labels",
            hint=f"choose from {', '.join(ESTIMATED_METRICS)}",
        )
    if not 0.0 < confidence < 1.0:
        raise DataError(f"confidence {confidence} is not in (0, 1)")
    p = _as_probabilities(probabilities)
    n = p.shape[0]
    if n == 0:
        nan = float("nan")
        return {m: Estimate(nan, nan, nan, 0) for m in metrics}
    results: dict[str, Estimate] = {}
    top = p.max(axis=1)
    if "accuracy" in metrics:
        value = float(top.mean())
        half = float(stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(np.sum(top * (1 - top))) / n)
        results["accuracy"] = Estimate(value, max(0.0, value - half), min(1.0, value + half), n)
    macro = [m for m in metrics if m != "accuracy"]
    if macro:
        predicted = p.argmax(axis=1)
        own = p[np.arange(n), predicted]
        classes = p.shape[1]
        tp = np.bincount(predicted, weights=own, minlength=classes)
        fp = np.bincount(predicted, weights=1.0 - own, minlength=classes)
        fn = p.sum(axis=0) - tp
        expected = _macro_from_counts(tp, fp, fn)
        simulated = _simulated_macro(p, draws, seed)
        tail = (1.0 - confidence) / 2
        for m in macro:
            value = float(expected[m])
            low, high = np.quantile(simulated[m], [tail, 1.0 - tail])
            results[m] = Estimate(value, min(float(low), value), max(float(high), value), n)
    return {m: results[m] for m in metrics}
