"""KFP wrapper of the retraining decision."""

from kfp.dsl import Artifact, Input, Markdown, Output, OutputPath


def decide(
    has_model: bool,
    drift_detected: bool,
    performance_degraded: bool,
    has_labels: bool,
    force: bool,
    check_details: Input[Artifact],
    record: Output[Markdown],
    reason: OutputPath(str),
) -> bool:
    """Decides whether to retrain and records why.

    The decision is the single return value (``Output``) because kfp's local runner resolves
    ``dsl.If`` conditions only on outputs of that name; the reason is a separate parameter.

    Args:
        has_model: A production version exists.
        drift_detected: The drift rule fired.
        performance_degraded: The deployed model fell under a bound on the batch.
        has_labels: The batch carries labels.
        force: Retrain regardless.
        check_details: The check's findings.
        record: The decision record (Markdown).
        reason: Why, in one sentence.

    Returns:
        Whether to retrain.
    """
    from driftgate import logs
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
    write_text(record, core.record_markdown(decision, details))
    with open(reason, "w") as handle:
        handle.write(decision.reason)
    print(f"decision: {'retrain' if decision.retrain else 'skip'}: {decision.reason}")
    return decision.retrain
