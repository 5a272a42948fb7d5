"""Evaluates the candidate against the deployed model with TensorFlow Model Analysis.

Both models' probabilities are computed here and handed to TFMA as materialized predictions
(:mod:`.analysis`). The blessing follows the TFX Evaluator: every value threshold must hold on
every slice, every change threshold against the baseline must hold on every slice, and on the
first run (no baseline) change thresholds are skipped; a failed accuracy change threshold blocks
only when a paired test on the same rows finds the regression significant (:mod:`.changes`).
:func:`run` is the whole step: the verdict, the optimised model (:mod:`.optimised`), alerts,
gauges, MLflow and the record.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from driftgate.components.evaluate import analysis, changes
from driftgate.components.evaluate.blessing import floor_waiver
from driftgate.components.evaluate.optimised import Optimised, optimise_candidate
from driftgate.components.evaluate.record import (
    MISSING,
    OVERALL,
    EvaluationResult,
    gauges,
    record_markdown,
    rejection_alert,
    under_floor_alert,
)
from driftgate.errors import ConfigError
from driftgate.models.scoring import align_probabilities, load_scorer
from driftgate.observe import tracking
from driftgate.observe.alerts import Alert, AlertSettings, push_metrics, send
from driftgate.observe.monitoring import bump, training_increments
from driftgate.registry.integrity import VerifiedDir, verify
from driftgate.registry.store import Registry
from driftgate.settings.evaluation import EvaluationSettings
from driftgate.settings.optimisation import OptimisationSettings

log = logging.getLogger(__name__)


def _curves(
    labels: np.ndarray, probabilities: np.ndarray, n_classes: int
) -> tuple[list[list[int]], dict]:
    from sklearn.metrics import confusion_matrix, roc_curve

    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), labels=list(range(n_classes)))
    one_hot = np.eye(n_classes)[labels].ravel()
    fpr, tpr, thresholds = roc_curve(one_hot, probabilities.ravel())  # micro-averaged one-vs-rest
    thresholds = np.minimum(thresholds, 1.0)
    return matrix.tolist(), {
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "thresholds": thresholds.tolist(),
    }


def evaluate(
    candidate: VerifiedDir,
    eval_path: str | Path,
    baseline: VerifiedDir | None,
    baseline_version: int | None,
    settings: EvaluationSettings,
    tfma_output: Path | None = None,
) -> EvaluationResult:
    """Scores both models on the held-out rows and applies the thresholds with TFMA.

    Args:
        candidate: The verified candidate model directory.
        eval_path: Held-out rows (features and label).
        baseline: The verified deployed version, or None on the first run.
        baseline_version: Its version number.
        settings: Slices and thresholds.
        tfma_output: Where TFMA writes its results (a temporary directory when None).

    Returns:
        The verdict, per-slice metrics and threshold failures.
    """
    import pandas as pd

    table = pq.read_table(eval_path)
    missing = [s for s in settings.slices if s not in table.column_names]
    if missing:
        raise ConfigError(
            f"evaluation.slices names {missing[0]!r}, which the data does not have",
            file=str(eval_path),
            hint=f"slice by one of {', '.join(table.column_names)}",
        )
    output = tfma_output or Path(tempfile.mkdtemp(prefix="tfma-"))
    if candidate.metadata.get("task") == "regression":
        from driftgate.components.evaluate import regression

        return regression.evaluate(candidate, table, baseline, baseline_version, settings, output)
    scorer = load_scorer(candidate, fast=False)
    classes, label = scorer.classes, candidate.metadata["label"]
    index = {c: i for i, c in enumerate(classes)}
    labels = np.asarray([index[v] for v in table.column(label).to_pylist()], dtype=np.int64)
    predictions = {"candidate": scorer.predict_proba(table).astype(np.float64)}
    if baseline is not None:
        base = load_scorer(baseline, fast=False)
        predictions["baseline"] = align_probabilities(
            base.predict_proba(table), base.classes, classes
        )
    frame = pd.DataFrame({"label": labels})
    for name, probabilities in predictions.items():
        frame[name] = list(probabilities)
    for feature in settings.slices:
        frame[feature] = [
            MISSING if v is None else str(v) for v in table.column(feature).to_pylist()
        ]
    slices, unjudged = analysis.judged_slices(frame, settings)
    complete = {OVERALL} | {
        f"{f}={v}" for f, v in slices if frame.loc[frame[f] == v, "label"].nunique() == len(classes)
    }
    log.info(
        "evaluating %s held-out rows with TFMA (%s)",
        f"{len(labels):,}",
        f"against version {baseline_version}" if baseline is not None else "no baseline yet",
    )
    config = analysis.eval_config(settings, len(classes), baseline is not None, slices)
    records, validation = analysis.run_tfma(frame, config, baseline is not None, output)
    metrics = analysis.classification_metrics(records, complete)
    failures, tests = changes.judge(
        analysis.classification_failures(validation),
        changes.slice_masks(frame, slices),
        changes.classification_judges(labels, predictions, settings),
    )
    waived = floor_waiver(failures, metrics.get(OVERALL, {}), settings.rescue_margin)
    result = EvaluationResult(
        analysis.passed(validation, settings, baseline is not None)
        or changes.cleared(validation, failures, tests)
        or waived is not None,
        baseline_version,
        classes,
        metrics,
        failures,
        unjudged,
        under_floor=waived or [],
        change_tests=tests,
    )
    for name, probabilities in predictions.items():
        result.confusion[name], result.roc[name] = _curves(labels, probabilities, len(classes))
    log.info("%s", result.reason())
    return result


@dataclass
class StepOutcome:
    """Everything the evaluate step produced, for its wrapper to write out.

    Attributes:
        result: The verdict and the per-slice metrics.
        optimised: The optimised model's report and flatbuffer (None: optimisation is off).
        alert: The alert raised (a rejected candidate, or one blessed under its floor).
        delivered: What each alert sink and the Pushgateway did, one line each.
        metrics: The candidate's (and ``baseline_``-prefixed deployed model's) overall metrics.
        record: The evaluation record, as Markdown.
    """

    result: EvaluationResult
    optimised: Optimised | None = None
    alert: Alert | None = None
    delivered: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    record: str = ""

    def results(self) -> dict:
        """The evaluation as stored with the pushed version, the optimisation included."""
        return {
            **self.result.to_dict(),
            "optimisation": self.optimised.summary if self.optimised else None,
        }


def run(
    candidate_dir: str | Path,
    candidate_facts: dict,
    eval_path: str | Path,
    training_data: str | Path | None,
    registry: Registry,
    deployed_version: int | None,
    settings: EvaluationSettings,
    optimisation: OptimisationSettings,
    alerts: AlertSettings,
    tracking_settings: tracking.TrackingSettings,
    run_id: str | None,
    tfma_output: Path | None = None,
) -> StepOutcome:
    """The evaluate step: verdict, optimisation, alert, gauges, MLflow and record.

    Args:
        candidate_dir: The candidate model directory (verified here).
        candidate_facts: The training step's facts about it (training seconds, GPUs).
        eval_path: Held-out rows.
        training_data: The training window (pruning, int8 calibration), or None.
        registry: The model's registry (the baseline and the run counters live there).
        deployed_version: The baseline version, or None on the first run.
        settings: Slices and thresholds.
        optimisation: Pruning and quantisation settings.
        alerts: Alert sinks and the Pushgateway.
        tracking_settings: MLflow settings.
        run_id: The run's name.
        tfma_output: Where TFMA writes its results.
    """
    candidate = verify(candidate_dir)
    baseline = registry.verified(deployed_version) if deployed_version else None
    result = evaluate(candidate, eval_path, baseline, deployed_version, settings, tfma_output)
    outcome = StepOutcome(
        result, optimise_candidate(candidate, eval_path, training_data, optimisation)
    )
    outcome.metrics = {
        **result.overall("candidate"),
        **{f"baseline_{k}": v for k, v in result.overall("baseline").items()},
        **(outcome.optimised.metrics() if outcome.optimised else {}),
    }
    if not result.blessed:
        outcome.alert = rejection_alert(result, registry.model, run_id)
    elif result.under_floor:
        outcome.alert = under_floor_alert(result, registry.model, run_id)
    outcome.delivered = send(outcome.alert, alerts) if outcome.alert else []
    counters = (
        bump(registry.dir, training_increments(candidate_facts)) if alerts.pushgateway else {}
    )
    pushed = push_metrics(alerts, registry.model, "evaluate", gauges(result, counters))
    outcome.delivered += [pushed] if pushed else []
    text = record_markdown(result)
    if result.residuals:
        from driftgate.components.evaluate.regression import residual_markdown

        text += "\n" + residual_markdown(result)
    if outcome.optimised is not None:
        text += "\n" + outcome.optimised.markdown
    if outcome.delivered:
        text += "\n## Alerts\n\n" + "".join(f"- {line}\n" for line in outcome.delivered)
    logged = tracking.log_evaluation(tracking_settings, run_id, registry, outcome.results(), text)
    outcome.record = text + tracking.markdown(logged)
    return outcome
