"""Drift thresholds that know the sample size, calibrated once from the reference histogram.

Under no drift, a batch of ``n`` rows and the reference of ``n_ref`` rows are two multinomial
samples of the same bin shares ``p``; their Jensen–Shannon divergence and PSI are still positive,
and much larger for small batches. :func:`calibrate` simulates that null distribution for a grid of
batch sizes and stores, per metric and size, the value exceeded with probability ``alpha``. A run
then looks the threshold up with :func:`threshold_at` and does no resampling.

The tail quantile comes from a three-moment fit (a shifted, scaled chi-square, Pearson type III)
to the simulated values: both metrics are asymptotically scaled chi-square with ``bins - 1``
degrees of freedom, and the fit reaches the small per-feature ``alpha`` a family-wise target needs
(0.1 % and below) from a few thousand draws, where the empirical quantile would be noise.

Family-wise target: with ``m`` features and a target share ``a`` of runs with any false alarm,
each feature uses ``alpha = a / m`` (Bonferroni, :func:`per_feature_alpha`); the share of
unchanged runs with a false alarm is then at most about ``a``.

The vectorised divergences below follow ``driftgate.stats.divergence.js_divergence`` and ``psi``
exactly (a test checks them against those functions) but act on a batch of histograms at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from driftgate.errors import DataError
from driftgate.stats.divergence import PSI_FLOOR

CALIBRATED_METRICS = ("js", "psi")
DEFAULT_SIZES = (
    *(10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000),
    *(10_000, 20_000, 50_000, 100_000, 1_000_000),
)
DEFAULT_DRAWS = 2000
NORMAL_FROM = 1000.0


@dataclass(frozen=True)
class Calibration:
    """Per-metric thresholds of one feature at each batch size of ``sizes`` (ascending)."""

    sizes: tuple[int, ...]
    thresholds: dict[str, tuple[float, ...]] = field(default_factory=dict)
    alpha: float = 0.01
    n_ref: int = 0
    draws: int = DEFAULT_DRAWS
    seed: int = 0

    def to_dict(self) -> dict:
        """Plain JSON-ready form, stored with the reference statistics."""
        return {
            "sizes": list(self.sizes),
            "thresholds": {m: list(v) for m, v in self.thresholds.items()},
            "alpha": self.alpha,
            "n_ref": self.n_ref,
            "draws": self.draws,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        return cls(
            sizes=tuple(int(s) for s in data["sizes"]),
            thresholds={m: tuple(float(x) for x in v) for m, v in data["thresholds"].items()},
            alpha=float(data["alpha"]),
            n_ref=int(data["n_ref"]),
            draws=int(data["draws"]),
            seed=int(data["seed"]),
        )


def per_feature_alpha(target: float, features: int) -> float:
    """Bonferroni share per feature so that at most ``target`` of unchanged runs alarm at all."""
    if not 0.0 < target < 1.0:
        raise DataError(f"false-alarm target {target} is not in (0, 1)")
    return target / max(features, 1)


def _shares(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=-1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts, dtype=np.float64), where=totals > 0)


def _js_shares(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    m = (p + q) / 2.0
    nats = 0.5 * special.rel_entr(p, m).sum(axis=-1) + 0.5 * special.rel_entr(q, m).sum(axis=-1)
    return np.maximum(0.0, nats / math.log(2.0))


def _psi_shares(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    p, q = np.maximum(p, PSI_FLOOR), np.maximum(q, PSI_FLOOR)
    return np.sum((q - p) * np.log(q / p), axis=-1)


def js_rows(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """``js_divergence`` of each pair of rows (last axis: bins)."""
    return _js_shares(_shares(reference), _shares(current))


def psi_rows(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """``psi`` of each pair of rows (last axis: bins), empty bins floored at ``PSI_FLOOR``."""
    return _psi_shares(_shares(reference), _shares(current))


def _multinomial(rng: np.random.Generator, n: int, shares: np.ndarray, draws: int) -> np.ndarray:
    """``draws`` multinomial(n, shares) counts, one vectorised conditional binomial per bin.

    A binomial with variance of at least ``NORMAL_FROM`` is drawn from its rounded normal
    approximation (skewness under 0.03), which is several times faster for large batches.
    """
    tail = np.cumsum(shares[::-1])[::-1]
    counts = np.empty((draws, shares.size), dtype=np.int64)
    remaining = np.full(draws, n, dtype=np.int64)
    for j in range(shares.size - 1):
        share = min(1.0, shares[j] / tail[j]) if tail[j] > 0 else 0.0
        if n * tail[j] * share * (1.0 - share) >= NORMAL_FROM:
            mean = remaining * share
            normal = mean + np.sqrt(mean * (1.0 - share)) * rng.standard_normal(draws)
            counts[:, j] = np.clip(np.rint(normal), 0, remaining)
        else:
            counts[:, j] = rng.binomial(remaining, share)
        remaining -= counts[:, j]
    counts[:, -1] = remaining
    return counts


def _upper_quantile(values: np.ndarray, alpha: float) -> float:
    """The ``1 - alpha`` quantile of a shifted, scaled chi-square matched to three moments."""
    mean = float(values.mean())
    centred = values - mean
    sd = float(np.sqrt(np.mean(centred**2)))
    if sd <= 1e-12 * max(abs(mean), 1e-300):
        return mean
    skew = float(np.mean(centred**3)) / sd**3
    if skew <= 1e-3:
        return mean + sd * float(special.ndtri(1.0 - alpha))
    dof = 8.0 / skew**2
    scale = sd / math.sqrt(2.0 * dof)
    return mean - scale * dof + scale * float(special.chdtri(dof, alpha))


def calibrate(
    p: np.ndarray,
    n_ref: int,
    alpha_per_feature: float,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> Calibration:
    """Simulates no-drift JS and PSI at each batch size and keeps their upper quantiles.

    Args:
        p: Reference counts or shares per bin of one feature.
        n_ref: Rows in the reference.
        alpha_per_feature: Share of unchanged batches allowed to exceed the threshold.
        sizes: Batch sizes to calibrate for.
        draws: Simulated reference/batch pairs per size.
        seed: Seed of the simulation; the same inputs give the same thresholds.

    Returns:
        The calibration; thresholds never decrease as the batch shrinks.
    """
    shares = np.asarray(p, dtype=np.float64)
    if shares.ndim != 1 or shares.size == 0 or np.any(shares < 0) or not shares.sum() > 0:
        raise DataError("reference histogram is empty or negative", hint="recompute the reference")
    if n_ref < 1 or not 0.0 < alpha_per_feature < 1.0 or draws < 100:
        raise DataError(
            f"cannot calibrate with n_ref={n_ref}, alpha={alpha_per_feature}, draws={draws}",
            hint="need n_ref >= 1, 0 < alpha < 1 and draws >= 100",
        )
    grid = tuple(sorted({int(s) for s in sizes}))
    if not grid or grid[0] < 1:
        raise DataError(f"batch sizes {sizes} to calibrate for must be positive and non-empty")
    shares = shares / shares.sum()
    rng = np.random.default_rng(seed)
    reference = _shares(_multinomial(rng, n_ref, shares, draws))
    found: dict[str, list[float]] = {m: [] for m in CALIBRATED_METRICS}
    for size in grid:
        batch = _shares(_multinomial(rng, size, shares, draws))
        found["js"].append(_upper_quantile(_js_shares(reference, batch), alpha_per_feature))
        found["psi"].append(_upper_quantile(_psi_shares(reference, batch), alpha_per_feature))
    thresholds = {
        m: tuple(np.maximum.accumulate(np.asarray(v)[::-1])[::-1].tolist())
        for m, v in found.items()
    }
    return Calibration(grid, thresholds, alpha_per_feature, n_ref, draws, seed)


def threshold_at(calibration: Calibration, metric: str, n: int) -> float:
    """Threshold for a batch of ``n`` rows, interpolated in ``log(n)`` between grid sizes.

    Both metrics scale like ``1/n + 1/n_ref`` under no drift, so the interpolated quantity is the
    threshold divided by that scale; interpolating the threshold itself would overshoot between
    grid sizes (it is convex in ``log(n)``). Outside the grid the nearest size is used: below the
    smallest that is too lenient, so batches that small deserve the ``min_rows`` warning anyway.
    """
    if metric not in calibration.thresholds:
        raise DataError(f"no calibrated threshold for metric {metric!r}")
    sizes = np.asarray(calibration.sizes, dtype=np.float64)
    size = min(max(float(n), sizes[0]), sizes[-1])
    inverse_ref = 1.0 / max(calibration.n_ref, 1)
    ratios = np.asarray(calibration.thresholds[metric]) / (1.0 / sizes + inverse_ref)
    ratio = float(np.interp(math.log(size), np.log(sizes), ratios))
    return ratio * (1.0 / size + inverse_ref)
