"""What a replay writes: ``replay.json`` (read by other tools), ``replay.md`` and ``replay.html``.

Totals per policy: trainings (``retrains``, the bootstrap included, since it costs the same),
pushes, the mean, least and (for an error such as RMSE) largest prequential primary metric over
the batches that have one, training seconds and GPU-hours (training seconds × the configured
accelerator count / 3600), and the retrains the GPU budget (``gate.budget``) deferred.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict
from pathlib import Path

from driftgate.models import tasks
from driftgate.pipelines.replay_record import BatchRecord

LOWER = tasks.LOWER_IS_BETTER
COLORS = ("#1f6fb2", "#e07b39", "#2f9e44", "#9c36b5", "#c92a2a", "#5c7cfa", "#868e96")
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}
th,td{border-bottom:1px solid #e3e6ea;padding:5px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f7f9}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:middle}
svg text{font-size:10px;fill:#555}
"""


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def totals(records: list[BatchRecord], metric: str, accelerators: int) -> dict:
    """The totals of one policy's replay (the keys of ``replay.json``)."""
    scores = [s for r in records if r.metrics and (s := _finite(r.metrics.get(metric))) is not None]
    seconds = sum(r.train_seconds for r in records)
    return {
        "retrains": sum(r.decision in ("bootstrap", "retrain") for r in records),
        "pushes": sum(r.pushed for r in records),
        f"mean_{metric}": round(sum(scores) / len(scores), 6) if scores else None,
        f"min_{metric}": min(scores) if scores else None,
        **({f"max_{metric}": max(scores) if scores else None} if metric in LOWER else {}),
        "train_seconds": round(seconds, 3),
        "gpu_hours": round(seconds * accelerators / 3600, 6),
        "deferred": sum(r.deferred for r in records),  # retrains the GPU budget put off
    }


def _entry(record: BatchRecord) -> dict:
    entry = asdict(record)
    if record.metrics is not None:
        entry["metrics"] = {k: _finite(v) for k, v in record.metrics.items()}
    return entry


