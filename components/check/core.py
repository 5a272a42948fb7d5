"""The gate: compares the batch with the deployed model's reference data and scores the model.

Drift is measured on histograms against the reference statistics stored with the deployed
version (no rescan of the reference data). When the batch carries labels, the deployed model is
scored on it; the Keras family is scored through its NumPy mirror, so a run that retrains
nothing never imports TensorFlow.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict
from tensorflow_metadata.proto.v0 import statistics_pb2

from driftgate import tasks
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
from driftgate.tabular import iter_parquet

log = logging.getLogger(__name__)


class PerformanceSettings(BaseModel):
    """Lower bounds on the deployed model's metrics on a labelled batch.

    Metrics: ``accuracy`` and macro-averaged ``precision``, ``recall``, ``f1`` and ``roc_auc``;
    for regression ``r2`` (a minimum) and ``rmse`` and ``mae`` (maxima). A metric beyond its
    bound marks the model as degraded, which triggers a retrain and an alert. Bounds on metrics
    the model's task does not have are not applied.
    """

    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, float] = {"accuracy": 0.8}

    def model_post_init(self, _context: object) -> None:
        """Rejects unknown metric names."""
        unknown = set(self.thresholds) - set(METRIC_NAMES)
        if unknown:
            raise ValueError(
                f"unknown metric(s) {sorted(unknown)}; choose from {list(METRIC_NAMES)}"
            )


@dataclass
class CheckResult:
    """What the gate found."""

    deployed_version: int | None
    drift: DriftResult | None
    batch_stats: DatasetStats | None
    performance: dict[str, float] | None
    degraded: list[str]
    performance_thresholds: dict[str, float]

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
        }


def load_reference(verified: VerifiedDir) -> tuple[DatasetStats, object]:
    """Reads the reference statistics and row sample stored with a verified version."""
    proto = statistics_pb2.DatasetFeatureStatisticsList()
    proto.ParseFromString((verified.path / REFERENCE_STATS).read_bytes())
    sample_path = verified.path / REFERENCE_SAMPLE
    sample = pq.read_table(sample_path) if sample_path.exists() else None
    return from_proto(proto), sample


def check(
    batch_path: str | Path,
    registry: Registry,
    drift_settings: DriftSettings,
    performance: PerformanceSettings,
    label: str,
    has_labels: bool,
) -> CheckResult:
    """Runs the drift and performance checks against the production version.

    Args:
        batch_path: The validated batch.
        registry: The model's registry; its production version is the baseline.
        drift_settings: Thresholds and rule for drift.
        performance: Bounds for the deployed model's metrics.
        label: The label column.
        has_labels: Whether the batch carries labels.

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
    scores, degraded = None, []
    if has_labels:
        table = pq.read_table(batch_path)
        scorer = load_scorer(verified, fast=True)
        task = verified.metadata.get("task", tasks.CLASSIFICATION)
        if task == tasks.REGRESSION:
            targets = table.column(label).to_numpy(zero_copy_only=False)
            scores = regression_metrics(targets, scorer.predict(table))
        else:
            scores = classification_metrics(
                table.column(label).to_pylist(), scorer.predict_proba(table), scorer.classes
            )
        degraded = [
            m
            for m, bound in tasks.applicable(performance.thresholds, task).items()
            if not math.isnan(scores[m]) and tasks.violates(m, scores[m], bound)
        ]
        log.info(
            "deployed version %s on this batch: %s",
            version,
            ", ".join(f"{k}={v:.3f}" for k, v in scores.items()),
        )
    return CheckResult(version, drift, batch_stats, scores, degraded, performance.thresholds)
