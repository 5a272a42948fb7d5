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
    from driftgate.components.notify import core
    from driftgate.observe import logs
    from driftgate.observe.alerts import AlertSettings
    from driftgate.observe.kfp_io import write_text
    from driftgate.registry.store import Registry

    logs.setup()
    final = {
        "state": status.state,
        "error_message": status.error_message,
        "pipeline_task_name": status.pipeline_task_name,
    }
    step = core.run_step(
        Registry(registry_uri, model_name), final, run_id, AlertSettings.model_validate_json(alerts)
    )
    write_text(record, step.markdown)
