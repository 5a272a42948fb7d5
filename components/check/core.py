"""The gate: compares the batch with the deployed model's reference data and scores the model.

Drift is measured on histograms against the reference statistics stored with the deployed
version (no rescan of the reference data). When the batch carries labels, the deployed model is
scored on it; the Keras family is scored through its NumPy mirror, so a run that retrains
nothing never imports TensorFlow.
"""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field
from tensorflow_metadata.proto.v0 import statistics_pb2

from driftgate import tasks
from driftgate.estimation import ESTIMATED_METRICS, estimate
from driftgate.integrity import VerifiedDir
from driftgate.metrics import METRIC_NAMES, classification_metrics, regression_metrics
from driftgate.registry import REFERENCE_SAMPLE, REFERENCE_STATS, Registry
from driftgate.scoring import load_scorer
from driftgate.stats import (
    DatasetStats,
    DriftResult,
    DriftSettings,
    compare,
    compute_stats,
    from_proto,
)
from driftgate.tabular.parquetfile import iter_parquet

log = logging.getLogger(__name__)


class PerformanceSettings(BaseModel):
    """When the deployed model counts as degraded on a labelled batch.

    Metrics: ``accuracy`` and macro-averaged ``precision``, ``recall``, ``f1`` and ``roc_auc``;
    for regression ``r2`` (a minimum) and ``rmse`` and ``mae`` (maxima). Bounds on metrics the
    model's task does not have are not applied.

    Attributes:
        thresholds: Absolute floors; a metric under its floor is degraded.
        max_drop: Largest tolerated drop of a metric under the deployed model's own score on
            its held-out rows at training time (stored with the version). The drop must be
            significant at ``confidence`` given both sample sizes, so small batches need
            larger drops.
        metrics: The metrics ``max_drop`` applies to.
        confidence: One-sided confidence of the drop test.
    """

    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, float] = {}
    max_drop: float | None = Field(0.05, ge=0, le=1)
    metrics: list[str] = ["accuracy"]
    confidence: float = Field(0.95, gt=0.5, lt=1)

    def model_post_init(self, _context: object) -> None:
        """Rejects unknown metric names."""
        unknown = (set(self.thresholds) | set(self.metrics)) - set(METRIC_NAMES)
        if unknown:
            raise ValueError(
                f"unknown metric(s) {sorted(unknown)}; choose from {list(METRIC_NAMES)}"
            )

    def under_bounds(self, scores: dict[str, float], task: str) -> list[str]:
        """The metrics whose score is beyond its bound (NaN scores never are)."""
        return [
            m
            for m, bound in tasks.applicable(self.thresholds, task).items()
            if not math.isnan(scores[m]) and tasks.violates(m, scores[m], bound)
        ]

    def dropped(
        self, scores: dict[str, float], rows: int, reference: dict[str, float], reference_rows: int
    ) -> list[str]:
        """The metrics that fell significantly more than ``max_drop`` under their reference.

        A one-sided test on the difference of two proportions: the drop minus ``z`` standard
        errors (batch and reference rows) must still exceed ``max_drop``.
        """
        if self.max_drop is None or rows == 0 or reference_rows == 0:
            return []
        z = statistics.NormalDist().inv_cdf(self.confidence)
        dropped = []
        for metric in self.metrics:
            score, base = scores.get(metric, math.nan), reference.get(metric, math.nan)
            if math.isnan(score) or math.isnan(base) or metric in tasks.LOWER_IS_BETTER:
                continue
            error = math.sqrt(score * (1 - score) / rows + base * (1 - base) / reference_rows)
            if base - score - z * error > self.max_drop:
                dropped.append(metric)
        return dropped

    def bounds(self, reference: dict[str, float]) -> dict[str, float]:
        """Each metric's effective bound before sampling error: the floor or reference − drop."""
        bounds = dict(self.thresholds)
        if self.max_drop is not None:
            for metric in self.metrics:
                if metric in reference:
                    relative = reference[metric] - self.max_drop
                    bounds[metric] = max(bounds.get(metric, relative), relative)
        return bounds


