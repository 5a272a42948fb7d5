"""KFP wrapper of the validate step."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Markdown, Output


def validate(
    batch: Input[Dataset],
    source_uri: str,
    registry_uri: str,
    model_name: str,
    data: str,
    validation: str,
    alerts: str,
    run_id: str,
    validated: Output[Dataset],
    schema: Output[Artifact],
    anomalies: Output[Artifact],
    report: Output[Markdown],
) -> NamedTuple(
    "ValidateOutputs",
    [("has_labels", bool), ("rows", int), ("schema_inferred", bool), ("new_classes", list)],
):
    """Validates the batch against the deployed model's schema; blocking anomalies fail the run.

    Args:
        batch: The ingested batch.
        source_uri: The batch's original location, named in error messages.
        registry_uri: The model registry directory.
        model_name: The model's name in the registry.
        data: JSON of the data settings.
        validation: JSON of the validation settings.
        alerts: JSON of the alert settings (blocking anomalies alert).
        run_id: The run's name.
        validated: The batch with schema columns cast to schema types.
        schema: The schema used (tensorflow-metadata Schema, text proto).
        anomalies: The anomalies found (tensorflow-metadata Anomalies, text proto).
        report: The anomalies as Markdown.
    """
    from google.protobuf import text_format

    from driftgate import logs
    from driftgate.alerts import AlertSettings, send
    from driftgate.components.validate import core
    from driftgate.dataspec import DataSettings
    from driftgate.kfp_io import write_text
    from driftgate.registry import SCHEMA_FILE, Registry
    from driftgate.schema import load_schema, save_schema

    logs.setup()
    registry = Registry(registry_uri, model_name)
    version = registry.production()
    deployed = load_schema(registry.verified(version).path / SCHEMA_FILE) if version else None
    result = core.validate(
        batch.path,
        validated.path,
        DataSettings.model_validate_json(data),
        core.ValidationSettings.model_validate_json(validation),
        deployed,
        source_uri,
    )
    save_schema(result.schema, schema.path)
    write_text(anomalies, text_format.MessageToString(result.to_proto()))
    text = result.markdown(source_uri)
    alert = core.anomalies_alert(result, source_uri, model_name, run_id)
    if alert is not None:
        outcomes = send(alert, AlertSettings.model_validate_json(alerts))
        text += "\n## Alerts\n\n" + "".join(f"- {line}\n" for line in outcomes)
    write_text(report, text)
    core.raise_if_blocked(result, source_uri)
    return (result.has_labels, result.rows, result.schema_inferred, result.new_classes)
