"""Fixed bins, taken once from the reference data and reused for every later batch.

Numeric features get quantile edges of the reference (bins ``(-inf, e1), [e1, e2), …,
[e_last, inf)``); categorical features get the reference's ``top_k`` most frequent values plus
one bucket for every other or unseen value. Because the bins never change, the counts of any
batch are exact and partial counts add up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from driftgate.data.schema import FeatureKinds

OTHER = "__other__"


@dataclass(frozen=True)
class NumericBins:
    """Interior edges, ascending; ``len(edges) + 1`` bins."""

    edges: tuple[float, ...]

    @property
    def size(self) -> int:
        """Number of bins."""
        return len(self.edges) + 1


@dataclass(frozen=True)
class CategoricalBins:
    """The tracked values; one more bin counts every other value."""

    values: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of bins, the other/unseen bucket included."""
        return len(self.values) + 1


Bins = NumericBins | CategoricalBins


@dataclass(frozen=True)
class Binning:
    """Bins for every feature, in feature order."""

    features: dict[str, Bins]

    def numeric(self) -> list[str]:
        """Names of the numeric features."""
        return [n for n, b in self.features.items() if isinstance(b, NumericBins)]

    def categorical(self) -> list[str]:
        """Names of the categorical features."""
        return [n for n, b in self.features.items() if isinstance(b, CategoricalBins)]


def numeric_edges(values: np.ndarray, bins: int) -> tuple[float, ...]:
    """Quantile edges of the finite ``values`` (duplicates removed)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ()
    inner = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1], method="linear")
    return tuple(float(e) for e in np.unique(inner))


def top_values(column: pa.ChunkedArray | pa.Array, top_k: int) -> tuple[str, ...]:
    """The ``top_k`` most frequent non-null values, most frequent first, ties by value."""
    counts = pc.value_counts(pc.cast(column, pa.string()).drop_null())
    pairs = sorted(
        zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True),
        key=lambda vc: (-vc[1], vc[0]),
    )
    return tuple(v for v, _ in pairs[:top_k])


def binning_from_sample(
    sample: pa.Table, kinds: FeatureKinds, *, bins: int = 10, top_k: int = 20
) -> Binning:
    """Derives the bins of every feature from a uniform row sample of the reference.

    Args:
        sample: Rows of the reference data (a :class:`RowSampler` sample or all of it).
        kinds: Which features are numeric and which categorical.
        bins: Number of quantile bins for numeric features.
        top_k: Number of tracked values for categorical features.

    Returns:
        The binning.
    """
    features: dict[str, Bins] = {}
    for name in kinds.numeric:
        values = pc.cast(sample.column(name), pa.float64()).to_numpy(zero_copy_only=False)
        features[name] = NumericBins(numeric_edges(values, bins))
    for name in kinds.categorical:
        features[name] = CategoricalBins(top_values(sample.column(name), top_k))
    return Binning(features)