@dataclass
class CheckResult:
    """What the gate found."""

    deployed_version: int | None
    drift: DriftResult | None
    batch_stats: DatasetStats | None
    performance: dict[str, float] | None
    degraded: list[str]
    performance_thresholds: dict[str, float]
    estimate: dict[str, dict[str, float]] | None = None
    estimate_degraded: list[str] = field(default_factory=list)
    estimate_note: str = ""

    @property
    def drift_detected(self) -> bool:
        """Whether the dataset-level drift rule fired."""
        return bool(self.drift and self.drift.drift_detected)

    @property
    def performance_degraded(self) -> bool:
        """Whether a metric of the deployed model fell under its bound."""
        return bool(self.degraded)

    def metrics(self) -> dict[str, float]:
        """Flat scalars for the Kubeflow UI's Metrics view."""
        out: dict[str, float] = {}
        if self.drift:
            out["drifted_features"] = float(len(self.drift.drifted_features))
            out["batch_rows"] = float(self.drift.current_rows)
            for f in self.drift.features:
                out[f"js_{f.name}"] = round(f.metrics["js"], 6)
        for name, value in (self.performance or {}).items():
            if not math.isnan(value):
                out[f"deployed_{name}"] = round(value, 6)
        return out

    def summary(self) -> dict:
        """A JSON-friendly digest (read by the CLI and the decision record)."""
        return {
            "deployed_version": self.deployed_version,
            "drift_detected": self.drift_detected,
            "drifted_features": self.drift.drifted_features if self.drift else [],
            "top_features": [
                {
                    "name": f.name,
                    "js": f.metrics["js"],
                    "drifted": f.drifted,
                    "exceeded": f.exceeded,
                    "thresholds": f.thresholds,
                }
                for f in (self.drift.features[:5] if self.drift else [])
            ],
            "feature_js": {f.name: f.metrics["js"] for f in self.drift.features}
            if self.drift
            else {},
            "warnings": self.drift.warnings if self.drift else [],
            "performance": self.performance,
            "performance_thresholds": self.performance_thresholds,
            "degraded": self.degraded,
            "estimate": self.estimate,
            "estimate_degraded": self.estimate_degraded,
            "estimate_note": self.estimate_note,
        }


def load_reference(verified: VerifiedDir) -> tuple[DatasetStats, object]:
    """Reads the reference statistics and row sample stored with a verified version."""
    proto = statistics_pb2.DatasetFeatureStatisticsList()
    proto.ParseFromString((verified.path / REFERENCE_STATS).read_bytes())
    sample_path = verified.path / REFERENCE_SAMPLE
    sample = pq.read_table(sample_path) if sample_path.exists() else None
    return from_proto(proto), sample


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


def assess(
    verified: VerifiedDir, scores: dict[str, float], rows: int, performance: PerformanceSettings
) -> list[str]:
    """The metrics on which a version is degraded: under a floor, or dropped significantly."""
    eval_rows = verified.metadata.get("training", {}).get("eval_rows", 0)
    dropped = performance.dropped(scores, rows, reference_metrics(verified), eval_rows)
    task = verified.metadata.get("task", tasks.CLASSIFICATION)
    return sorted(set(performance.under_bounds(scores, task)) | set(dropped))


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
    bounds = performance.bounds(reference_metrics(verified))
    return {
        "estimate": {m: asdict(e) for m, e in estimates.items()},
        "estimate_degraded": [
            m for m, e in estimates.items() if m in bounds and e.high < bounds[m]
        ],
        "estimate_note": f"calibration error {error:.3f}",
    }


def check(
    batch_path: str | Path,
    registry: Registry,
    drift_settings: DriftSettings,
    performance: PerformanceSettings,
    label: str,
    has_labels: bool,
    max_calibration_error: float = 0.05,
) -> CheckResult:
    """Runs the drift and performance checks against the production version.

    Args:
        batch_path: The validated batch.
        registry: The model's registry; its production version is the baseline.
        drift_settings: Thresholds and rule for drift.
        performance: Bounds for the deployed model's metrics.
        label: The label column.
        has_labels: Whether the batch carries labels.
        max_calibration_error: Without labels, the deployed model's performance is estimated
            from its probabilities when its stored calibration error is under this bound.

    Returns:
        The findings; without a deployed model, nothing is compared.
    """
    version = registry.production()
    if version is None:
        log.info("no deployed model yet: nothing to compare against")
        return CheckResult(None, None, None, None, [], performance.thresholds)
    verified = registry.verified(version)
    reference, reference_sample = load_reference(verified)
    wants_sample = any(
        drift_settings.thresholds_for(n).ks_pvalue is not None for n in reference.binning.numeric()
    )
    batch_stats, batch_sample = compute_stats(
        iter_parquet(str(batch_path), dictionary=True),
        reference.binning,
        drift_settings.sample_size if wants_sample else 0,
    )
    drift = compare(reference, batch_stats, drift_settings, reference_sample, batch_sample)
    log.info(
        "drift against version %s: %s (%s)",
        version,
        "detected" if drift.drift_detected else "none",
        ", ".join(drift.drifted_features) or "-",
    )
    scores, degraded, bounds = None, [], performance.bounds(reference_metrics(verified))
    estimated: dict = {}
    if not has_labels:
        estimated = estimate_performance(
            verified, pq.read_table(batch_path), performance, max_calibration_error
        )
    if has_labels:
        table = pq.read_table(batch_path)
        scores = score(verified, table, label)
        degraded = assess(verified, scores, table.num_rows, performance)
        log.info(
            "deployed version %s on this batch: %s",
            version,
            ", ".join(f"{k}={v:.3f}" for k, v in scores.items()),
        )
    return CheckResult(version, drift, batch_stats, scores, degraded, bounds, **estimated)
