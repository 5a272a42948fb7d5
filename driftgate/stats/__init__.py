"""Streaming, mergeable dataset statistics and the drift metrics computed from them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pyarrow as pa

from driftgate.data.schema import FeatureKinds
from driftgate.settings.drift import DriftSettings
from driftgate.stats.accumulator import DatasetStats, from_proto
from driftgate.stats.binning import Binning, binning_from_sample
from driftgate.stats.calibration import calibrate, per_feature_alpha
from driftgate.stats.drift import DriftResult, compare
from driftgate.stats.sample import RowSampler

__all__ = [
    "Binning",
    "DatasetStats",
    "DriftResult",
    "DriftSettings",
    "compare",
    "compute_stats",
    "from_proto",
    "reference_stats",
]


def compute_stats(
    batches: Iterable[pa.RecordBatch], binning: Binning, sample_size: int = 0, seed: int = 0
) -> tuple[DatasetStats, pa.Table | None]:
    """One pass over a batch stream: statistics under ``binning`` and an optional row sample."""
    stats = DatasetStats(binning)
    sampler = RowSampler(sample_size, seed) if sample_size else None
    columns = list(binning.features)
    for batch in batches:
        batch = batch.select(columns)
        stats.add(batch)
        if sampler:
            sampler.add(batch)
    return stats, (sampler.rows if sampler else None)


def reference_stats(
    open_batches: Callable[[], Iterable[pa.RecordBatch]],
    kinds: FeatureKinds,
    settings: DriftSettings,
    seed: int = 0,
) -> tuple[DatasetStats, pa.Table | None]:
    """Statistics of reference data: one pass to sample and place the bins, one to count.

    Args:
        open_batches: Opens a fresh stream of the reference's record batches.
        kinds: Numeric and categorical features.
        settings: Bin counts and sample size.
        seed: Seed of the row sample.

    Returns:
        The statistics and the row sample (kept for the KS test).
    """
    sampler = RowSampler(settings.sample_size, seed)
    for batch in open_batches():
        sampler.add(batch.select(list(kinds.features)))
    if sampler.rows is None:
        raise ValueError("the reference data has no rows")
    binning = binning_from_sample(sampler.rows, kinds, bins=settings.bins, top_k=settings.top_k)
    stats, _ = compute_stats(open_batches(), binning)
    if settings.uses_auto():
        stats.calibration = calibrate_reference(stats, settings.false_alarm_rate, seed)
    return stats, sampler.rows


def calibrate_reference(stats: DatasetStats, false_alarm_rate: float, seed: int) -> dict:
    """Calibrates ``auto`` thresholds for every feature once, stored with the statistics."""
    alpha = per_feature_alpha(false_alarm_rate, max(1, len(stats.features)))
    found = {}
    for name, feature in stats.features.items():
        counts = feature.counts
        if counts.sum() > 0:
            found[name] = calibrate(counts, int(counts.sum()), alpha, seed=seed).to_dict()
    return found
