"""KFP wrapper of the exit handler."""

from kfp.dsl import Markdown, Output, PipelineTaskFinalStatus


def notify(
    status: PipelineTaskFinalStatus,
    model_name: str,
    registry_uri: str,
    alerts: str,
    run_id: str,
    record: Output[Markdown],
):
    """Runs after every other task, whatever happened, and alerts when the run failed.

    Args:
        status: The run's final status (filled in by KFP).
        model_name: The model's name.
        registry_uri: The model registry directory (the run's ledger claims are closed).
        alerts: JSON of the alert settings.
        run_id: The run's name.
        record: The run's outcome and the alert sent, as Markdown.
    """
    from driftgate import logs
    from driftgate.alerts import AlertSettings, send
    from driftgate.components.notify import core
    from driftgate.kfp_io import write_text
    from driftgate.registry import Registry

    logs.setup()
    final = {
        "state": status.state,
        "error_message": status.error_message,
        "pipeline_task_name": status.pipeline_task_name,
    }
    closed = core.close_claims(Registry(registry_uri, model_name), run_id, final)
    alert = core.failure_alert(final, model_name, run_id)
    outcomes = send(alert, AlertSettings.model_validate_json(alerts)) if alert else []
    lines = [f"# Run {final['state']}", "", f"- error: {final['error_message'] or 'none'}"]
    lines += [f"- {line}" for line in outcomes]
    lines += [f"- batch ledger: {closed}"]
    write_text(record, "\n".join(lines) + "\n")
