"""The decision record (Markdown for the Kubeflow UI) and the decide step's gauges."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftgate.components.decide.core import Decision


def record_markdown(decision: Decision, details: dict) -> str:
    """The decision record: the verdict, its reason and every threshold against its value.

    Args:
        decision: The decision.
        details: The check's findings (``CheckResult.summary()``).

    Returns:
        Markdown for the Kubeflow UI.
    """
    version = details.get("deployed_version")
    lines = [
        f"# Decision: {'RETRAIN' if decision.retrain else 'skip retraining'}",
        "",
        f"**Why:** {decision.reason}.",
        "",
        f"- deployed version: {version if version is not None else 'none'}",
        f"- drifted features: {', '.join(details.get('drifted_features', [])) or 'none'}",
        *([f"- GPU budget: {decision.budget}"] if decision.budget else []),
        "",
    ]
    top = details.get("top_features", [])
    if top:
        lines += [
            "## Drift thresholds (most drifted first)",
            "",
            "| feature | JS | thresholds | crossed |",
            "|---|---|---|---|",
        ]
        for f in top:
            limits = ", ".join(f"{k} {v}" for k, v in f["thresholds"].items()) or "none"
            lines.append(
                f"| {f['name']} | {f['js']:.4f} | {limits} | {', '.join(f['exceeded']) or 'no'} |"
            )
        lines.append("")
    if decision.triggers:
        lines += ["## Triggers", "", "| trigger | retrains | fired | value | bound |"]
        lines.append("|---|---|---|---|---|")
        for t in decision.triggers:
            lines.append(
                f"| {t.name} | {'yes' if t.enabled else 'no'} | "
                f"{'**yes**' if t.fired else 'no'} | {t.value} | {t.bound} |"
            )
        lines.append("")
    lines += _curve_lines(details.get("learning_curve"))
    performance = details.get("performance")
    if performance:
        lines += [
            "## Deployed model on this batch",
            "",
            "| metric | value | minimum | verdict |",
            "|---|---|---|---|",
        ]
        bounds = details.get("performance_thresholds", {})
        for metric, value in performance.items():
            bound = bounds.get(metric)
            verdict = (
                "–"
                if bound is None
                else ("**under**" if metric in details.get("degraded", []) else "ok")
            )
            lines.append(
                f"| {metric} | {value:.4f} | {bound if bound is not None else '–'} | {verdict} |"
            )
        lines.append("")
    lines += [f"> ⚠ {w}" for w in details.get("warnings", [])]
    return "\n".join(lines) + "\n"


def gauges(decision: Decision, details: dict) -> dict[str, dict[tuple, float]]:
    """Prometheus gauges (``driftgate.observe.monitoring.METRICS``): drift, scores, the decision."""
    return {
        "feature_js_divergence": {(n,): js for n, js in details.get("feature_js", {}).items()},
        "deployed_model_score_ratio": {
            (m, "measured"): v for m, v in (details.get("performance") or {}).items() if v == v
        },
        "drift_detected": {(): float(bool(details.get("drift_detected")))},
        "performance_degraded": {(): float(bool(details.get("degraded")))},
        "retrain_decision": {(): float(decision.retrain)},
        "last_run_timestamp_seconds": {(): time.time()},
    }


def _curve_lines(curve: dict | None) -> list[str]:
    """The deployed version's learning-curve points and fit (``expected_gain`` reads them)."""
    if not curve:
        return []
    a, b, c = curve["params"]
    lines = [
        "## Learning curve of the deployed version",
        "",
        f"Fit: error = {a:.4f} + {b:.3f} · rows^−{c:.3f} ({len(curve.get('bootstrap', []))} "
        f"bootstrap fits over its held-out rows; {curve.get('seconds', 0):.1f} s of subset "
        "training).",
        "",
        f"| training rows | {curve['metric']} |",
        "|---|---|",
    ]
    lines += [f"| {n:,} | {s:.4f} |" for n, s in zip(curve["rows"], curve["scores"], strict=True)]
    return [*lines, ""]
