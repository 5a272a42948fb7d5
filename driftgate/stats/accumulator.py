"""Streaming, mergeable dataset statistics under a fixed binning.

Memory is bounded by the number of features and bins, not by the number of rows: record batches
are folded in one at a time, in 64K-value slices that stay in the CPU cache. Partial statistics
merge exactly: bin counts, missing/NaN/infinity counts, min and max are integers or exact
extrema, and mean and variance combine with Chan's parallel formula (equal up to float rounding).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tensorflow_metadata.proto.v0 import statistics_pb2

from driftgate.stats.binning import OTHER, Binning, CategoricalBins, NumericBins

SLICE = 1 << 16
CALIBRATION = "driftgate_auto_thresholds"  # custom stat: the calibration of auto thresholds


@dataclass
class NumericStats:
    """Statistics of one numeric feature."""

    counts: np.ndarray
    count: int = 0
    missing: int = 0
    nan: int = 0
    pos_inf: int = 0
    neg_inf: int = 0
    min: float = math.inf
    max: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0

    @property
    def std(self) -> float:
        """Population standard deviation of the finite values."""
        return math.sqrt(self.m2 / self.count) if self.count else 0.0

    def add_values(self, x: np.ndarray, edges: np.ndarray, scratch: np.ndarray) -> None:
        """Folds in finite float64 values (NaN, infinity and nulls already removed)."""
        n = x.size
        if n == 0:
            return
        mean = float(x.sum()) / n
        np.subtract(x, mean, out=scratch[:n])
        m2 = float(np.dot(scratch[:n], scratch[:n]))
        below = [np.count_nonzero(x < edge) for edge in edges]
        self.counts += np.diff(np.asarray([0, *below, n], dtype=np.int64))
        self._merge_moments(n, mean, m2, float(x.min()), float(x.max()))

    def _merge_moments(self, n: int, mean: float, m2: float, lo: float, hi: float) -> None:
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)

    def merge(self, other: NumericStats) -> None:
        """Adds another partial statistic of the same feature and bins."""
        self.counts += other.counts
        self.missing += other.missing
        self.nan += other.nan
        self.pos_inf += other.pos_inf
        self.neg_inf += other.neg_inf
        if other.count:
            self._merge_moments(other.count, other.mean, other.m2, other.min, other.max)


@dataclass
class CategoricalStats:
    """Statistics of one categorical feature: counts per tracked value, then the other bucket."""

    counts: np.ndarray
    missing: int = 0

    @property
    def count(self) -> int:
        """Number of non-missing values."""
        return int(self.counts.sum())

    def merge(self, other: CategoricalStats) -> None:
        """Adds another partial statistic of the same feature and bins."""
        self.counts += other.counts
        self.missing += other.missing


FeatureStats = NumericStats | CategoricalStats


@dataclass
class DatasetStats:
    """Statistics of every feature of a dataset under one binning."""

    binning: Binning
    rows: int = 0
    features: dict[str, FeatureStats] = field(default_factory=dict)
    calibration: dict[str, dict] = field(default_factory=dict)  # feature -> auto thresholds

    def __post_init__(self) -> None:
        for name, bins in self.binning.features.items():
            if name not in self.features:
                counts = np.zeros(bins.size, dtype=np.int64)
                self.features[name] = (
                    NumericStats(counts)
                    if isinstance(bins, NumericBins)
                    else CategoricalStats(counts)
                )
        self._edges = {
            n: np.asarray(b.edges, dtype=np.float64)
            for n, b in self.binning.features.items()
            if isinstance(b, NumericBins)
        }
        self._vocab = {
            n: pa.array(b.values, pa.string())
            for n, b in self.binning.features.items()
            if isinstance(b, CategoricalBins)
        }
        self._scratch = np.empty(SLICE, dtype=np.float64)

    def __getstate__(self) -> dict:
        """Pickles only the statistics; the lookup tables are rebuilt (Beam ships accumulators)."""
        return {
            "binning": self.binning,
            "rows": self.rows,
            "features": self.features,
            "calibration": self.calibration,
        }

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def add(self, batch: pa.RecordBatch | pa.Table) -> DatasetStats:
        """Folds the rows of a record batch or table into the statistics."""
        self.rows += batch.num_rows
        for name, stats in self.features.items():
            column = batch.column(name)
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            for chunk in chunks:
                if isinstance(stats, NumericStats):
                    self._add_numeric(stats, chunk, self._edges[name])
                else:
                    self._add_categorical(stats, chunk, self._vocab[name])
        return self

    def _add_numeric(self, stats: NumericStats, column: pa.Array, edges: np.ndarray) -> None:
        if not pa.types.is_float64(column.type):
            column = pc.cast(column, pa.float64())
        for start in range(0, len(column), SLICE):
            part = column.slice(start, SLICE)
            nulls = part.null_count
            x = part.to_numpy(zero_copy_only=False)
            if nulls or not math.isfinite(float(x.sum())):
                nan = np.isnan(x)
                inf = np.isinf(x)
                stats.missing += nulls
                stats.nan += int(nan.sum()) - nulls
                positive = int(np.count_nonzero(x[inf] > 0))
                stats.pos_inf += positive
                stats.neg_inf += int(inf.sum()) - positive
                x = x[~(nan | inf)]
            stats.add_values(x, edges, self._scratch)

    @staticmethod
    def _add_categorical(stats: CategoricalStats, column: pa.Array, vocab: pa.Array) -> None:
        size = len(vocab)
        if pa.types.is_dictionary(column.type):
            # Map each dictionary entry to its bin once (-1: a null entry), then count codes.
            dictionary = pc.cast(column.dictionary, pa.string())
            bins = pc.fill_null(pc.index_in(dictionary, value_set=vocab), size)
            bins = pc.if_else(pc.is_valid(dictionary), bins, -1).to_numpy(zero_copy_only=False)
            codes = column.indices
            if codes.null_count:
                stats.missing += codes.null_count
                codes = codes.drop_null()
            mapped = bins[codes.to_numpy(zero_copy_only=False)]
            null_entries = int(np.count_nonzero(mapped < 0))
            stats.missing += null_entries
            stats.counts += np.bincount(
                mapped[mapped >= 0] if null_entries else mapped, minlength=size + 1
            )
            return
        if not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        index = pc.index_in(column, value_set=vocab)
        stats.missing += column.null_count
        tracked = index.drop_null().to_numpy(zero_copy_only=False)
        stats.counts[:size] += np.bincount(tracked, minlength=size)[:size]
        stats.counts[size] += index.null_count - column.null_count

    def merge(self, other: DatasetStats) -> DatasetStats:
        """Adds statistics of other rows computed under the same binning."""
        if other.binning != self.binning:
            raise ValueError("cannot merge statistics computed under different binnings")
        self.rows += other.rows
        for name, stats in self.features.items():
            stats.merge(other.features[name])  # type: ignore[arg-type]
        return self

    def proportions(self, name: str) -> np.ndarray:
        """Share of each bin among the feature's non-missing finite values."""
        counts = self.features[name].counts.astype(np.float64)
        total = counts.sum()
        return counts / total if total else counts

    def to_proto(self, name: str = "dataset") -> statistics_pb2.DatasetFeatureStatisticsList:
        """Encodes the statistics, bins included, as a tensorflow-metadata proto."""
        result = statistics_pb2.DatasetFeatureStatisticsList()
        dataset = result.datasets.add(name=name, num_examples=self.rows)
        for fname, stats in self.features.items():
            feature = dataset.features.add(name=fname)
            if isinstance(stats, NumericStats):
                _numeric_proto(feature, stats, self.binning.features[fname])  # type: ignore[arg-type]
            else:
                _categorical_proto(feature, stats, self.binning.features[fname])  # type: ignore[arg-type]
            if fname in self.calibration:
                feature.custom_stats.add(name=CALIBRATION, str=json.dumps(self.calibration[fname]))
        return result


