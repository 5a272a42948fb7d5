"""Turns a local run's outcome into the lines a person reads after ``driftgate run``."""

from __future__ import annotations

import math

from driftgate.pipelines.local_run import RunSummary

SHOWN_FEATURES = 3
SHOWN_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "rmse", "mae", "r2")


def _scores(metrics: dict[str, float]) -> str:
    shown = [
        f"{m} {metrics[m]:.3f}"
        for m in SHOWN_METRICS
        if m in metrics and not math.isnan(metrics[m])
    ]
    return ", ".join(shown) or "–"


def decision_line(summary: RunSummary) -> str:
    """``RETRAIN: reason`` or ``skip: reason``."""
    retrain = summary.output("decide", "Output")
    if retrain is None:
        return "no decision (the run stopped before the gate)"
    return f"{'RETRAIN' if retrain else 'skip retraining'}: {summary.output('decide', 'reason')}"


def task_line(summary: RunSummary) -> str | None:
    """The learning task the schema fixes, or None when validation did not get that far."""
    from driftgate.data.schema import feature_kinds, load_schema
    from driftgate.models.tasks import REGRESSION, reason_of, task_of

    record = summary.tasks.get("validate")
    if record is None or record.status != "succeeded" or not record.artifact("schema").is_file():
        return None
    schema = load_schema(record.artifact("schema"))
    task, label = task_of(schema), feature_kinds(schema).label
    kind = "numbers" if task == REGRESSION else "class names"
    why = reason_of(schema) or f"the schema's label {label!r} holds {kind}"
    return f"task: {task} ({why})"


def drift_lines(details: dict | None) -> list[str]:
    """The most drifted features with their JS divergence against its threshold."""
    if not details or details.get("deployed_version") is None:
        return ["drift: no deployed model to compare with"]
    parts = []
    for f in details["top_features"][:SHOWN_FEATURES]:
        limit = f["thresholds"].get("js")
        mark = " DRIFT" if f["drifted"] else ""
        parts.append(
            f"{f['name']} JS {f['js']:.3f}{f' (limit {limit})' if limit is not None else ''}{mark}"
        )
    lines = [f"most drifted: {'; '.join(parts)}"]
    lines += [f"warning: {w}" for w in details.get("warnings", [])]
    return lines


def format_summary(summary: RunSummary) -> list[str]:
    """Every line of the post-run summary.

    Args:
        summary: The outcome of :func:`run_local`.

    Returns:
        Lines: decision, drift, metrics, tasks, pushed version, wall time.
    """
    lines = []
    if summary.failed_task:
        lines.append(f"FAILED in task {summary.failed_task} (the error is printed last)")
    lines.append(f"decision: {decision_line(summary)}")
    task = task_line(summary)
    if task:
        lines.append(task)
    details = summary.json_artifact("check", "details")
    if details is not None:
        lines += drift_lines(details)
        if details.get("performance"):
            degraded = details.get("degraded") or []
            note = f" (under bound: {', '.join(degraded)})" if degraded else ""
            scores = _scores(details["performance"])
            lines.append(f"deployed v{details['deployed_version']} on this batch: {scores}{note}")
    evaluation = summary.json_artifact("evaluate", "results")
    if evaluation is not None:
        overall = evaluation["metrics"].get("overall", {})
        lines.append(f"candidate on held-out rows: {_scores(overall.get('candidate', {}))}")
        if overall.get("baseline"):
            scores = _scores(overall["baseline"])
            lines.append(f"baseline v{evaluation['baseline_version']} on the same rows: {scores}")
        lines.append(f"evaluation: {summary.output('evaluate', 'reason')}")
    if summary.alerts:
        kinds = ", ".join(a["kind"] for a in summary.alerts)
        lines.append(f"alerts: {len(summary.alerts)} ({kinds}) written to {summary.alert_file}")
    ran, skipped = summary.ran(), summary.skipped()
    lines.append(f"tasks ran: {', '.join(ran) or 'none'}; skipped: {', '.join(skipped) or 'none'}")
    version = summary.output("push", "version")
    if version is None:
        lines.append("pushed: nothing")
    else:
        promoted = summary.output("push", "promoted")
        state = "now production" if promoted else "stored, not promoted"
        lines.append(f"pushed: version {version} ({state})")
    lines.append(f"wall time: {summary.wall_seconds:.1f} s (outputs and log: {summary.run_dir})")
    return lines
