"""KFP wrapper of the push step."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Markdown, Model, Output


def push(
    model: Input[Model],
    schema: Input[Artifact],
    reference_stats: Input[Artifact],
    reference_sample: Input[Dataset],
    training_data: Input[Dataset],
    evaluation: Input[Artifact],
    optimised_model: Input[Model],
    registry_uri: str,
    model_name: str,
    deployed_version: int,
    deployed_generation: int,
    keep_versions: int,
    batch_sha256: str,
    batch_source: str,
    run_id: str,
    alerts: str,
    tracking: str,
    record: Output[Markdown],
) -> NamedTuple("PushOutputs", [("version", int), ("promoted", bool)]):
    """Publishes the blessed candidate as the next version and promotes it (compare-and-swap).

    Args:
        model: The blessed candidate.
        schema: Schema of its training data.
        reference_stats: Statistics of its training window.
        reference_sample: Row sample of its training window.
        training_data: Its training window.
        evaluation: The evaluation that blessed it.
        optimised_model: The optimised model the evaluation accepted (empty: none); stored as
            ``model.tflite`` in the version.
        registry_uri: The model registry directory.
        model_name: The model's name in the registry.
        deployed_version: The production version the run compared against (0: none).
        deployed_generation: The production pointer's generation when the check read it.
        keep_versions: Keep at most this many versions (0: all; ``registry.keep_versions``).
        batch_sha256: SHA-256 of the batch file.
        batch_source: Where the batch was read from.
        run_id: The pipeline run that produced the version.
        alerts: JSON of the alert settings (the Pushgateway gets the push counters).
        tracking: JSON of the tracking settings (MLflow registers the version).
        record: What was pushed, as Markdown.
    """
    from pathlib import Path

    from driftgate.components.push import core
    from driftgate.observe import logs
    from driftgate.observe import tracking as mlflow
    from driftgate.observe.alerts import AlertSettings, push_metrics
    from driftgate.observe.kfp_io import read_json, write_text
    from driftgate.registry.integrity import verify
    from driftgate.registry.store import (
        REFERENCE_SAMPLE,
        REFERENCE_STATS,
        SCHEMA_FILE,
        TRAINING_DATA,
        Registry,
    )

    logs.setup()
    registry = Registry(registry_uri, model_name, keep_versions=keep_versions or None)
    sidecars = {
        SCHEMA_FILE: Path(schema.path),
        REFERENCE_STATS: Path(reference_stats.path),
        REFERENCE_SAMPLE: Path(reference_sample.path),
        TRAINING_DATA: Path(training_data.path),
    }
    provenance = {"batch_sha256": batch_sha256, "batch_source": batch_source, "run_id": run_id}
    optimised = Path(optimised_model.path)  # empty: no optimised model was accepted
    result = core.push(
        verify(model.path),
        sidecars,
        read_json(evaluation),
        registry,
        deployed_version or None,
        provenance,
        deployed_generation,
        optimised if optimised.is_file() and optimised.stat().st_size else None,
    )
    pushed = push_metrics(
        AlertSettings.model_validate_json(alerts),
        model_name,
        "push",
        {
            "pushes_total": {(): len(registry.versions())},
            "production_version": {(): registry.production() or 0},
        },
    )
    logged = mlflow.log_push(
        mlflow.TrackingSettings.model_validate_json(tracking), run_id, registry, result.version
    )
    write_text(
        record,
        f"# Push\n\n{result.message}.\n\n- registry: `{registry.dir}`\n"
        f"- parent version: {deployed_version or 'none'}\n- batch sha256: `{batch_sha256}`\n"
        + (f"- {pushed}\n" if pushed else "")
        + mlflow.markdown(logged),
    )
    return (result.version, result.promoted)
