"""Evaluation of a regression candidate with TFMA: RMSE, MAE and R² per slice.

The same blessing rule as for classifiers (the TFX Evaluator's): value thresholds on every judged
slice, change thresholds against the deployed model, none of those on the first run. RMSE and
MAE bounds are maxima and may not rise by more than their change threshold; R² bounds are minima.
When no change threshold names a regression metric, RMSE may not rise at all. A failed RMSE or MAE
change threshold blocks only when a paired test on the same rows finds the rise significant
(:mod:`.changes`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa

from driftgate.components.evaluate import analysis, changes
from driftgate.components.evaluate.record import MISSING, EvaluationResult, ThresholdFailure
from driftgate.models import tasks
from driftgate.models.scoring import load_scorer
from driftgate.registry.integrity import VerifiedDir
from driftgate.settings.evaluation import EvaluationSettings

log = logging.getLogger(__name__)
# driftgate metric name -> (TFMA class name, module; None: TFMA's own or Keras's)
TFMA_METRICS = {
    "example_count": ("ExampleCount", None),
    "rmse": ("RootMeanSquaredError", None),
    "mae": ("MeanAbsoluteError", None),
    "r2": ("R2", "driftgate.components.evaluate.r2"),
}
TFMA_KEY_NAMES = {
    "example_count": "example_count",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
    "r2": "r2",
}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _eval_config(settings: EvaluationSettings, has_baseline: bool, slices: list[tuple[str, str]]):
    from tensorflow_model_analysis.proto import config_pb2

    config = analysis.models_and_slices(has_baseline, slices)
    spec = config.metrics_specs.add(
        model_names=["candidate", "baseline"] if has_baseline else ["candidate"]
    )
    values = tasks.applicable(settings.value_thresholds, tasks.REGRESSION)
    changes = tasks.change_thresholds(settings.change_thresholds, tasks.REGRESSION)
    for name, (class_name, module) in TFMA_METRICS.items():
        metric = spec.metrics.add(class_name=class_name, module=module or "")
        lower_is_better = name in tasks.LOWER_IS_BETTER
        if name in values:
            bound = metric.threshold.value_threshold
            (bound.upper_bound if lower_is_better else bound.lower_bound).value = values[name]
        if has_baseline and name in changes:
            change = metric.threshold.change_threshold
            if lower_is_better:
                change.direction = config_pb2.MetricDirection.LOWER_IS_BETTER
                change.absolute.value = changes[name] + 1e-10
            else:
                change.direction = config_pb2.MetricDirection.HIGHER_IS_BETTER
                change.absolute.value = -changes[name] - 1e-10
    return config


def _failure(per_slice, failure) -> ThresholdFailure:
    name = TFMA_KEY_NAMES.get(failure.metric_key.name, failure.metric_key.name)
    threshold = failure.metric_threshold
    if threshold.HasField("value_threshold"):
        upper = threshold.value_threshold.HasField("upper_bound")
        bound = threshold.value_threshold
        kind, limit = (
            ("max", bound.upper_bound.value) if upper else ("value", bound.lower_bound.value)
        )
    else:
        lower_is_better = name in tasks.LOWER_IS_BETTER
        kind, limit = (
            ("increase" if lower_is_better else "change"),
            threshold.change_threshold.absolute.value,
        )
    return ThresholdFailure(
        name,
        analysis.slice_name(per_slice.slice_key),
        kind,
        round(limit, 9),
        failure.metric_value.double_value.value,
    )


def residual_summary(targets: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Bias, spread and quantiles of the residuals (target minus prediction)."""
    residuals = targets - predictions
    summary = {
        "mean": float(residuals.mean()),
        "std": float(residuals.std()),
        "max_abs": float(np.abs(residuals).max()),
    }
    for q in QUANTILES:
        summary[f"p{round(q * 100):02d}"] = float(np.quantile(residuals, q))
    return summary


def residual_markdown(result: EvaluationResult) -> str:
    """A Markdown table of each model's residuals on the held-out rows."""
    lines = [
        "## Residuals (target − prediction) on the held-out rows",
        "",
        "| model | mean | std | max abs | "
        + " | ".join(f"p{round(q * 100):02d}" for q in QUANTILES)
        + " |",
        "|---" * (4 + len(QUANTILES)) + "|",
    ]
    for model, s in result.residuals.items():
        quantiles = " | ".join(f"{s[f'p{round(q * 100):02d}']:.4g}" for q in QUANTILES)
        lines.append(
            f"| {model} | {s['mean']:.4g} | {s['std']:.4g} | {s['max_abs']:.4g} | {quantiles} |"
        )
    return "\n".join(lines) + "\n"


def evaluate(
    candidate: VerifiedDir,
    table: pa.Table,
    baseline: VerifiedDir | None,
    baseline_version: int | None,
    settings: EvaluationSettings,
    output: Path,
) -> EvaluationResult:
    """Scores both regressors on the held-out rows and applies the thresholds with TFMA.

    Args:
        candidate: The verified candidate model directory.
        table: Held-out rows (features and a numeric label).
        baseline: The verified deployed version, or None on the first run.
        baseline_version: Its version number.
        settings: Slices and thresholds.
        output: Where TFMA writes its results.

    Returns:
        The verdict, per-slice metrics, failures and residual summaries.
    """
    import pandas as pd

    label = candidate.metadata["label"]
    targets = np.asarray(table.column(label).to_pylist(), dtype=np.float64)
    predictions = {"candidate": load_scorer(candidate, fast=False).predict(table)}
    if baseline is not None:
        predictions["baseline"] = load_scorer(baseline, fast=False).predict(table)
    frame = pd.DataFrame({"label": targets})
    for name, values in predictions.items():
        frame[name] = values.astype(np.float64)
    for feature in settings.slices:
        column = table.column(feature)
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            # TFMA reads a numeric-looking slice value as a number: keep numbers numeric
            frame[feature] = column.to_numpy(zero_copy_only=False).astype(np.float64)
        else:
            frame[feature] = [MISSING if v is None else str(v) for v in column.to_pylist()]
    slices, unjudged = analysis.judged_slices(frame, settings)
    log.info(
        "evaluating %s held-out rows (regression) with TFMA (%s)",
        f"{len(targets):,}",
        f"against version {baseline_version}" if baseline is not None else "no baseline yet",
    )
    config = _eval_config(settings, baseline is not None, slices)
    records, validation = analysis.run_tfma(frame, config, baseline is not None, output)
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for record in records:
        slice_name = analysis.slice_name(record.slice_key)
        for entry in record.metric_keys_and_values:
            name = TFMA_KEY_NAMES.get(entry.key.name)
            if name is None or not entry.value.HasField("double_value"):
                continue
            name = f"{name}_diff" if entry.key.is_diff else name
            model = entry.key.model_name or "candidate"
            metrics.setdefault(slice_name, {}).setdefault(model, {})[name] = (
                entry.value.double_value.value
            )
    failures, tests = changes.judge(
        [
            _failure(per_slice, failure)
            for per_slice in validation.metric_validations_per_slice
            for failure in per_slice.failures
        ],
        changes.slice_masks(frame, slices),
        changes.regression_judges(targets, predictions, settings),
    )
    result = EvaluationResult(
        analysis.passed(validation, settings, baseline is not None)
        or changes.cleared(validation, failures, tests),
        baseline_version,
        [],
        metrics,
        failures,
        unjudged,
        change_tests=tests,
    )
    result.task = tasks.REGRESSION
    result.residuals = {m: residual_summary(targets, p) for m, p in predictions.items()}
    log.info("%s", result.reason())
    return result
