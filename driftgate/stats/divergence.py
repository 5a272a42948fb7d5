"""Distances between a reference and a current distribution over the same bins.

Conventions (TFDV's and Vertex AI's):
- Jensen–Shannon *divergence* with base-2 logarithms, in [0, 1]; scipy's ``jensenshannon``
  returns its square root (the distance).
- PSI with empty bins floored at ``PSI_FLOOR`` so that it stays finite.
- L-infinity: the largest absolute difference of bin shares (categorical features).
- Wasserstein-1 from the binned CDFs, assuming values spread uniformly inside each bin, divided by
  the reference standard deviation so that one threshold fits every feature.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as scipy_stats

PSI_FLOOR = 1e-4
KS_EXACT_MAX = 10_000  # larger samples get the asymptotic KS p-value


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros_like(counts, dtype=np.float64)


def js_divergence(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen–Shannon divergence (base 2) between two count or share vectors."""
    p, q = _shares(np.asarray(reference, float)), _shares(np.asarray(current, float))
    m = (p + q) / 2.0

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index, empty bins floored at ``PSI_FLOOR``."""
    p = np.maximum(_shares(np.asarray(reference, float)), PSI_FLOOR)
    q = np.maximum(_shares(np.asarray(current, float)), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def l_infinity(reference: np.ndarray, current: np.ndarray) -> float:
    """Largest absolute difference between the bin shares."""
    p, q = _shares(np.asarray(reference, float)), _shares(np.asarray(current, float))
    return float(np.max(np.abs(p - q))) if p.size else 0.0


def wasserstein_normalized(
    reference: np.ndarray,
    current: np.ndarray,
    edges: tuple[float, ...],
    low: float,
    high: float,
    scale: float,
) -> float:
    """Approximate Wasserstein-1 distance from binned counts, divided by ``scale``.

    Args:
        reference: Reference counts per bin.
        current: Current counts per bin.
        edges: Interior bin edges.
        low: Smallest value seen in either dataset (outer edge of the first bin).
        high: Largest value seen in either dataset (outer edge of the last bin).
        scale: Normalizer, usually the reference standard deviation.

    Returns:
        The normalized distance; 0 when either side is empty or ``scale`` is 0.
    """
    p, q = _shares(np.asarray(reference, float)), _shares(np.asarray(current, float))
    if not p.any() or not q.any() or scale <= 0 or not math.isfinite(low + high):
        return 0.0
    bounds = np.asarray([low, *edges, high], dtype=np.float64)
    widths = np.maximum(np.diff(bounds), 0.0)
    gap_right = np.cumsum(p) - np.cumsum(q)
    gap_left = np.concatenate([[0.0], gap_right[:-1]])
    same_sign = gap_left * gap_right >= 0
    magnitude = np.abs(gap_left) + np.abs(gap_right)
    area = np.where(
        same_sign,
        widths * magnitude / 2.0,
        widths * (gap_left**2 + gap_right**2) / (2.0 * np.where(magnitude > 0, magnitude, 1.0)),
    )
    return float(area.sum() / scale)


def ks_pvalue(reference: np.ndarray, current: np.ndarray) -> tuple[float, float, bool]:
    """Two-sample Kolmogorov–Smirnov test on row samples.

    The p-value is exact when both samples hold at most :data:`KS_EXACT_MAX` values and
    asymptotic (Kolmogorov's limiting distribution) above that, where the exact computation
    costs too much; ties make even the exact one conservative.

    Returns:
        The KS statistic, its p-value, and whether the p-value is exact.
    """
    exact = max(len(reference), len(current)) <= KS_EXACT_MAX
    result = scipy_stats.ks_2samp(reference, current, method="exact" if exact else "asymp")
    return float(result.statistic), float(result.pvalue), exact


def js_noise_floor(bins: int, n_reference: int, n_current: int) -> float:
    """Expected JS divergence between two samples of one distribution (no drift at all).

    For ``k`` bins and sample sizes ``n`` and ``m`` the plug-in estimate is biased upwards by
    about ``(k - 1) / (8 ln 2) * (1/n + 1/m)``; a threshold near this value flags noise as drift.
    """
    if n_reference <= 0 or n_current <= 0:
        return math.inf
    return (bins - 1) / (8.0 * math.log(2.0)) * (1.0 / n_reference + 1.0 / n_current)
