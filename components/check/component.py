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
    from driftgate.components.check import core
    from driftgate.observe import logs
    from driftgate.observe.kfp_io import log_metrics, write_json, write_text
    from driftgate.registry.store import Registry
    from driftgate.settings.gate import GateSettings
    from driftgate.settings.performance import PerformanceSettings
    from driftgate.stats import DriftSettings

    logs.setup()
    step = core.run_step(
        validated.path,
        Registry(registry_uri, model_name),
        DriftSettings.model_validate_json(drift),
        PerformanceSettings.model_validate_json(performance),
        label,
        has_labels,
        GateSettings.model_validate_json(gate).max_calibration_error,
    )
    result = step.result
    write_text(drift_report, step.html)
    write_text(summary, step.markdown)
    log_metrics(metrics, result.metrics())
    write_json(details, result.summary())
    return (
        result.drift_detected,
        result.performance_degraded,
        result.deployed_version is not None,
        result.deployed_version or 0,
        step.generation,
    )
