"""KFP wrapper of the evaluate step."""

from kfp.dsl import (
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
    OutputPath,
)


def evaluate(
    model: Input[Model],
    eval_data: Input[Dataset],
    training_data: Input[Dataset],
    registry_uri: str,
    model_name: str,
    deployed_version: int,
    evaluation: str,
    optimisation: str,
    alerts: str,
    run_id: str,
    tracking: str,
    metrics: Output[Metrics],
    candidate_curves: Output[ClassificationMetrics],
    baseline_curves: Output[ClassificationMetrics],
    record: Output[Markdown],
    results: Output[Artifact],
    optimised_model: Output[Model],
    reason: OutputPath(str),
) -> bool:
    """Compares the candidate with the deployed model per slice and decides the blessing.

    The blessing is the single return value (``Output``) so ``dsl.If`` can test it under kfp's
    local runner as on a cluster; the reason is a separate parameter.

    Args:
        model: The candidate.
        eval_data: Held-out rows.
        training_data: The training window (pruning fine-tunes on it, int8 calibrates on it).
        registry_uri: The model registry directory.
        model_name: The model's name in the registry.
        deployed_version: The baseline version (0: none, first run).
        evaluation: JSON of the slices and thresholds.
        optimisation: JSON of the pruning and quantisation settings.
        alerts: JSON of the alert settings (a rejected candidate alerts).
        run_id: The run's name.
        tracking: JSON of the tracking settings (MLflow).
        metrics: Candidate metrics (and differences to the baseline).
        candidate_curves: Candidate confusion matrix and ROC curve (empty for a regressor).
        baseline_curves: Baseline confusion matrix and ROC curve (empty on the first run).
        record: Why the candidate was blessed or rejected, threshold by threshold, for a
            regressor a summary of both models' residuals, and the optimised model's report.
        results: The evaluation as JSON (stored with the pushed version).
        optimised_model: The accepted TFLite flatbuffer; empty when there is none.
        reason: Why the candidate was blessed or rejected, in one line.

    Returns:
        Whether the candidate is blessed.
    """
    from pathlib import Path

    from driftgate.components.evaluate import core
    from driftgate.observe import logs
    from driftgate.observe.alerts import AlertSettings
    from driftgate.observe.kfp_io import log_classification, log_metrics, write_json, write_text
    from driftgate.observe.tracking import TrackingSettings
    from driftgate.registry.store import Registry
    from driftgate.settings.evaluation import EvaluationSettings
    from driftgate.settings.optimisation import OptimisationSettings

    logs.setup()
    outcome = core.run(
        model.path,
        model.metadata,
        eval_data.path,
        training_data.path,
        Registry(registry_uri, model_name),
        deployed_version or None,
        EvaluationSettings.model_validate_json(evaluation),
        OptimisationSettings.model_validate_json(optimisation),
        AlertSettings.model_validate_json(alerts),
        TrackingSettings.model_validate_json(tracking),
        run_id,
        Path(results.path).parent / "tfma",
    )
    result = outcome.result
    log_metrics(metrics, outcome.metrics)
    for name, curves in (("candidate", candidate_curves), ("baseline", baseline_curves)):
        if name in result.confusion:  # a regressor has residuals instead (in the record)
            log_classification(curves, result.classes, result.confusion[name], result.roc[name])
    write_text(record, outcome.record)
    write_json(results, outcome.results())
    flatbuffer = outcome.optimised.flatbuffer if outcome.optimised else None
    Path(optimised_model.path).parent.mkdir(parents=True, exist_ok=True)
    Path(optimised_model.path).write_bytes(flatbuffer or b"")
    with open(reason, "w") as handle:
        handle.write(result.reason())
    return result.blessed