def _custom(feature: statistics_pb2.FeatureNameStatistics, name: str, value: float) -> None:
    feature.custom_stats.add(name=name, num=value)


def _numeric_proto(
    feature: statistics_pb2.FeatureNameStatistics, stats: NumericStats, bins: NumericBins
) -> None:
    feature.type = statistics_pb2.FeatureNameStatistics.FLOAT
    num = feature.num_stats
    num.common_stats.num_non_missing = stats.count + stats.nan + stats.pos_inf + stats.neg_inf
    num.common_stats.num_missing = stats.missing
    if stats.count:
        num.mean, num.std_dev, num.min, num.max = stats.mean, stats.std, stats.min, stats.max
    histogram = num.histograms.add(type=statistics_pb2.Histogram.QUANTILES, num_nan=stats.nan)
    bounds = [-math.inf, *bins.edges, math.inf]
    for low, high, count in zip(bounds[:-1], bounds[1:], stats.counts, strict=True):
        histogram.buckets.add(low_value=low, high_value=high, sample_count=float(count))
    _custom(feature, "count", stats.count)
    _custom(feature, "m2", stats.m2)
    _custom(feature, "num_pos_inf", stats.pos_inf)
    _custom(feature, "num_neg_inf", stats.neg_inf)


def _categorical_proto(
    feature: statistics_pb2.FeatureNameStatistics, stats: CategoricalStats, bins: CategoricalBins
) -> None:
    feature.type = statistics_pb2.FeatureNameStatistics.STRING
    string = feature.string_stats
    string.common_stats.num_non_missing = stats.count
    string.common_stats.num_missing = stats.missing
    for rank, (value, count) in enumerate(zip([*bins.values, OTHER], stats.counts, strict=True)):
        if value != OTHER:
            string.top_values.add(value=value, frequency=float(count))
        string.rank_histogram.buckets.add(
            low_rank=rank, high_rank=rank, label=value, sample_count=float(count)
        )