def to_json(runs: dict[str, list[BatchRecord]], metric: str, accelerators: int) -> dict:
    """The ``replay.json`` document."""
    return {
        "primary_metric": metric,
        "policies": {
            name: {
                "batches": [_entry(r) for r in records],
                "totals": totals(records, metric, accelerators),
            }
            for name, records in runs.items()
        },
    }


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def totals_rows(document: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the totals table, with savings and losses against ``always``."""
    metric = document["primary_metric"]
    policies = document["policies"]
    always = policies.get("always", {}).get("totals")
    header = ["policy", "retrains", "pushes", f"mean {metric}", f"worst {metric}"]
    header += ["train s", "GPU-hours"]
    if always:
        header += ["GPU-hours saved vs always", f"{metric} lost vs always"]
    rows = []
    for name, body in policies.items():
        t = body["totals"]
        mean = t[f"mean_{metric}"]
        worst = t.get(f"max_{metric}", t[f"min_{metric}"])  # an error metric is worst at its max
        row = [name, str(t["retrains"]), str(t["pushes"]), _fmt(mean), _fmt(worst)]
        row += [f"{t['train_seconds']:.1f}", _fmt(t["gpu_hours"], 4)]
        if always:
            lost = None
            if mean is not None and always[f"mean_{metric}"] is not None:
                lost = always[f"mean_{metric}"] - mean  # an error metric is lost when it rises
                lost = -lost if metric in LOWER else lost
            row += [_fmt(always["gpu_hours"] - t["gpu_hours"], 4), _fmt(lost)]
        rows.append(row)
    return header, rows


def markdown(document: dict, title: str) -> str:
    """The totals as a Markdown table."""
    header, rows = totals_rows(document)
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _timeline(name: str, batches: list[dict], metric: str, color: str) -> str:
    """A policy's prequential metric per batch, its retrains, pushes and largest drift."""
    width, height, left, top, plot = 900, 230, 44, 14, 150
    step = (width - left - 10) / max(1, len(batches) - 1)
    values = [b["metrics"].get(metric) if b["metrics"] else None for b in batches]
    known = [v for v in values if v is not None]
    low = min([*known, 1.0]) if metric == "accuracy" else 0.0
    high = 1.0 if metric == "accuracy" else max([*known, 1e-9]) * 1.1
    low = math.floor(low * 10) / 10 if metric == "accuracy" else low

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + plot * (1 - (v - low) / ((high - low) or 1))

    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(name)}">']
    for tick in (low, (low + high) / 2, high):
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y(tick) + 3:.1f}" text-anchor="end">{tick:.2f}</text>'
        )
    base = top + plot + 50
    for i, b in enumerate(batches):
        drift = b["drift"]["value"] if b["drift"] else 0.0
        bar = min(1.0, drift / 0.5) * 40
        tip = html.escape(f"{b['batch']}: largest drift {drift:.3f}")
        fill = "#f08c8c" if b["drift"] and b["drift"]["drifted"] else "#ced4da"
        parts.append(
            f'<rect x="{x(i) - 3:.1f}" y="{base - bar:.1f}" width="6" height="{bar:.1f}" '
            f'fill="{fill}"><title>{tip}</title></rect>'
        )
        if i % max(1, len(batches) // 20) == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{base + 11}" text-anchor="middle">{i}</text>')
    segment: list[str] = []
    for i, v in enumerate([*values, None]):
        if v is not None:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
        elif segment:
            parts.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="{color}" '
                'stroke-width="2"/>'
            )
            segment = []
    for i, (b, v) in enumerate(zip(batches, values, strict=True)):
        at = y(v) if v is not None else top + plot
        tip = html.escape(f"{b['batch']}: {b['decision']}, v{b['deployed_version']}: {b['reason']}")
        if b["decision"] in ("retrain", "bootstrap"):
            parts.append(
                f'<path d="M{x(i) - 5:.1f},{top + plot + 12} l5,-9 l5,9 z" '
                f'fill="#e07b39"><title>{tip}</title></path>'
            )
        if b["pushed"]:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{at:.1f}" r="5" fill="#2f9e44">'
                f"<title>{tip}</title></circle>"
            )
        elif b["decision"] == "blocked":
            parts.append(
                f'<text x="{x(i):.1f}" y="{at:.1f}" fill="#c92a2a" text-anchor="middle" '
                f'font-size="14">×<title>{tip}</title></text>'
            )
        elif v is not None:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{at:.1f}" r="2.5" fill="{color}">'
                f"<title>{tip}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def html_page(document: dict, title: str) -> str:
    """A self-contained page: totals, then one timeline per policy (no network assets)."""
    metric = document["primary_metric"]
    header, rows = totals_rows(document)
    table = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
    table += "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    table += "</table>"
    sections = []
    for i, (name, body) in enumerate(document["policies"].items()):
        color = COLORS[i % len(COLORS)]
        sections.append(
            f"<h2>{html.escape(name)}</h2>" + _timeline(name, body["batches"], metric, color)
        )
    legend = (
        '<p class="legend">line: the deployed model\'s prequential '
        f"{html.escape(metric)} per batch"
        '<span style="background:#e07b39"></span>training ran'
        '<span style="background:#2f9e44;border-radius:6px"></span>pushed'
        '<span style="background:#f08c8c"></span>largest drift (JS), drift detected'
        '<span style="background:#ced4da"></span>largest drift, under thresholds'
        " · × blocked · hover for the decision and its reason</p>"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{table}{legend}"
        + "".join(sections)
        + "</body></html>"
    )


def write_outputs(document: dict, output: Path, title: str) -> list[Path]:
    """Writes ``replay.json``, ``replay.md`` and ``replay.html`` into ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    files = {
        "replay.json": json.dumps(document, indent=2, allow_nan=False),
        "replay.md": markdown(document, title),
        "replay.html": html_page(document, title),
    }
    for name, text in files.items():
        (output / name).write_text(text)
    return [output / name for name in files]
