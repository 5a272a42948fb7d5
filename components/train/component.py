"""KFP wrapper of the train step (the one that runs on the GPU node pool)."""

from typing import NamedTuple

from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Model, Output


def train(
    validated: Input[Dataset],
    schema: Input[Artifact],
    source_uri: str,
    registry_uri: str,
    model_name: str,
    deployed_version: int,
    batch_sha256: str,
    opened_by: str,
    training: str,
    drift: str,
    check_details: Input[Artifact],
    decision_record: Input[Markdown],
    drift_report: Input[HTML],
    run_id: str,
    tracking: str,
    model: Output[Model],
    eval_data: Output[Dataset],
    training_data: Output[Dataset],
    reference_stats: Output[Artifact],
    reference_sample: Output[Dataset],
    tensorboard: Output[Artifact],
    window_schema: Output[Artifact],
) -> NamedTuple("TrainOutputs", [("train_rows", int), ("eval_rows", int)]):
    """Trains a candidate on the deployed version's training window plus the labelled batch.

    Args:
        validated: The validated batch.
        schema: The schema the batch was validated against.
        source_uri: The batch's original location, named in error messages.
        registry_uri: The model registry directory.
        model_name: The model's name in the registry.
        deployed_version: The production version compared against (0: none).
        batch_sha256: The batch's content hash (tags its rows in the window).
        opened_by: The change that opened the gate (``degraded``, ``drifted`` or empty); the
            ``since_change`` window keeps the batches since it began.
        training: JSON of the training settings (family, hyperparameters, window, seed).
        drift: JSON of the drift settings (bins of the new reference statistics).
        check_details: The check's findings (logged to MLflow).
        decision_record: Why the run retrains (logged to MLflow).
        drift_report: The drift report (logged to MLflow).
        run_id: The run's name.
        tracking: JSON of the tracking settings (MLflow).
        model: The candidate (SavedModel or model.joblib, with a checksum manifest).
        eval_data: Held-out rows of the batch.
        training_data: The training window (stored as the next reference).
        reference_stats: Statistics of the window (tensorflow-metadata, binary proto).
        reference_sample: A row sample of the window (for KS tests).
        tensorboard: Per-epoch TensorBoard logs.
        window_schema: The schema of the training window (stored with the pushed version).
    """
    import time
    from pathlib import Path

    from driftgate.components.train import core
    from driftgate.data.schema import feature_kinds, load_schema
    from driftgate.observe import logs
    from driftgate.observe import tracking as mlflow
    from driftgate.observe.kfp_io import read_json
    from driftgate.observe.monitoring import gpus_in_pod
    from driftgate.registry.ledger import Ledger
    from driftgate.registry.store import Registry
    from driftgate.stats import DriftSettings

    logs.setup()
    outputs = core.TrainOutputs(
        model_dir=Path(model.path),
        eval_data=Path(eval_data.path),
        training_data=Path(training_data.path),
        reference_stats=Path(reference_stats.path),
        reference_sample=Path(reference_sample.path),
        tensorboard_dir=Path(tensorboard.path),
        schema=Path(window_schema.path),
    )
    registry, batch_schema = Registry(registry_uri, model_name), load_schema(schema.path)
    episode = Ledger(registry).episode(batch_sha256, opened_by) if opened_by else None
    settings = core.TrainingSettings.model_validate_json(training)
    started = time.monotonic()
    result = core.train(
        validated.path,
        batch_schema,
        registry,
        deployed_version or None,
        settings,
        DriftSettings.model_validate_json(drift),
        outputs,
        source_uri,
        batch_sha256,
        episode,
    )
    model.metadata.update(
        family=result.family,
        classes=result.classes,
        window=result.window,
        mode=result.mode_used,
        mode_reason=result.mode_reason,
        **result.history,
    )
    seconds = time.monotonic() - started
    model.metadata.update(train_seconds=seconds, gpus=gpus_in_pod())
    # What the GPU budget (gate.budget) counts: decide claimed this batch's ledger entry.
    Ledger(registry).update(batch_sha256, gpu_hours=round(seconds * gpus_in_pod() / 3600, 6))
    model.metadata["mlflow"] = mlflow.log_training(
        mlflow.TrackingSettings.model_validate_json(tracking),
        run_id,
        registry,
        settings,
        result,
        read_json(check_details),
        {"decision.md": Path(decision_record.path), "drift_report.html": Path(drift_report.path)},
        Path(model.path),
        feature_kinds(batch_schema),
    )
    return (result.train_rows, result.eval_rows)
