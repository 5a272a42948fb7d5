"""The failure alert, from the final status KFP hands to the exit handler."""

from __future__ import annotations

from dataclasses import dataclass

from driftgate.errors import DriftgateError
from driftgate.observe.alerts import Alert, AlertSettings, send
from driftgate.registry.ledger import Ledger
from driftgate.registry.store import Registry


def close_claims(registry: Registry, run: str, status: dict) -> str:
    """Closes the run's ledger claim: done when it succeeded, failed (retryable) otherwise."""
    succeeded = status.get("state") in ("SUCCEEDED", "SKIPPED")
    if not registry.dir.is_dir():
        return "nothing claimed"
    try:
        closed = Ledger(registry).close_run(run, succeeded)
    except (OSError, DriftgateError) as exc:
        return f"could not close this run's claim: {exc}"
    return f"{closed} claim(s) marked {'done' if succeeded else 'failed (the batch can be rerun)'}"


def failure_alert(status: dict, model: str, run: str | None) -> Alert | None:
    """An alert when the run failed, None when it succeeded.

    Args:
        status: ``PipelineTaskFinalStatus`` as a dict (``state``, ``error_message``,
            ``pipeline_task_name``).
        model: The model's name.
        run: The run's name.

    Returns:
        The alert to send, if any.
    """
    if status.get("state") in ("SUCCEEDED", "SKIPPED"):
        return None
    error = status.get("error_message") or "no error message"
    return Alert(
        kind="failure",
        model=model,
        title=f"{model}: retraining run failed",
        text=f"The run ended in state {status.get('state')}: {error}",
        fields={"task": str(status.get("pipeline_task_name") or "unknown")},
        run=run,
    )


@dataclass
class NotifyStep:
    """The exit handler's outputs: the failure alert (if any) and the run's record."""

    alert: Alert | None
    closed: str
    markdown: str


def run_step(registry: Registry, status: dict, run: str, alerts: AlertSettings) -> NotifyStep:
    """Closes the run's ledger claims and alerts when the run failed.

    Args:
        registry: The model's registry (its batch ledger).
        status: ``PipelineTaskFinalStatus`` as a dict (see :func:`failure_alert`).
        run: The run's name.
        alerts: Where the failure alert goes.

    Returns:
        The alert, what closing the claims did, and the run's outcome as Markdown.
    """
    closed = close_claims(registry, run, status)
    alert = failure_alert(status, registry.model, run)
    outcomes = send(alert, alerts) if alert else []
    lines = [f"# Run {status['state']}", "", f"- error: {status['error_message'] or 'none'}"]
    lines += [f"- {line}" for line in outcomes]
    lines += [f"- batch ledger: {closed}"]
    return NotifyStep(alert, closed, "\n".join(lines) + "\n")
