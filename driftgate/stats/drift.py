"""Per-feature drift verdicts and the dataset-level decision, computed from histograms."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from driftgate.errors import ConfigError
from driftgate.settings.drift import DriftSettings
from driftgate.stats import divergence
from driftgate.stats.accumulator import CategoricalStats, DatasetStats, NumericStats
from driftgate.stats.binning import OTHER, CategoricalBins, NumericBins
from driftgate.stats.calibration import Calibration, threshold_at
from driftgate.stats.multitest import adjust

MISSING = "missing"  # the verdict of a feature with no value in the batch


@dataclass
class FeatureDrift:
    """Drift of one feature: metric values, thresholds, verdict and both histograms."""

    name: str
    kind: str
    metrics: dict[str, float]
    thresholds: dict[str, float]
    exceeded: list[str]
    bin_labels: list[str]
    reference_shares: list[float]
    current_shares: list[float]
    reference_missing: float
    current_missing: float

    @property
    def drifted(self) -> bool:
        """True when at least one gating metric crossed its threshold."""
        return bool(self.exceeded)

    @property
    def score(self) -> float:
        """How far past (or short of) its thresholds the feature is; sorts the report."""
        ratios = []
        for metric, limit in self.thresholds.items():
            value = self.metrics.get(metric)
            if value is None or limit is None:
                continue
            if metric == "ks_pvalue":
                ratios.append(limit / max(value, 1e-300))
            elif limit > 0:
                ratios.append(value / limit)
        return max(ratios, default=self.metrics.get("js", 0.0))


@dataclass
class DriftResult:
    """Drift of a batch against the reference: per feature and for the whole dataset."""

    features: list[FeatureDrift]
    drift_detected: bool
    rule: str
    reference_rows: int
    current_rows: int
    warnings: list[str] = field(default_factory=list)

    @property
    def drifted_features(self) -> list[str]:
        """Names of the drifted features, most drifted first."""
        return [f.name for f in self.features if f.drifted]


def _labels(bins: NumericBins | CategoricalBins) -> list[str]:
    if isinstance(bins, CategoricalBins):
        return [*bins.values, OTHER]
    bounds = ["-inf", *(f"{e:.4g}" for e in bins.edges), "inf"]
    return [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(bounds)]


def _missing_share(stats: NumericStats | CategoricalStats, rows: int) -> float:
    return stats.missing / rows if rows else 0.0


def _numeric_metrics(
    ref: NumericStats, cur: NumericStats, bins: NumericBins, samples: tuple | None
) -> dict[str, float]:
    low, high = min(ref.min, cur.min), max(ref.max, cur.max)
    metrics = {
        "js": divergence.js_divergence(ref.counts, cur.counts),
        "psi": divergence.psi(ref.counts, cur.counts),
        "wasserstein": divergence.wasserstein_normalized(
            ref.counts, cur.counts, bins.edges, low, high, ref.std
        ),
    }
    if samples is not None and samples[0].size and samples[1].size:
        statistic, pvalue, exact = divergence.ks_pvalue(*samples)
        metrics.update(ks_statistic=statistic, ks_pvalue=pvalue, ks_exact=float(exact))
    return metrics


def _sample_values(sample: pa.Table | None, name: str) -> np.ndarray:
    if sample is None or name not in sample.column_names:
        return np.empty(0)
    values = pc.cast(sample.column(name), pa.float64()).to_numpy(zero_copy_only=False)
    return values[np.isfinite(values)]


def _calibrated(
    limit: float | str | None, metric: str, name: str, reference: DatasetStats, rows: int
) -> float | None:
    """A threshold, with ``auto`` looked up in the reference's calibration for ``rows`` rows."""
    if limit != "auto":
        return limit  # type: ignore[return-value]
    stored = reference.calibration.get(name)
    if stored is None:
        raise ConfigError(
            f"drift threshold {metric}: auto needs a calibration stored with the reference, "
            f"and feature {name!r} has none",
            hint="retrain (or rerun `driftgate stats`) with the auto threshold configured",
        )
    return threshold_at(Calibration.from_dict(stored), metric, max(rows, 1))


def _correct_ks(features: list[FeatureDrift], method: str) -> None:
    """Judges the KS p-values adjusted for testing many features at once (Holm or BH)."""
    tested = [f for f in features if "ks_pvalue" in f.thresholds and "ks_pvalue" in f.metrics]
    if method == "none" or not tested:
        return
    adjusted = adjust(np.asarray([f.metrics["ks_pvalue"] for f in tested]), method)
    for feature, p in zip(tested, adjusted, strict=True):
        feature.metrics["ks_pvalue_adjusted"] = float(p)
        feature.exceeded = [m for m in feature.exceeded if m != "ks_pvalue"]
        if p < feature.thresholds["ks_pvalue"]:
            feature.exceeded.append("ks_pvalue")


