"""KFP wrapper of the drift and performance check."""

from typing import NamedTuple

from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Output


def check(
    validated: Input[Dataset],
    registry_uri: str,
    model_name: str,
    label: str,
    has_labels: bool,
    drift: str,
    performance: str,
    gate: str,
    drift_report: Output[HTML],
    summary: Output[Markdown],
    metrics: Output[Metrics],
    details: Output[Artifact],
) -> NamedTuple(
    "CheckOutputs",
    [
        ("drift_detected", bool),
        ("performance_degraded", bool),
        ("has_model", bool),
        ("deployed_version", int),
        ("deployed_generation", int),
    ],
):
    """Measures drift against the deployed version's reference and scores it on labelled batches.

    Args:
        validated: The validated batch.
        registry_uri: The model registry directory.
        model_name: The model's name in the registry.
        label: The label column.
        has_labels: Whether the batch carries labels.
        drift: JSON of the drift settings.
        performance: JSON of the performance thresholds of the deployed model.
        gate: JSON of the gate settings (the calibration bound of the performance estimate).
        drift_report: Self-contained HTML drift report.
        summary: Markdown summary of drift and performance.
        metrics: Per-feature drift and deployed-model scores.
        details: The findings as JSON (read by decide and the CLI).
    """
    from driftgate import logs
    from driftgate.components.check import core
    from driftgate.components.decide.gate import GateSettings
    from driftgate.kfp_io import log_metrics, write_json, write_text
    from driftgate.registry import Registry
    from driftgate.report import drift_html, drift_markdown
    from driftgate.stats import DriftSettings

    logs.setup()
    registry = Registry(registry_uri, model_name)
    generation = registry.production_state()[1]  # read before the version the check compares
    result = core.check(
        validated.path,
        registry,
        DriftSettings.model_validate_json(drift),
        core.PerformanceSettings.model_validate_json(performance),
        label,
        has_labels,
        GateSettings.model_validate_json(gate).max_calibration_error,
    )
    if result.drift is None:
        text = "No deployed model yet: there is no reference to compare the batch with.\n"
        write_text(drift_report, f"<!DOCTYPE html><html><body><p>{text}</p></body></html>")
    else:
        context = {"model": model_name, "deployed version": str(result.deployed_version)}
        write_text(drift_report, drift_html(result.drift, f"Drift of {model_name}", context))
        text = drift_markdown(result.drift)
    if result.performance is not None:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in result.performance.items())
        under = ", ".join(result.degraded) or "none"
        text += f"\n## Deployed model on this batch\n\n{scores}; under bound: {under}\n"
    write_text(summary, text)
    log_metrics(metrics, result.metrics())
    write_json(details, result.summary())
    return (
        result.drift_detected,
        result.performance_degraded,
        result.deployed_version is not None,
        result.deployed_version or 0,
        generation,
    )
