"""Drift reports for people: a self-contained HTML page and a Markdown summary.

The HTML has no network assets (inline CSS and SVG), so it renders in the Kubeflow UI's HTML
viewer on clusters without internet access.
"""

from __future__ import annotations

import html
import math
import re

from driftgate.stats.drift import DriftResult, FeatureDrift

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430}
h1{font-size:20px}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #e3e6ea;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f5f7f9}.drift{color:#b3261e;font-weight:600}.ok{color:#1e7a34}
.warn{background:#fff4d6;padding:8px;border-radius:4px;margin:8px 0}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
.num{font-variant-numeric:tabular-nums}
"""
REF_COLOR, CUR_COLOR = "#7a8ca3", "#e07b39"
# Markdown's control characters; "_" only where it could open or close emphasis (body_mass_g
# stays readable).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*{}\[\]()#!|~>]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def markdown_escape(value: object) -> str:
    """A value from the data, made inert in Markdown: one line, no markup, no HTML, no link.

    Args:
        value: A feature name, a category or any other text that comes from a user's data.

    Returns:
        The text with every Markdown control character backslash-escaped and ``&``/``<`` as
        HTML entities, safe inside a table cell.
    """
    text = " ".join(str(value).split()).replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.4g}"


def histogram_svg(feature: FeatureDrift, width: int = 360, height: int = 120) -> str:
    """Reference and current bin shares as side-by-side bars."""
    bins = len(feature.bin_labels)
    top = max([*feature.reference_shares, *feature.current_shares, 1e-9])
    slot = width / bins
    bar = max(slot / 2 - 1, 1)
    parts = [
        f'<svg width="{width}" height="{height + 14}" role="img" '
        f'aria-label="histogram of {html.escape(feature.name)}">'
    ]
    for i, (ref, cur) in enumerate(
        zip(feature.reference_shares, feature.current_shares, strict=True)
    ):
        x = i * slot
        for offset, share, color in ((0, ref, REF_COLOR), (bar, cur, CUR_COLOR)):
            h = height * share / top
            which = "reference" if offset == 0 else "batch"
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{height - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{html.escape(feature.bin_labels[i])}: '
                f"{which} {share:.1%}</title></rect>"
            )
    parts.append(f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/>')
    first, last = html.escape(feature.bin_labels[0]), html.escape(feature.bin_labels[-1])
    parts.append(f'<text x="0" y="{height + 12}" font-size="10">{first}</text>')
    parts.append(
        f'<text x="{width}" y="{height + 12}" font-size="10" text-anchor="end">{last}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _metric_cell(feature: FeatureDrift, metric: str) -> str:
    value = feature.metrics.get(metric)
    limit = feature.thresholds.get(metric)
    text = _fmt(value)
    if metric == "ks_pvalue" and value is not None:
        text += " (exact)" if feature.metrics.get("ks_exact") else " (asymptotic)"
    if limit is not None:
        css = "drift" if metric in feature.exceeded else "ok"
        text = f'<span class="{css}">{text}</span> / {_fmt(limit)}'
    return f'<td class="num">{text}</td>'


def drift_html(result: DriftResult, title: str, context: dict[str, str]) -> str:
    """Renders the full drift report.

    Args:
        result: The comparison of the batch with the reference.
        title: Page heading.
        context: Extra facts shown under the heading (batch, model version, …).

    Returns:
        A standalone HTML document.
    """
    verdict = (
        "<span class='drift'>DRIFT DETECTED</span>"
        if result.drift_detected
        else "<span class='ok'>no drift</span>"
    )
    facts = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in context.items())
    warnings = "".join(f"<div class='warn'>{html.escape(w)}</div>" for w in result.warnings)
    rows = []
    for f in result.features:
        status = "<span class='drift'>drift</span>" if f.drifted else "<span class='ok'>ok</span>"
        rows.append(
            f"<tr><td><b>{html.escape(f.name)}</b><br>{f.kind}</td><td>{status}</td>"
            + "".join(_metric_cell(f, m) for m in ("js", "psi", "linf", "wasserstein", "ks_pvalue"))
            + f"<td class='num'>{f.reference_missing:.1%} → {f.current_missing:.1%}</td>"
            + f"<td>{histogram_svg(f)}</td></tr>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}: {verdict}</h1>
<ul>{facts}<li>rule: {html.escape(result.rule)}</li>
<li>rows: reference {result.reference_rows:,}, batch {result.current_rows:,}</li></ul>
{warnings}
<p class="legend">Bars: share of values per bin.
<span style="background:{REF_COLOR}"></span>reference
<span style="background:{CUR_COLOR}"></span>batch. Cells: value / threshold; red crossed it.</p>
<table><thead><tr><th>feature</th><th>verdict</th><th>Jensen–Shannon</th><th>PSI</th>
<th>L∞</th><th>Wasserstein (÷ std)</th><th>KS p-value</th><th>missing</th>
<th>histogram</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
</body></html>
"""


def drift_markdown(result: DriftResult, limit: int = 10) -> str:
    """A Markdown summary: verdict, warnings and the most drifted features."""
    lines = [
        f"## Drift: {'**detected**' if result.drift_detected else 'none'}",
        "",
        f"Rule: {result.rule}. "
        f"Rows: reference {result.reference_rows:,}, batch {result.current_rows:,}.",
        "",
    ]
    lines += [f"> ⚠ {markdown_escape(w)}" for w in result.warnings]
    lines += [
        "",
        "| feature | kind | verdict | JS | PSI | L∞ | Wasserstein |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in result.features[:limit]:
        verdict = f"drift ({', '.join(f.exceeded)})" if f.drifted else "ok"
        cells = " | ".join(_fmt(f.metrics.get(m)) for m in ("js", "psi", "linf", "wasserstein"))
        lines.append(f"| {markdown_escape(f.name)} | {f.kind} | {verdict} | {cells} |")
    return "\n".join(lines) + "\n"