def compare(
    reference: DatasetStats,
    current: DatasetStats,
    settings: DriftSettings,
    reference_sample: pa.Table | None = None,
    current_sample: pa.Table | None = None,
) -> DriftResult:
    """Compares a batch's statistics with the reference's, feature by feature.

    Args:
        reference: Statistics of the reference (the deployed model's training data).
        current: Statistics of the batch, computed under the reference's binning.
        settings: Thresholds and the dataset-level rule.
        reference_sample: Raw reference rows for the KS test (only used when configured).
        current_sample: Raw batch rows for the KS test.

    Returns:
        Per-feature drift, most drifted first, and the dataset verdict.
    """
    features: list[FeatureDrift] = []
    for name, bins in reference.binning.features.items():
        ref, cur = reference.features[name], current.features[name]
        limits = settings.thresholds_for(name)
        if isinstance(bins, NumericBins):
            samples = None
            if limits.ks_pvalue is not None:
                samples = (
                    _sample_values(reference_sample, name),
                    _sample_values(current_sample, name),
                )
            metrics = _numeric_metrics(ref, cur, bins, samples)  # type: ignore[arg-type]
            gating = {
                "js": limits.js,
                "psi": limits.psi,
                "wasserstein": limits.wasserstein,
                "ks_pvalue": limits.ks_pvalue,
            }
        else:
            metrics = {
                "js": divergence.js_divergence(ref.counts, cur.counts),
                "psi": divergence.psi(ref.counts, cur.counts),
                "linf": divergence.l_infinity(ref.counts, cur.counts),
            }
            gating = {"js": limits.js, "psi": limits.psi, "linf": limits.linf}
        gating = {m: _calibrated(v, m, name, reference, cur.count) for m, v in gating.items()}
        active = {m: v for m, v in gating.items() if v is not None and m in metrics}
        exceeded = [
            m
            for m, limit in active.items()
            if (metrics[m] < limit if m == "ks_pvalue" else metrics[m] > limit)
        ]
        if not cur.count:  # no value in the batch: drifted, unless the reference had none
            exceeded = [MISSING] if ref.count else []
        features.append(
            FeatureDrift(
                name=name,
                kind="numeric" if isinstance(bins, NumericBins) else "categorical",
                metrics=metrics,
                thresholds=active,
                exceeded=exceeded,
                bin_labels=_labels(bins),
                reference_shares=reference.proportions(name).tolist(),
                current_shares=current.proportions(name).tolist(),
                reference_missing=_missing_share(ref, reference.rows),
                current_missing=_missing_share(cur, current.rows),
            )
        )
    _correct_ks(features, settings.multiple_testing)
    features.sort(key=lambda f: f.score, reverse=True)
    detected, rule = _dataset_verdict(features, settings)
    return DriftResult(
        features=features,
        drift_detected=detected,
        rule=rule,
        reference_rows=reference.rows,
        current_rows=current.rows,
        warnings=_warnings(reference, current, settings),
    )


def _dataset_verdict(features: list[FeatureDrift], settings: DriftSettings) -> tuple[bool, str]:
    drifted = [f.name for f in features if f.drifted]
    if settings.rule == "any":
        return bool(drifted), f"any feature drifts ({len(drifted)} of {len(features)} did)"
    if settings.rule == "share":
        share = len(drifted) / len(features) if features else 0.0
        return share >= settings.share, (
            f"at least {settings.share:.0%} of features drift ({share:.0%} did)"
        )
    weight = {f.name: settings.weights.get(f.name, 1.0) for f in features}
    total = sum(weight.values())
    share = sum(weight[n] for n in drifted) / total if total else 0.0
    return share >= settings.share, (
        f"drifted features carry at least {settings.share:.0%} of the weight ({share:.0%} did)"
    )


def _warnings(reference: DatasetStats, current: DatasetStats, settings: DriftSettings) -> list[str]:
    warnings = []
    if current.rows < settings.min_rows:
        warnings.append(
            f"the batch has {current.rows} rows, fewer than drift.min_rows={settings.min_rows}: "
            "divergence estimates are biased upwards on small samples"
        )
    noisy = []
    for name, bins in reference.binning.features.items():
        js_limit = settings.thresholds_for(name).js
        floor = divergence.js_noise_floor(bins.size, reference.rows, current.rows)
        # an auto threshold already allows for sampling noise
        if isinstance(js_limit, float) and floor > js_limit / 2:
            noisy.append(f"{name} ({bins.size} buckets: about {floor:.3f}, threshold {js_limit})")
    if noisy:
        warnings.append(
            f"with {reference.rows} reference and {current.rows} batch rows, sampling noise alone "
            f"gives a JS divergence above half the threshold for {', '.join(noisy)}: those "
            "verdicts are unreliable"
        )
    return warnings
