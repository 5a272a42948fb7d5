"""The deployed model's quality on a batch: scored on labels, or estimated without them.

A version is degraded on a metric under its floor (``performance.thresholds``) or dropped
significantly under its own held-out score at training time (``performance.max_drop``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict

import pyarrow as pa
import pyarrow.compute as pc

from driftgate.models import tasks
from driftgate.models.estimation import ESTIMATED_METRICS, estimate
from driftgate.models.metrics import classification_metrics, regression_metrics
from driftgate.models.scoring import load_scorer
from driftgate.registry.integrity import VerifiedDir
from driftgate.settings.performance import PerformanceSettings


def score(verified: VerifiedDir, table: pa.Table, label: str) -> dict[str, float]:
    """A version's metrics on labelled rows (TensorFlow-free where the version has a mirror)."""
    table = table.filter(pc.is_valid(table.column(label)))  # rows without a label: unscored
    scorer = load_scorer(verified, fast=True)
    if verified.metadata.get("task", tasks.CLASSIFICATION) == tasks.REGRESSION:
        targets = table.column(label).to_numpy(zero_copy_only=False)
        return regression_metrics(targets, scorer.predict(table))
    probabilities = scorer.predict_proba(table)
    return classification_metrics(table.column(label).to_pylist(), probabilities, scorer.classes)


def reference_metrics(verified: VerifiedDir) -> dict[str, float]:
    """The version's own metrics on its held-out rows at training time."""
    return {k: v for k, v in verified.metadata.get("metrics", {}).items() if v == v}


def under_bounds(
    performance: PerformanceSettings, scores: dict[str, float], task: str
) -> list[str]:
    """The metrics whose score is beyond its floor (NaN scores never are)."""
    return [
        m
        for m, bound in tasks.applicable(performance.thresholds, task).items()
        if not math.isnan(scores[m]) and tasks.violates(m, scores[m], bound)
    ]


def dropped(
    performance: PerformanceSettings,
    scores: dict[str, float],
    rows: int,
    reference: dict[str, float],
    reference_rows: int,
) -> list[str]:
    """The metrics that fell significantly more than ``max_drop`` under their reference.

    A one-sided test on the difference of two proportions: the drop minus ``z`` standard
    errors (batch and reference rows) must still exceed ``max_drop``.
    """
    if performance.max_drop is None or rows == 0 or reference_rows == 0:
        return []
    z = statistics.NormalDist().inv_cdf(performance.confidence)
    found = []
    for metric in performance.metrics:
        score, base = scores.get(metric, math.nan), reference.get(metric, math.nan)
        if math.isnan(score) or math.isnan(base) or metric in tasks.LOWER_IS_BETTER:
            continue
        error = math.sqrt(score * (1 - score) / rows + base * (1 - base) / reference_rows)
        if base - score - z * error > performance.max_drop:
            found.append(metric)
    return found


def effective_bounds(
    performance: PerformanceSettings, reference: dict[str, float]
) -> dict[str, float]:
    """Each metric's bound before sampling error: the floor or reference − ``max_drop``."""
    bounds = dict(performance.thresholds)
    if performance.max_drop is not None:
        for metric in performance.metrics:
            if metric in reference:
                relative = reference[metric] - performance.max_drop
                bounds[metric] = max(bounds.get(metric, relative), relative)
    return bounds


def assess(
    verified: VerifiedDir, scores: dict[str, float], rows: int, performance: PerformanceSettings
) -> list[str]:
    """The metrics on which a version is degraded: under a floor, or dropped significantly."""
    eval_rows = verified.metadata.get("training", {}).get("eval_rows", 0)
    drops = dropped(performance, scores, rows, reference_metrics(verified), eval_rows)
    task = verified.metadata.get("task", tasks.CLASSIFICATION)
    return sorted(set(under_bounds(performance, scores, task)) | set(drops))


def estimate_performance(
    verified: VerifiedDir,
    table: pa.Table,
    performance: PerformanceSettings,
    max_calibration_error: float,
) -> dict:
    """A version's performance on unlabelled rows, estimated from its own probabilities.

    Trusted only when the version's calibration error on held-out rows at training time is
    under ``max_calibration_error``; a metric counts as degraded when even the upper end of
    its confidence interval is under its bound.

    Returns:
        The ``estimate``, ``estimate_degraded`` and ``estimate_note`` fields of a check result.
    """
    error = verified.metadata.get("training", {}).get("calibration_error")
    if error is None:
        return {"estimate_note": "no calibration error stored with the version: not estimated"}
    if error > max_calibration_error:
        return {
            "estimate_note": f"not trusted: calibration error {error:.3f} > "
            f"gate.max_calibration_error {max_calibration_error}"
        }
    metrics = [m for m in performance.metrics if m in ESTIMATED_METRICS] or ["accuracy"]
    probabilities = load_scorer(verified, fast=True).predict_proba(table)
    estimates = estimate(probabilities, metrics, performance.confidence)
    bounds = effective_bounds(performance, reference_metrics(verified))
    return {
        "estimate": {m: asdict(e) for m, e in estimates.items()},
        "estimate_degraded": [
            m for m, e in estimates.items() if m in bounds and e.high < bounds[m]
        ],
        "estimate_note": f"calibration error {error:.3f}",
    }
