"""Change thresholds on per-row metrics, judged by a paired test on the same held-out rows.

TFMA compares the candidate's metric with the deployed model's as two bare numbers, so with a
change threshold of 0 one unlucky row out of a few hundred refuses a good candidate. Both models
are scored on the same rows, and for accuracy (classification) and RMSE/MAE (regression) every
row has an outcome for each model: those change thresholds are also judged by a paired test
(:mod:`driftgate.stats.paired`) on the overall slice and on each judged slice, with that slice's
rows. A change failure TFMA reports is kept only when the test says the regression is
significant; otherwise it is "no significant change" and does not block the blessing. Change
thresholds on the other metrics (ROC-AUC, precision, recall, F1, calibration, R²) have no
per-row outcome and stay TFMA's plain comparison; value thresholds are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

import numpy as np

from driftgate.components.evaluate.record import OVERALL, ChangeTest, ThresholdFailure
from driftgate.models import tasks
from driftgate.settings.evaluation import EvaluationSettings
from driftgate.stats import paired

CHANGE_KINDS = ("change", "increase")  # a failed change threshold (higher / lower is better)
Judge = Callable[[np.ndarray], paired.PairedTest]  # a row mask -> the paired test on those rows


def slice_masks(frame, slices: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Row masks of the overall slice and of each judged slice, named as TFMA names them."""
    masks = {OVERALL: np.ones(len(frame), dtype=bool)}
    for feature, value in slices:
        masks[f"{feature}={value}"] = (frame[feature].astype(str) == value).to_numpy()
    return masks


def _accuracy(correct: dict[str, np.ndarray], allowed: float, confidence: float, rows):
    return paired.accuracy_change(
        correct["baseline"][rows], correct["candidate"][rows], allowed, confidence
    )


def _errors(metric: str, residuals: dict, allowed: float, confidence: float, rows):
    return paired.error_change(
        metric, residuals["baseline"][rows], residuals["candidate"][rows], allowed, confidence
    )


def classification_judges(
    labels: np.ndarray, probabilities: dict[str, np.ndarray], settings: EvaluationSettings
) -> dict[str, Judge]:
    """The accuracy change threshold's paired test, from both models' probabilities."""
    if "baseline" not in probabilities or "accuracy" not in settings.change_thresholds:
        return {}
    correct = {m: p.argmax(axis=1) == labels for m, p in probabilities.items()}
    allowed = settings.change_thresholds["accuracy"]
    return {"accuracy": partial(_accuracy, correct, allowed, settings.change_confidence)}


def regression_judges(
    targets: np.ndarray, predictions: dict[str, np.ndarray], settings: EvaluationSettings
) -> dict[str, Judge]:
    """The RMSE and MAE change thresholds' paired tests, from both models' predictions."""
    if "baseline" not in predictions:
        return {}
    changes = tasks.change_thresholds(settings.change_thresholds, tasks.REGRESSION)
    residuals = {m: targets - p.astype(np.float64) for m, p in predictions.items()}
    return {
        metric: partial(_errors, metric, residuals, changes[metric], settings.change_confidence)
        for metric in paired.ERROR_METRICS
        if metric in changes
    }


def judge(
    failures: list[ThresholdFailure], masks: dict[str, np.ndarray], judges: dict[str, Judge]
) -> tuple[list[ThresholdFailure], list[ChangeTest]]:
    """Runs the paired tests and keeps the change failures they find significant.

    Args:
        failures: Every threshold TFMA says the candidate missed.
        masks: Slice name to its rows (:func:`slice_masks`).
        judges: Metric to its paired test (none on the first run).

    Returns:
        The failures that still block (a kept change failure carries its p-value), and one
        :class:`ChangeTest` per metric and slice.
    """
    failed = {(f.metric, f.slice) for f in failures if f.kind in CHANGE_KINDS}
    tests = [
        ChangeTest(metric, name, (metric, name) in failed, test(rows))
        for metric, test in judges.items()
        for name, rows in masks.items()
    ]
    found = {(t.metric, t.slice): t.test for t in tests}
    kept = []
    for failure in failures:
        test = found.get((failure.metric, failure.slice))
        if failure.kind not in CHANGE_KINDS or test is None:
            kept.append(failure)
        elif test.significant:
            kept.append(replace(failure, p_value=test.p_value, test=test.method))
    return kept, tests


def cleared(validation, kept: list[ThresholdFailure], tests: list[ChangeTest]) -> bool:
    """Whether TFMA failed only on change thresholds that the paired tests cleared."""
    return any(t.cleared for t in tests) and not (
        kept
        or validation.missing_thresholds
        or validation.missing_slices
        or validation.missing_cross_slices
    )
