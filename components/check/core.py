"""The gate: compares the batch with the deployed model's reference data and scores the model.

Drift is measured on histograms against the reference statistics stored with the deployed
version (no rescan of the reference data). When the batch carries labels, the deployed model is
scored on it; the Keras family is scored through its NumPy mirror, so a run that retrains
nothing never imports TensorFlow.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from tensorflow_metadata.proto.v0 import statistics_pb2

from driftgate.components.check.performance import (
    assess,
    effective_bounds,
    estimate_performance,
    reference_metrics,
    score,
)
from driftgate.data.tabular.parquetfile import iter_parquet
from driftgate.observe.curve_plot import learning_curve_html
from driftgate.observe.report import drift_html, drift_markdown
from driftgate.registry.integrity import VerifiedDir
from driftgate.registry.store import REFERENCE_SAMPLE, REFERENCE_STATS, Registry
from driftgate.settings.performance import PerformanceSettings
from driftgate.stats import (
    DatasetStats,
    DriftResult,
    DriftSettings,
    compare,
    compute_stats,
    from_proto,
)

log = logging.getLogger(__name__)


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
    trained_rows: int = 0  # rows the deployed version trained on
    learning_curve: dict | None = None  # the deployed version's, from its metadata
    learning_curve_note: str = ""  # why it has none

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
            "trained_rows": self.trained_rows,
            "learning_curve": self.learning_curve,
            "learning_curve_note": self.learning_curve_note,
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
    scores, degraded, bounds = None, [], effective_bounds(performance, reference_metrics(verified))
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
    training = verified.metadata.get("training", {})
    return CheckResult(
        version,
        drift,
        batch_stats,
        scores,
        degraded,
        bounds,
        **estimated,
        trained_rows=int(training.get("rows", 0)),
        learning_curve=verified.metadata.get("learning_curve"),
        learning_curve_note=training.get(
            "learning_curve_note", "the deployed version predates learning curves"
        ),
    )


@dataclass
class CheckStep:
    """The check step's outputs: the findings and their reports."""

    result: CheckResult
    generation: int  # the production pointer's generation, read before the comparison
    html: str
    markdown: str


def run_step(
    batch_path: str | Path,
    registry: Registry,
    drift_settings: DriftSettings,
    performance: PerformanceSettings,
    label: str,
    has_labels: bool,
    max_calibration_error: float,
) -> CheckStep:
    """Runs :func:`check` and renders its drift report (HTML) and summary (Markdown)."""
    generation = registry.production_state()[1]  # read before the version the check compares
    result = check(
        batch_path,
        registry,
        drift_settings,
        performance,
        label,
        has_labels,
        max_calibration_error,
    )
    if result.drift is None:
        text = "No deployed model yet: there is no reference to compare the batch with.\n"
        html = f"<!DOCTYPE html><html><body><p>{text}</p></body></html>"
    else:
        context = {"model": registry.model, "deployed version": str(result.deployed_version)}
        html = drift_html(result.drift, f"Drift of {registry.model}", context).replace(
            "</body>",
            learning_curve_html(result.learning_curve, result.learning_curve_note) + "</body>",
        )
        text = drift_markdown(result.drift)
    if result.performance is not None:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in result.performance.items())
        under = ", ".join(result.degraded) or "none"
        text += f"\n## Deployed model on this batch\n\n{scores}; under bound: {under}\n"
    return CheckStep(result, generation, html, text)
