"""KFP wrapper of the retraining decision."""

from kfp.dsl import Artifact, Dataset, Input, Markdown, Output, OutputPath


def decide(
    has_labels: bool,
    rows: int,
    new_classes: list,
    force: bool,
    validated: Input[Dataset],
    check_details: Input[Artifact],
    registry_uri: str,
    model_name: str,
    batch_sha256: str,
    batch_source: str,
    gate: str,
    min_rows: int,
    alerts: str,
    run_id: str,
    record: Output[Markdown],
    reason: OutputPath(str),
    opened_by: OutputPath(str),
) -> bool:
    """Decides once per batch whether to retrain, records why, and alerts on state changes.

    The decision is the single return value (``Output``) because kfp's local runner resolves
    ``dsl.If`` conditions only on outputs of that name; the reason is a separate parameter.

    Args:
        has_labels: The batch carries labels.
        rows: The batch's rows.
        new_classes: Label classes the deployed model has not seen.
        force: Retrain regardless, even a batch that was processed before.
        validated: The validated batch (its labelled rows are kept for the next training).
        check_details: The check's findings.
        registry_uri: The model registry directory (its batch ledger is claimed).
        model_name: The model's name.
        batch_sha256: The batch's content hash (the ledger key).
        batch_source: Where the batch was read from.
        gate: JSON of the gate settings (which triggers retrain).
        min_rows: Fewest rows a batch needs to be trained on.
        alerts: JSON of the alert settings.
        run_id: The run's name.
        record: The decision record (Markdown): every trigger, alerts included.
        reason: Why, in one sentence.
        opened_by: The change that opened the gate (``degraded``, ``drifted`` or empty).

    Returns:
        Whether to retrain.
    """
    from driftgate.components.decide import core
    from driftgate.observe import logs
    from driftgate.observe.alerts import AlertSettings
    from driftgate.observe.kfp_io import read_json, write_text
    from driftgate.registry.store import Registry
    from driftgate.settings.gate import GateSettings

    logs.setup()
    settings = GateSettings.model_validate_json(gate)
    step = core.run_step(
        Registry(registry_uri, model_name),
        read_json(check_details),
        core.BatchFacts(
            batch_sha256, batch_source, run_id, rows, has_labels, new_classes, validated.path
        ),
        lambda found: core.decide(found, settings, force=force, min_rows=min_rows),
        settings.remind_every,
        AlertSettings.model_validate_json(alerts),
        force,
    )
    decision = step.decision
    write_text(record, step.markdown)
    for path, text in ((reason, decision.reason), (opened_by, step.opened_by)):
        with open(path, "w") as handle:
            handle.write(text)
    print(f"decision: {'retrain' if decision.retrain else 'skip'}: {decision.reason}")
    return decision.retrain
