"""Running TensorFlow Model Analysis on materialized predictions, and reading its output back.

TFMA runs model-agnostic: both models' probabilities (or predictions) are columns of a DataFrame,
so the same ``EvalConfig`` (slices, value thresholds, change thresholds) works for Keras and
scikit-learn models. TFMA, Beam and tfx-bsl are imported only when an analysis runs.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from driftgate.components.evaluate.record import OVERALL, ThresholdFailure
from driftgate.settings.evaluation import EvaluationSettings

# driftgate metric name -> (TFMA class name, macro-averaged over classes)
TFMA_METRICS = {
    "accuracy": ("SparseCategoricalAccuracy", False),
    "example_count": ("ExampleCount", False),
    "precision": ("Precision", True),
    "recall": ("Recall", True),
    "f1": ("F1Score", True),
    "roc_auc": ("AUC", True),
    "calibration": ("Calibration", True),
}
TFMA_KEY_NAMES = {
    "sparse_categorical_accuracy": "accuracy",
    "example_count": "example_count",
    "precision": "precision",
    "recall": "recall",
    "f1_score": "f1",
    "auc": "roc_auc",
    "calibration": "calibration",
}


def judged_slices(frame, settings: EvaluationSettings) -> tuple[list[tuple[str, str]], list[str]]:
    """Slice values with enough held-out rows to judge, and the names of those without."""
    judged, skipped = [], []
    for feature in settings.slices:
        for value, count in frame[feature].value_counts().sort_index().items():
            if count >= settings.min_slice_size:
                judged.append((feature, str(value)))
            else:
                skipped.append(f"{feature}={value} ({count} rows)")
    return judged, skipped


def _threshold(
    metric, name: str, settings: EvaluationSettings, has_baseline: bool, config_pb2
) -> None:
    if name in settings.value_thresholds:
        metric.value_threshold.lower_bound.value = settings.value_thresholds[name]
    if has_baseline and name in settings.change_thresholds:
        change = metric.change_threshold
        change.direction = config_pb2.MetricDirection.HIGHER_IS_BETTER
        change.absolute.value = -settings.change_thresholds[name] - 1e-10


def models_and_slices(has_baseline: bool, slices: list[tuple[str, str]]):
    """An ``EvalConfig`` with the candidate (and baseline) and the overall and judged slices."""
    from tensorflow_model_analysis.proto import config_pb2

    config = config_pb2.EvalConfig()
    config.model_specs.add(name="candidate", label_key="label", prediction_key="candidate")
    if has_baseline:
        config.model_specs.add(
            name="baseline", label_key="label", prediction_key="baseline", is_baseline=True
        )
    config.slicing_specs.add()
    for feature, value in slices:
        config.slicing_specs.add(feature_values={feature: value})
    return config


def eval_config(
    settings: EvaluationSettings, n_classes: int, has_baseline: bool, slices: list[tuple[str, str]]
):
    """The classification ``EvalConfig``: accuracy per slice, macro averages overall."""
    from tensorflow_model_analysis.proto import config_pb2

    config = models_and_slices(has_baseline, slices)
    models = ["candidate", "baseline"] if has_baseline else ["candidate"]
    plain = config.metrics_specs.add(model_names=models)
    macro = config.metrics_specs.add(model_names=models)
    macro.aggregate.macro_average = True
    for i in range(n_classes):
        macro.aggregate.class_weights[i] = 1.0
    for name, (class_name, is_macro) in TFMA_METRICS.items():
        metric = (macro if is_macro else plain).metrics.add(class_name=class_name)
        if name not in settings.value_thresholds and name not in settings.change_thresholds:
            continue
        if is_macro:
            overall_only = metric.per_slice_thresholds.add()
            overall_only.slicing_specs.add()
            _threshold(overall_only.threshold, name, settings, has_baseline, config_pb2)
        else:
            _threshold(metric.threshold, name, settings, has_baseline, config_pb2)
    return config


def slice_name(slice_key) -> str:
    """``feature=value`` of a TFMA slice key, or ``overall``."""
    parts = []
    for single in slice_key.single_slice_keys:
        value = (
            single.bytes_value.decode()
            if single.HasField("bytes_value")
            else (single.int64_value if single.HasField("int64_value") else single.float_value)
        )
        parts.append(f"{single.column}={value}")
    return ", ".join(parts) or OVERALL


def run_tfma(frame, config, has_baseline: bool, output: Path):
    """Runs TFMA over a DataFrame of labels and predictions; returns metrics and validation."""
    import apache_beam as beam
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis import constants
    from tensorflow_model_analysis.api import model_eval_lib
    from tfx_bsl.arrow import table_util

    models = [
        tfma.types.EvalSharedModel(
            model_name="candidate", model_type=constants.MATERIALIZED_PREDICTION
        )
    ]
    if has_baseline:
        models.append(
            tfma.types.EvalSharedModel(
                model_name="baseline",
                model_type=constants.MATERIALIZED_PREDICTION,
                is_baseline=True,
            )
        )
    batch = table_util.CanonicalizeRecordBatch(
        pa.RecordBatch.from_pandas(frame, preserve_index=False)
    )
    with beam.Pipeline() as pipeline:
        _ = (
            pipeline
            | "Examples" >> beam.Create([batch])
            | "Evaluate"
            >> model_eval_lib.ExtractEvaluateAndWriteResults(
                eval_config=config, eval_shared_model=models, output_path=str(output)
            )
        )
    return tfma.load_metrics(str(output)), tfma.load_validation_result(str(output))


def classification_metrics(records, complete: set[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Per-slice, per-model metrics from TFMA's records; macro averages on complete slices only.

    Args:
        records: TFMA's metrics records.
        complete: Slices holding every class (a macro average over absent classes is undefined).
    """
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for record in records:
        name_of_slice = slice_name(record.slice_key)
        for entry in record.metric_keys_and_values:
            name = TFMA_KEY_NAMES.get(entry.key.name)
            if entry.key.HasField("aggregation_type") and name_of_slice not in complete:
                continue
            if name is not None and entry.value.HasField("double_value"):
                model = entry.key.model_name or "candidate"
                name = f"{name}_diff" if entry.key.is_diff else name
                metrics.setdefault(name_of_slice, {}).setdefault(model, {})[name] = (
                    entry.value.double_value.value
                )
    return metrics


def classification_failures(validation) -> list[ThresholdFailure]:
    """The thresholds TFMA's validation result says the candidate missed."""
    failures = []
    for per_slice in validation.metric_validations_per_slice:
        for failure in per_slice.failures:
            name = TFMA_KEY_NAMES.get(failure.metric_key.name, failure.metric_key.name)
            threshold = failure.metric_threshold
            if threshold.HasField("value_threshold"):
                kind, bound = "value", threshold.value_threshold.lower_bound.value
            else:
                kind, bound = "change", threshold.change_threshold.absolute.value
            failures.append(
                ThresholdFailure(
                    name,
                    slice_name(per_slice.slice_key),
                    kind,
                    round(bound, 9),
                    failure.metric_value.double_value.value,
                )
            )
    return failures


def passed(validation, settings: EvaluationSettings, has_baseline: bool) -> bool:
    """TFMA's verdict; with no threshold to apply (a first model without floors) it passes.

    TFMA writes no validation result when the config has no threshold, and an absent result
    reads as not OK.
    """
    judged = settings.value_thresholds or (has_baseline and settings.change_thresholds)
    return bool(validation.validation_ok) if judged else not validation.metric_validations_per_slice
