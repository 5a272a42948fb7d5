"""KFP wrapper of the TFMA evaluation."""

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
    registry_uri: str,
    model_name: str,
    deployed_version: int,
    evaluation: str,
    alerts: str,
    run_id: str,
    tracking: str,
    metrics: Output[Metrics],
    candidate_curves: Output[ClassificationMetrics],
    baseline_curves: Output[ClassificationMetrics],
    record: Output[Markdown],
    results: Output[Artifact],
    reason: OutputPath(str),
) -> bool:
    """Compares the candidate with the deployed model per slice and decides the blessing.

    The blessing is the single return value (``Output``) so ``dsl.If`` can test it under kfp's
    local runner as on a cluster; the reason is a separate parameter.

    Args:
        model: The candidate.
        eval_data: Held-out rows.
        registry_uri: The model registry directory.
        model_name: The model's name in the registry.
        deployed_version: The baseline version (0: none, first run).
        evaluation: JSON of the slices and thresholds.
        alerts: JSON of the alert settings (a rejected candidate alerts).
        run_id: The run's name.
        tracking: JSON of the tracking settings (MLflow).
        metrics: Candidate metrics (and differences to the baseline).
        candidate_curves: Candidate confusion matrix and ROC curve (empty for a regressor).
        baseline_curves: Baseline confusion matrix and ROC curve (empty on the first run).
        record: Why the candidate was blessed or rejected, threshold by threshold, and for a
            regressor a summary of both models' residuals.
        results: The evaluation as JSON (stored with the pushed version).
        reason: Why the candidate was blessed or rejected, in one line.

    Returns:
        Whether the candidate is blessed.
    """
    from pathlib import Path

    from driftgate import logs
    from driftgate import tracking as mlflow
    from driftgate.alerts import AlertSettings, push_metrics, send
    from driftgate.components.evaluate import core
    from driftgate.integrity import verify
    from driftgate.kfp_io import log_classification, log_metrics, write_json, write_text
    from driftgate.monitoring import bump, training_increments
    from driftgate.registry import Registry

    logs.setup()
    registry = Registry(registry_uri, model_name)
    baseline = registry.verified(deployed_version) if deployed_version else None
    result = core.evaluate(
        verify(model.path),
        eval_data.path,
        baseline,
        deployed_version or None,
        core.EvaluationSettings.model_validate_json(evaluation),
        Path(results.path).parent / "tfma",
    )
    overall = result.metrics.get(core.OVERALL, {})
    log_metrics(
        metrics,
        {
            **overall.get("candidate", {}),
            **{f"baseline_{k}": v for k, v in overall.get("baseline", {}).items()},
        },
    )
    if "candidate" in result.confusion:  # a regressor has residuals instead (in the record)
        log_classification(
            candidate_curves, result.classes, result.confusion["candidate"], result.roc["candidate"]
        )
    if "baseline" in result.confusion:
        log_classification(
            baseline_curves, result.classes, result.confusion["baseline"], result.roc["baseline"]
        )
    settings = AlertSettings.model_validate_json(alerts)
    alert = None
    if not result.blessed:
        alert = core.rejection_alert(result, model_name, run_id)
    elif result.under_floor:
        alert = core.under_floor_alert(result, model_name, run_id)
    outcomes = send(alert, settings) if alert else []
    counters = (
        bump(registry.dir, training_increments(model.metadata)) if settings.pushgateway else {}
    )
    pushed = push_metrics(settings, model_name, "evaluate", core.gauges(result, counters))
    text = core.record_markdown(result)
    notes = "".join(f"- {line}\n" for line in [*outcomes, *([pushed] if pushed else [])])
    if result.residuals:
        from driftgate.components.evaluate.regression import residual_markdown

        text += "\n" + residual_markdown(result)
    text += f"\n## Alerts\n\n{notes}" if notes else ""
    logged = mlflow.log_evaluation(
        mlflow.TrackingSettings.model_validate_json(tracking),
        run_id,
        registry,
        result.to_dict(),
        text,
    )
    write_text(record, text + mlflow.markdown(logged))
    write_json(results, result.to_dict())
    with open(reason, "w") as handle:
        handle.write(result.reason())
    return result.blessed
