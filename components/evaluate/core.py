"""Evaluates the candidate against the deployed model with TensorFlow Model Analysis.

TFMA runs model-agnostic: both models' probabilities are computed here and handed to TFMA as
materialized predictions, so the same ``EvalConfig`` (slices, value thresholds, change thresholds)
works for Keras and scikit-learn models. The blessing follows the TFX Evaluator: every value
threshold must hold on every slice, every change threshold against the baseline must hold on
every slice, and on the first run (no baseline) change thresholds are skipped.
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from driftgate.alerts import Alert
from driftgate.components.evaluate.blessing import floor_waiver
from driftgate.errors import ConfigError
from driftgate.integrity import VerifiedDir
from driftgate.metrics import REGRESSION_METRIC_NAMES as REGRESSION
from driftgate.scoring import align_probabilities, load_scorer

log = logging.getLogger(__name__)
OVERALL = "overall"
MISSING = "(missing)"
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


class EvaluationSettings(BaseModel):
    """What a candidate must achieve to be blessed.

    Attributes:
        slices: Features to slice by.
        value_thresholds: Minimum value of a metric (``accuracy``, ``precision``, ``recall``,
            ``f1``, ``roc_auc``; ``r2``), or maximum (``rmse``, ``mae``) for regression.
        change_thresholds: Largest allowed drop of a metric against the deployed model; 0 means
            no regression at all.
        min_slice_size: Slices with fewer held-out examples are listed but not judged.
        rescue_margin: A candidate under a floor is still blessed when the deployed model is
            under that floor too and the candidate beats it by this much (``blessing.py``).

    Accuracy thresholds hold on the whole eval set and on every slice. The macro-averaged
    metrics are judged on the whole eval set only: on a slice that lacks some classes (a
    single-species island) a macro average over all classes is undefined.
    """

    model_config = ConfigDict(extra="forbid")

    slices: list[str] = []
    value_thresholds: dict[str, float] = {}
    change_thresholds: dict[str, float] = {"accuracy": 0.0}
    min_slice_size: int = Field(5, ge=1)
    rescue_margin: float = Field(0.02, ge=0, le=1)

    def model_post_init(self, _context: object) -> None:
        """Rejects metric names TFMA is not asked to compute."""
        for table in (self.value_thresholds, self.change_thresholds):
            unknown = set(table) - (set(TFMA_METRICS) - {"example_count"}) - set(REGRESSION)
            if unknown:
                raise ValueError(f"unknown metric(s) {sorted(unknown)}")


@dataclass
class ThresholdFailure:
    """A threshold the candidate did not meet."""

    metric: str
    slice: str
    kind: str  # "value" / "max" (bounds), "change" / "increase" (against the baseline)
    bound: float
    value: float

    def describe(self) -> str:
        """One sentence: which threshold failed, where, and by how much."""
        if self.kind == "max":
            return (
                f"{self.metric} on {self.slice} is {self.value:.4f}, over the maximum "
                f"{self.bound:.4f} by {self.value - self.bound:.4f}"
            )
        if self.kind == "increase":
            return (
                f"{self.metric} on {self.slice} rose by {self.value:.4f} against the deployed "
                f"model, more than the allowed {self.bound:.4f}"
            )
        if self.kind == "value":
            return (
                f"{self.metric} on {self.slice} is {self.value:.4f}, under the minimum "
                f"{self.bound:.4f} by {self.bound - self.value:.4f}"
            )
        return (
            f"{self.metric} on {self.slice} dropped by {-self.value:.4f} against the deployed "
            f"model, more than the allowed {-self.bound:.4f}"
        )


@dataclass
class EvaluationResult:
    """The verdict and the numbers behind it."""

    blessed: bool
    baseline_version: int | None
    classes: list[str]
    metrics: dict[str, dict[str, dict[str, float]]]  # slice -> model -> metric -> value
    failures: list[ThresholdFailure] = field(default_factory=list)
    unjudged_slices: list[str] = field(default_factory=list)
    confusion: dict[str, list[list[int]]] = field(default_factory=dict)  # model -> matrix
    roc: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # model -> fpr/tpr/thr
    under_floor: list[str] = field(default_factory=list)  # floors waived: still under them
    task: str = "classification"
    residuals: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> summary

    def overall(self, model: str = "candidate") -> dict[str, float]:
        """The model's metrics on the whole eval set."""
        return self.metrics.get(OVERALL, {}).get(model, {})

    def to_dict(self) -> dict:
        """JSON-friendly form (stored with the pushed version)."""
        return asdict(self)

    def reason(self) -> str:
        """Why the candidate was blessed or rejected."""
        if self.blessed:
            against = (
                f"no regression against version {self.baseline_version}"
                if self.baseline_version
                else "first model: value thresholds only"
            )
            if self.under_floor:
                return "blessed, still under the floor: " + "; ".join(self.under_floor)
            return f"blessed: every threshold holds on every slice ({against})"
        return "rejected: " + "; ".join(f.describe() for f in self.failures)


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


