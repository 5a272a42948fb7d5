"""The failure alert, from the final status KFP hands to the exit handler."""

from __future__ import annotations

from driftgate.alerts import Alert
from driftgate.errors import DriftgateError
from driftgate.ledger import Ledger
from driftgate.registry import Registry


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
