"""The failure alert, from the final status KFP hands to the exit handler."""

from __future__ import annotations

from driftgate.alerts import Alert


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
