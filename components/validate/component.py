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
    named_columns: str,
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
        named_columns: JSON list of (config field, column) pairs the later steps look up.
        alerts: JSON of the alert settings (blocking anomalies alert).
        run_id: The run's name.
        validated: The batch with schema columns cast to schema types.
        schema: The schema used (tensorflow-metadata Schema, text proto).
        anomalies: The anomalies found (tensorflow-metadata Anomalies, text proto).
        report: The anomalies as Markdown.
    """
    import json

    from google.protobuf import text_format

    from driftgate.components.validate import core
    from driftgate.data.dataspec import DataSettings
    from driftgate.data.schema import save_schema
    from driftgate.observe import logs
    from driftgate.observe.alerts import AlertSettings
    from driftgate.observe.kfp_io import write_text
    from driftgate.registry.store import Registry
    from driftgate.settings.validation import ValidationSettings

    logs.setup()
    step = core.run_step(
        batch.path,
        validated.path,
        Registry(registry_uri, model_name),
        DataSettings.model_validate_json(data),
        ValidationSettings.model_validate_json(validation),
        [tuple(pair) for pair in json.loads(named_columns)],
        source_uri,
        run_id,
        AlertSettings.model_validate_json(alerts),
    )
    result = step.result
    save_schema(result.schema, schema.path)
    write_text(anomalies, text_format.MessageToString(result.to_proto()))
    write_text(report, step.markdown)
    step.raise_if_blocked()
    return (result.has_labels, result.rows, result.schema_inferred, result.new_classes)