def _eval_config(
    settings: EvaluationSettings, n_classes: int, has_baseline: bool, slices: list[tuple[str, str]]
):
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


def _slice_name(slice_key) -> str:
    parts = []
    for single in slice_key.single_slice_keys:
        value = (
            single.bytes_value.decode()
            if single.HasField("bytes_value")
            else (single.int64_value if single.HasField("int64_value") else single.float_value)
        )
        parts.append(f"{single.column}={value}")
    return ", ".join(parts) or OVERALL


def _metric_name(key) -> str | None:
    name = TFMA_KEY_NAMES.get(key.name)
    if name is None:
        return None
    return f"{name}_diff" if key.is_diff else name


def _run_tfma(frame, config, has_baseline: bool, output: Path):
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


def _curves(
    labels: np.ndarray, probabilities: np.ndarray, n_classes: int
) -> tuple[list[list[int]], dict]:
    from sklearn.metrics import confusion_matrix, roc_curve

    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), labels=list(range(n_classes)))
    one_hot = np.eye(n_classes)[labels].ravel()
    fpr, tpr, thresholds = roc_curve(one_hot, probabilities.ravel())  # micro-averaged one-vs-rest
    thresholds = np.minimum(thresholds, 1.0)
    return matrix.tolist(), {
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "thresholds": thresholds.tolist(),
    }


def evaluate(
    candidate: VerifiedDir,
    eval_path: str | Path,
    baseline: VerifiedDir | None,
    baseline_version: int | None,
    settings: EvaluationSettings,
    tfma_output: Path | None = None,
) -> EvaluationResult:
    """Scores both models on the held-out rows and applies the thresholds with TFMA.

    Args:
        candidate: The verified candidate model directory.
        eval_path: Held-out rows (features and label).
        baseline: The verified deployed version, or None on the first run.
        baseline_version: Its version number.
        settings: Slices and thresholds.
        tfma_output: Where TFMA writes its results (a temporary directory when None).

    Returns:
        The verdict, per-slice metrics and threshold failures.
    """
    import pandas as pd

    table = pq.read_table(eval_path)
    missing = [s for s in settings.slices if s not in table.column_names]
    if missing:
        raise ConfigError(
            f"evaluation.slices names {missing[0]!r}, which the data does not have",
            file=str(eval_path),
            hint=f"slice by one of {', '.join(table.column_names)}",
        )
    if candidate.metadata.get("task") == "regression":
        from driftgate.components.evaluate import regression

        output = tfma_output or Path(tempfile.mkdtemp(prefix="tfma-"))
        return regression.evaluate(candidate, table, baseline, baseline_version, settings, output)
    scorer = load_scorer(candidate, fast=False)
    classes, label = scorer.classes, candidate.metadata["label"]
    index = {c: i for i, c in enumerate(classes)}
    labels = np.asarray([index[v] for v in table.column(label).to_pylist()], dtype=np.int64)
    predictions = {"candidate": scorer.predict_proba(table).astype(np.float64)}
    if baseline is not None:
        base = load_scorer(baseline, fast=False)
        predictions["baseline"] = align_probabilities(
            base.predict_proba(table), base.classes, classes
        )
    frame = pd.DataFrame({"label": labels})
    for name, probabilities in predictions.items():
        frame[name] = list(probabilities)
    for feature in settings.slices:
        frame[feature] = [
            MISSING if v is None else str(v) for v in table.column(feature).to_pylist()
        ]
    slices, unjudged = judged_slices(frame, settings)
    complete = {OVERALL} | {
        f"{f}={v}" for f, v in slices if frame.loc[frame[f] == v, "label"].nunique() == len(classes)
    }

    output = tfma_output or Path(tempfile.mkdtemp(prefix="tfma-"))
    log.info(
        "evaluating %s held-out rows with TFMA (%s)",
        f"{len(labels):,}",
        f"against version {baseline_version}" if baseline is not None else "no baseline yet",
    )
    config = _eval_config(settings, len(classes), baseline is not None, slices)
    metrics_records, validation = _run_tfma(frame, config, baseline is not None, output)
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for record in metrics_records:
        slice_name = _slice_name(record.slice_key)
        for entry in record.metric_keys_and_values:
            name = _metric_name(entry.key)
            macro = entry.key.HasField("aggregation_type")
            if macro and slice_name not in complete:
                continue  # a macro average over classes absent from the slice is undefined
            if name is not None and entry.value.HasField("double_value"):
                model = entry.key.model_name or "candidate"
                metrics.setdefault(slice_name, {}).setdefault(model, {})[name] = (
                    entry.value.double_value.value
                )
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
                    _slice_name(per_slice.slice_key),
                    kind,
                    round(bound, 9),
                    failure.metric_value.double_value.value,
                )
            )
    waived = floor_waiver(failures, metrics.get(OVERALL, {}), settings.rescue_margin)
    result = EvaluationResult(
        passed(validation, settings, baseline is not None) or waived is not None,
        baseline_version,
        classes,
        metrics,
        failures,
        unjudged,
        under_floor=waived or [],
    )
    for name, probabilities in predictions.items():
        result.confusion[name], result.roc[name] = _curves(labels, probabilities, len(classes))
    log.info("%s", result.reason())
    return result