def from_proto(proto: statistics_pb2.DatasetFeatureStatisticsList, index: int = 0) -> DatasetStats:
    """Decodes statistics written by :meth:`DatasetStats.to_proto`, bins included."""
    dataset = proto.datasets[index]
    bins: dict[str, NumericBins | CategoricalBins] = {}
    features: dict[str, FeatureStats] = {}
    calibration: dict[str, dict] = {}
    for feature in dataset.features:
        custom = {c.name: c.num for c in feature.custom_stats}
        stored = [c.str for c in feature.custom_stats if c.name == CALIBRATION]
        if stored:
            calibration[feature.name] = json.loads(stored[0])
        if feature.HasField("num_stats"):
            num = feature.num_stats
            buckets = num.histograms[0].buckets
            bins[feature.name] = NumericBins(tuple(b.high_value for b in buckets[:-1]))
            count = int(custom.get("count", 0))
            features[feature.name] = NumericStats(
                counts=np.asarray([int(b.sample_count) for b in buckets], dtype=np.int64),
                count=count,
                missing=int(num.common_stats.num_missing),
                nan=int(num.histograms[0].num_nan),
                pos_inf=int(custom.get("num_pos_inf", 0)),
                neg_inf=int(custom.get("num_neg_inf", 0)),
                min=num.min if count else math.inf,
                max=num.max if count else -math.inf,
                mean=num.mean,
                m2=custom.get("m2", 0.0),
            )
        else:
            string = feature.string_stats
            buckets = string.rank_histogram.buckets
            bins[feature.name] = CategoricalBins(tuple(b.label for b in buckets[:-1]))
            features[feature.name] = CategoricalStats(
                counts=np.asarray([int(b.sample_count) for b in buckets], dtype=np.int64),
                missing=int(string.common_stats.num_missing),
            )
    return DatasetStats(Binning(bins), int(dataset.num_examples), features, calibration)
