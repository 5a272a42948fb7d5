"""KFP wrapper of the retraining decision."""

from kfp.dsl import Artifact, Input, Markdown, Output, OutputPath


def decide(
    has_model: bool,
    drift_detected: bool,
    performance_degraded: bool,
    has_labels: bool,
    force: bool,
    check_details: Input[Artifact],
    model_name: str,
    alerts: str,
    run_id: str,
    record: Output[Markdown],
    reason: OutputPath(str),
) -> bool:
    """Decides whether to retrain, records why, and alerts on drift or a performance drop.

    The decision is the single return value (``Output``) because kfp's local runner resolves
    ``dsl.If`` conditions only on outputs of that name; the reason is a separate parameter.

    Args:
        has_model: A production version exists.
        drift_detected: The drift rule fired.
        performance_degraded: The deployed model fell under a bound on the batch.
        has_labels: The batch carries labels.
        force: Retrain regardless.
        check_details: The check's findings.
        model_name: The model's name.
        alerts: JSON of the alert settings.
        run_id: The run's name.
        record: The decision record (Markdown), alerts included.
        reason: Why, in one sentence.

    Returns:
        Whether to retrain.
    """
    from driftgate import logs
    from driftgate.alerts import AlertSettings, push_metrics, send
    from driftgate.components.decide import core
    from driftgate.kfp_io import read_json, write_text

    logs.setup()
    details = read_json(check_details)
    decision = core.decide(
        has_model=has_model,
        drift_detected=drift_detected,
        performance_degraded=performance_degraded,
        has_labels=has_labels,
        force=force,
        drifted_features=details["drifted_features"],
        degraded_metrics=details["degraded"],
    )
    settings = AlertSettings.model_validate_json(alerts)
    outcomes = [
        line
        for alert in core.alerts_for(decision, details, model_name, run_id)
        for line in send(alert, settings)
    ]
    pushed = push_metrics(settings, model_name, "decide", core.gauges(decision, details))
    notes = "".join(f"- {line}\n" for line in [*outcomes, *([pushed] if pushed else [])])
    write_text(
        record,
        core.record_markdown(decision, details) + (f"\n## Alerts\n\n{notes}" if notes else ""),
    )
    with open(reason, "w") as handle:
        handle.write(decision.reason)
    print(f"decision: {'retrain' if decision.retrain else 'skip'}: {decision.reason}")
    return decision.retrain
