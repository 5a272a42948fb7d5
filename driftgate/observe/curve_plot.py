"""The learning curve as an inline SVG (no network assets), for the check's HTML report."""

from __future__ import annotations

import html

import numpy as np

from driftgate.models.learning_curve import LearningCurve

WIDTH, HEIGHT, PAD = 520, 240, 44


def learning_curve_html(data: dict | None, note: str = "") -> str:
    """A section with the deployed version's learning curve: points, fit and 80 % band.

    Args:
        data: The curve as stored in the version's metadata (None: it has none).
        note: Why it has none.
    """
    if not data:
        return f"<h2>Learning curve</h2><p>{html.escape(note or 'none stored')}</p>"
    curve = LearningCurve.from_dict(data)
    last = curve.rows[-1]
    upper = max(curve.max_rows or 0, 4 * last) if curve.max_rows else 4 * last
    upper = min(upper, 8 * last)
    grid = np.geomspace(curve.rows[0], upper, 60)
    fits = np.asarray(curve.bootstrap or [curve.params])
    errors = fits[:, :1] + fits[:, 1:2] * grid[None, :] ** (-fits[:, 2:3])
    scores = errors if curve.lower_is_better else 1 - errors
    low, high = np.quantile(scores, 0.1, axis=0), np.quantile(scores, 0.9, axis=0)
    centre = np.asarray([curve.score_at(n) for n in grid])
    values = np.concatenate([low, high, curve.scores])
    bottom, top = float(values.min()), float(values.max())
    span = max(top - bottom, 1e-6)

    def x(n: float) -> float:
        return PAD + (np.log(n) - np.log(grid[0])) / (np.log(upper) - np.log(grid[0])) * (
            WIDTH - 2 * PAD
        )

    def y(v: float) -> float:
        return HEIGHT - PAD - (v - bottom) / span * (HEIGHT - 2 * PAD)

    band = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in zip(grid, high, strict=True))
    band += " " + " ".join(
        f"{x(n):.1f},{y(v):.1f}" for n, v in zip(grid[::-1], low[::-1], strict=True)
    )
    line = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in zip(grid, centre, strict=True))
    dots = "".join(
        f"<circle cx='{x(n):.1f}' cy='{y(s):.1f}' r='3.5' fill='#1f6fb2'>"
        f"<title>{n:,} rows: {s:.4f}</title></circle>"
        for n, s in zip(curve.rows, curve.scores, strict=True)
    )
    labels = (
        f"<text x='{PAD}' y='{HEIGHT - 12}'>{curve.rows[0]:,} rows</text>"
        f"<text x='{WIDTH - PAD}' y='{HEIGHT - 12}' text-anchor='end'>{int(upper):,} rows "
        "(log scale)</text>"
        f"<text x='4' y='{y(top) + 4:.1f}'>{top:.3f}</text>"
        f"<text x='4' y='{y(bottom) + 4:.1f}'>{bottom:.3f}</text>"
        f"<line x1='{x(last):.1f}' x2='{x(last):.1f}' y1='{PAD / 2}' y2='{HEIGHT - PAD}' "
        "stroke='#aaa' stroke-dasharray='3,3'/>"
    )
    a, b, c = curve.params
    return (
        "<h2>Learning curve of the deployed version</h2>"
        f"<p>{html.escape(curve.metric)} on its held-out rows against training rows; the line is "
        f"error = {a:.4f} + {b:.3f}·rows<sup>−{c:.3f}</sup>, the band the bootstrap's 10–90 %; "
        "the dashed line is the rows it trained on.</p>"
        f"<svg width='{WIDTH}' height='{HEIGHT}' role='img' style='font:10px sans-serif'>"
        f"<polygon points='{band}' fill='#1f6fb2' opacity='0.15'/>"
        f"<polyline points='{line}' fill='none' stroke='#1f6fb2' stroke-width='2'/>"
        f"{dots}{labels}</svg>"
    )
