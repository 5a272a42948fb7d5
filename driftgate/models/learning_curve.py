"""Learning curves: what more training rows are worth, with their uncertainty.

The model is the inverse power law with a floor, ``error(n) = a + b · n^(−c)`` with ``a, b ≥ 0``
and ``0.05 ≤ c ≤ 1``: the usual form for learning curves (Cortes et al. 1994; Hestness et al. 2017,
"Deep Learning Scaling is Predictable, Empirically"), where ``a`` is the error no amount of data
removes and ``c`` how fast the rest falls. It is monotone, flattens by itself, and extrapolates
more soberly than a pure power law. The exponent is capped at 1, the rate at which a
parametric model's excess error falls (``O(1/n)``): a faster fall on a few noisy points is noise,
and would call the curve flat too early. The error is one minus accuracy for classification and the
RMSE for regression.

The fit is weighted least squares (each point weighted by the inverse variance of its score) with
a log-normal prior on the exponent, centred on 0.5 (σ = 0.7 on the log scale): for each exponent
on a grid, ``a`` and ``b`` solve a non-negative linear problem, and the exponent with the least
residual plus prior penalty wins. Without the prior, a few noisy points often look as if they
had flattened already, and the fit runs to the fastest exponent allowed. The grid search never
fails to converge, which matters for a gate that runs unattended.

Its uncertainty comes from a bootstrap over the held-out rows: every model on the curve was
scored on the same rows, so resampling rows (the same resample for every point) refits the curve
as the held-out noise would have moved it. The predicted gain of a larger window is computed per
bootstrap fit, so its interval is paired.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EXPONENTS = np.geomspace(0.05, 1.0, 40)
PRIOR_CENTRE, PRIOR_SIGMA = 0.5, 0.7  # the exponent's log-normal prior
BOOTSTRAP = 200
MIN_POINTS = 3


@dataclass
class LearningCurve:
    """A fitted curve, its bootstrap fits and the points behind it.

    Attributes:
        metric: The primary metric (``accuracy`` or ``rmse``).
        rows: Training rows of each point, ascending (the candidate's own is the last).
        scores: The primary metric of each point on the held-out rows.
        params: ``(a, b, c)`` of the central fit, on the error scale.
        bootstrap: ``(a, b, c)`` of each bootstrap fit.
        train_share: Share of a batch's labelled rows that a retrain trains on (the rest is
            held out), so the gate can tell how many training rows the next window has.
        max_rows: Most training rows the window allows.
        seconds: Time the subset trainings took.
    """

    metric: str
    rows: list[int]
    scores: list[float]
    params: tuple[float, float, float]
    bootstrap: list[tuple[float, float, float]] = field(default_factory=list)
    train_share: float = 1.0
    max_rows: int = 0
    seconds: float = 0.0

    @property
    def lower_is_better(self) -> bool:
        """Whether the primary metric is an error (RMSE)."""
        return self.metric != "accuracy"

    def score_at(self, rows: float) -> float:
        """The central fit's primary metric at ``rows`` training rows."""
        return _to_score(_error(np.asarray([self.params]), rows)[0], self.lower_is_better)

    def gain(self, now: float, then: float, confidence: float) -> tuple[float, float, float]:
        """Predicted gain from ``now`` to ``then`` training rows: central, low and high.

        Accuracy gains are in accuracy points; RMSE gains are the share by which it falls.
        ``low`` and ``high`` are the one-sided bootstrap bounds at ``confidence``.
        """
        fits = np.asarray([self.params, *self.bootstrap])
        before, after = _error(fits, now), _error(fits, then)
        gains = (
            (before - after) / np.maximum(before, 1e-12)
            if self.lower_is_better
            else (before - after)
        )
        spread = gains[1:] if len(gains) > 1 else gains
        return (
            float(gains[0]),
            float(np.quantile(spread, 1 - confidence)),
            float(np.quantile(spread, confidence)),
        )

    def to_dict(self) -> dict:
        """JSON-friendly, for the version's metadata."""
        return {
            "model": "error = a + b * rows^-c (a, b >= 0; 0.05 <= c <= 1)",
            "metric": self.metric,
            "rows": self.rows,
            "scores": [round(s, 6) for s in self.scores],
            "params": [round(p, 8) for p in self.params],
            "bootstrap": [[round(p, 6) for p in fit] for fit in self.bootstrap],
            "train_share": round(self.train_share, 6),
            "max_rows": self.max_rows,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LearningCurve:
        """The inverse of :meth:`to_dict`."""
        return cls(
            data["metric"],
            list(data["rows"]),
            list(data["scores"]),
            tuple(data["params"]),  # type: ignore[arg-type]
            [tuple(p) for p in data.get("bootstrap", [])],  # type: ignore[misc]
            float(data.get("train_share", 1.0)),
            int(data.get("max_rows", 0)),
            float(data.get("seconds", 0.0)),
        )


def _error(fits: np.ndarray, rows: float) -> np.ndarray:
    return fits[:, 0] + fits[:, 1] * float(rows) ** (-fits[:, 2])


def _to_score(error: float, lower_is_better: bool) -> float:
    return float(error if lower_is_better else 1 - error)


def fit_power_law(rows: np.ndarray, errors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The least-squares ``(a, b, c)`` of ``a + b · rows^(−c)`` for each row of ``errors``.

    Args:
        rows: Training rows of each point, shape ``(p,)``.
        errors: One curve per row, shape ``(k, p)``.
        weights: Weight of each point, shape ``(p,)`` (inverse variances).

    Returns:
        Shape ``(k, 3)``.
    """
    errors = np.atleast_2d(errors)
    w = np.sqrt(weights)
    best = np.full((errors.shape[0], 4), np.inf)  # residual, a, b, c
    for c in EXPONENTS:
        x = rows ** (-c)
        a, b = _nonnegative_line(x, errors, w)
        residual = (((a[:, None] + b[:, None] * x - errors) * w) ** 2).sum(axis=1)
        residual += (np.log(c / PRIOR_CENTRE) / PRIOR_SIGMA) ** 2
        better = residual < best[:, 0]
        best[better] = np.column_stack([residual, a, b, np.full(len(a), c)])[better]
    return best[:, 1:]


def _nonnegative_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of ``y ≈ a + b·x`` per row, with ``a, b ≥ 0`` (closed form)."""
    sw = (w**2).sum()
    mx, my = (w**2 * x).sum() / sw, (w**2 * y).sum(axis=1) / sw
    sxx = (w**2 * (x - mx) ** 2).sum()
    sxy = (w**2 * (x - mx) * (y - my[:, None])).sum(axis=1)
    b = np.maximum(sxy / max(sxx, 1e-300), 0.0)
    a = my - b * mx
    # Where the floor would be negative, the best line through the origin (a = 0) instead.
    through_origin = np.maximum((w**2 * x * y).sum(axis=1) / max((w**2 * x * x).sum(), 1e-300), 0)
    negative = a < 0
    return np.where(negative, 0.0, a), np.where(negative, through_origin, b)


def fit_curve(
    rows: list[int],
    outcomes: list[np.ndarray],
    metric: str,
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
) -> LearningCurve:
    """Fits the curve to models scored on the same held-out rows.

    Args:
        rows: Training rows of each model, ascending.
        outcomes: Per held-out row, for each model: 1/0 correctness (``accuracy``) or the
            squared error (``rmse``). Every array has the same rows in the same order.
        metric: ``accuracy`` or ``rmse``.
        seed: Seed of the bootstrap.
        bootstrap: How many bootstrap fits.

    Returns:
        The curve, with ``bootstrap`` refits over resampled held-out rows.

    Raises:
        ValueError: Fewer than three points, or outcomes of different lengths.
    """
    if len(rows) < MIN_POINTS:
        raise ValueError(f"a learning curve needs {MIN_POINTS} points, got {len(rows)}")
    matrix = np.asarray(outcomes, dtype=np.float64)  # (points, held-out rows)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError("every point needs outcomes on the same, non-empty held-out rows")
    n = np.asarray(rows, dtype=np.float64)
    lower = metric != "accuracy"

    def errors(sample: np.ndarray) -> np.ndarray:  # (k, held-out rows) -> (k, points)
        means = matrix[:, sample].mean(axis=2).T if sample.ndim == 2 else matrix.mean(axis=1)
        return np.sqrt(means) if lower else 1 - means

    central = errors(np.arange(matrix.shape[1]))
    spread = matrix.var(axis=1) / matrix.shape[1]
    if lower:  # the delta method: Var(sqrt(m)) ≈ Var(m) / (4 m)
        spread = spread / np.maximum(4 * matrix.mean(axis=1), 1e-12)
    weights = 1 / np.maximum(spread, np.median(spread) * 0.1 + 1e-9)
    params = fit_power_law(n, central[None, :], weights)[0]
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, matrix.shape[1], size=(bootstrap, matrix.shape[1]))
    fits = fit_power_law(n, errors(samples), weights) if bootstrap else np.empty((0, 3))
    return LearningCurve(
        metric,
        [int(r) for r in rows],
        [_to_score(e, lower) for e in central],
        (float(params[0]), float(params[1]), float(params[2])),
        [(float(a), float(b), float(c)) for a, b, c in fits],
    )
