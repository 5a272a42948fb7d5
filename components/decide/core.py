"""The retraining decision, from the check's findings."""

from __future__ import annotations

import time
from dataclasses import dataclass

from driftgate.alerts import Alert


@dataclass(frozen=True)
class Decision:
    """Whether to retrain and the reason, in words."""

    retrain: bool
    reason: str


def decide(
    *,
    has_model: bool,
    drift_detected: bool,
    performance_degraded: bool,
    has_labels: bool,
    force: bool,
    drifted_features: list[str] | None = None,
    degraded_metrics: list[str] | None = None,
) -> Decision:
    """Retrains when there is no model yet, drift was detected, performance fell, or forced.

    Training needs labels: a batch without them can raise an alert but cannot be trained on.

    Args:
        has_model: A production version exists.
        drift_detected: The drift rule fired.
        performance_degraded: The deployed model scored under a bound on this batch.
        has_labels: The batch carries labels.
        force: The run was started with ``--force``.
        drifted_features: Names of the drifted features, for the reason.
        degraded_metrics: Names of the metrics under their bounds, for the reason.

    Returns:
        The decision.
    """
    causes = []
    if force:
        causes.append("forced by --force")
    if not has_model:
        causes.append("no model is deployed yet")
    if drift_detected:
        causes.append(f"drift in {', '.join(drifted_features or []) or 'the batch'}")
    if performance_degraded:
        causes.append(
            f"the deployed model fell under its bound on {', '.join(degraded_metrics or [])}"
        )
    if not causes:
        return Decision(False, "no drift and no performance drop: the deployed model stays")
    if not has_labels:
        return Decision(
            False, f"would retrain ({'; '.join(causes)}) but the batch has no labels to train on"
        )
    return Decision(True, "; ".join(causes))


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


def alerts_for(decision: Decision, details: dict, model: str, run: str | None) -> list[Alert]:
    """The drift and degradation alerts a check's findings call for.

    Args:
        decision: The decision taken.
        details: The check's findings (``CheckResult.summary()``).
        model: The model's name.
        run: The run's name.

    Returns:
        Zero, one or two alerts.
    """
    alerts = []
    version = details.get("deployed_version")
    outcome = "retraining" if decision.retrain else f"not retraining ({decision.reason})"
    if details.get("drift_detected"):
        drifted = [f for f in details.get("top_features", []) if f["drifted"]]
        fields = {
            f["name"]: f"JS {f['js']:.3f} (limit {f['thresholds'].get('js')})" for f in drifted
        }
        alerts.append(
            Alert(
                "drift",
                model,
                f"{model}: data drift in {', '.join(details['drifted_features'])}",
                f"The new batch drifted from version {version}'s training data; {outcome}.",
                fields,
                run,
            )
        )
    if details.get("degraded"):
        bounds = details.get("performance_thresholds", {})
        fields = {
            m: f"{details['performance'][m]:.3f} < {bounds.get(m)}" for m in details["degraded"]
        }
        alerts.append(
            Alert(
                "degradation",
                model,
                f"{model}: deployed version {version} fell under {', '.join(details['degraded'])}",
                "Scored on the new labelled batch, the deployed model is under its bounds; "
                f"{outcome}.",
                fields,
                run,
            )
        )
    return alerts


def gauges(decision: Decision, details: dict) -> dict[str, dict[tuple, float]]:
    """Prometheus gauges (``driftgate.monitoring.METRICS``): drift, scores, the decision."""
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