def passed(validation, settings: EvaluationSettings, has_baseline: bool) -> bool:
    """TFMA's verdict; with no threshold to apply (a first model without floors) it passes.

    TFMA writes no validation result when the config has no threshold, and an absent result
    reads as not OK.
    """
    judged = settings.value_thresholds or (has_baseline and settings.change_thresholds)
    return bool(validation.validation_ok) if judged else not validation.metric_validations_per_slice


def finite(values: dict[str, float]) -> dict[str, float]:
    """Drops NaN metrics (for example ROC-AUC on a slice holding a single class)."""
    return {k: v for k, v in values.items() if not math.isnan(v)}


def under_floor_alert(result: EvaluationResult, model: str, run: str | None) -> Alert:
    """The alert for a candidate promoted although it is still under a floor."""
    return Alert(
        "under_floor",
        model,
        f"{model}: promoted a candidate that is still under its floor",
        f"The deployed version {result.baseline_version} is under the floor too, and the "
        "candidate beats it on the same held-out rows; look at the data or the floor.",
        {f"note {i + 1}": note for i, note in enumerate(result.under_floor)},
        run,
    )


def rejection_alert(result: EvaluationResult, model: str, run: str | None) -> Alert:
    """The alert for a rejected candidate: every failed threshold, by slice."""
    fields = {f"{f.metric} on {f.slice}": f.describe() for f in result.failures[:10]}
    return Alert(
        "rejected",
        model,
        f"{model}: retrained candidate rejected",
        f"The candidate did not pass evaluation against version {result.baseline_version}; "
        "production is unchanged.",
        fields,
        run,
    )


def record_markdown(result: EvaluationResult) -> str:
    """The evaluation record: verdict, failed thresholds and per-slice metrics of both models."""
    baseline = (
        f"version {result.baseline_version}" if result.baseline_version else "none (first model)"
    )
    lines = [
        f"# Evaluation: {'BLESSED' if result.blessed else 'REJECTED'}",
        "",
        result.reason() + ".",
        "",
        f"- baseline: {baseline}",
        "",
    ]
    if result.unjudged_slices:
        lines += [
            f"Not judged (fewer than the minimum rows): {', '.join(result.unjudged_slices)}.",
            "",
        ]
    if result.failures:
        lines += [
            "## Failed thresholds",
            "",
            "| metric | slice | kind | bound | value |",
            "|---|---|---|---|---|",
        ]
        for f in result.failures:
            lines.append(f"| {f.metric} | {f.slice} | {f.kind} | {f.bound:.4f} | {f.value:.4f} |")
        lines.append("")
    lines += [
        "## Metrics by slice",
        "",
        "| slice | metric | candidate | baseline | change |",
        "|---|---|---|---|---|",
    ]
    for slice_name, models in result.metrics.items():
        candidate, baseline = models.get("candidate", {}), models.get("baseline", {})
        for metric, value in sorted(finite(candidate).items()):
            if metric.endswith("_diff"):
                continue
            base = baseline.get(metric)
            diff = candidate.get(f"{metric}_diff")
            base_text = "–" if base is None else f"{base:.4f}"
            diff_text = "–" if diff is None or math.isnan(diff) else f"{diff:+.4f}"
            lines.append(f"| {slice_name} | {metric} | {value:.4f} | {base_text} | {diff_text} |")
    return "\n".join(lines) + "\n"


def gauges(result: EvaluationResult, counters: dict[str, float]) -> dict[str, dict[tuple, float]]:
    """Prometheus series (``driftgate.monitoring.METRICS``) of an evaluation and run counters."""
    from driftgate.metrics import METRIC_NAMES

    def ratios(model: str) -> dict[str, float]:
        return {k: v for k, v in result.overall(model).items() if k in METRIC_NAMES and v == v}

    return {
        "candidate_score_ratio": {(k,): v for k, v in ratios("candidate").items()},
        "deployed_model_score_ratio": {(k, "holdout"): v for k, v in ratios("baseline").items()},
        "candidate_blessed": {(): float(result.blessed)},
        **{name: {(): value} for name, value in counters.items()},
    }
