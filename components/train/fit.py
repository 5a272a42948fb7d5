"""Fits one candidate on one training window and scores it on the window's held-out rows."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from driftgate.components.train import curve, warm
from driftgate.components.train.family import model_metadata, outcomes, train_model
from driftgate.data.schema import FeatureKinds
from driftgate.errors import DataError
from driftgate.models import tasks
from driftgate.models.estimation import calibration_error
from driftgate.models.metrics import classification_metrics, regression_metrics
from driftgate.models.scoring import feature_arrays, load_scorer, target_array
from driftgate.registry.integrity import VerifiedDir, verify, write_manifest
from driftgate.settings.training import TrainingSettings

log = logging.getLogger(__name__)


def stratified_holdout(labels: list[str], fraction: float, seed: int) -> np.ndarray:
    """Indices of a stratified hold-out of about ``fraction`` of each class.

    Every class with two or more rows gives at least one row and keeps at least one.
    """
    rng = np.random.default_rng(seed)
    array = np.asarray(labels, dtype=object)
    chosen = []
    for cls in sorted(set(labels)):
        rows = np.flatnonzero(array == cls)
        if rows.size < 2:
            continue
        take = int(np.clip(round(rows.size * fraction), 1, rows.size - 1))
        chosen.append(rng.permutation(rows)[:take])
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.int64)


def random_holdout(rows: int, fraction: float, seed: int) -> np.ndarray:
    """Indices of a seeded random hold-out of about ``fraction`` of ``rows`` (at least one)."""
    if rows < 2:
        return np.empty(0, dtype=np.int64)
    take = int(np.clip(round(rows * fraction), 1, rows - 1))
    return np.sort(np.random.default_rng(seed).permutation(rows)[:take])


@dataclass
class Fitted:
    """One trained candidate and the rows behind it."""

    model_dir: Path
    window: pa.Table
    eval_table: pa.Table
    classes: list[str]
    train_rows: int
    history: dict
    hyperparameters: dict
    primary: float  # the task's primary metric on the held-out rows
    mode: warm.Mode

    @property
    def quality(self) -> float:
        """Higher is better: the primary metric, negated when lower is better."""
        return -self.primary if self.primary_lower_is_better else self.primary

    @property
    def primary_lower_is_better(self) -> bool:
        """Whether the primary metric is an error (regression's RMSE)."""
        return not self.classes


def fit(
    window: pa.Table,
    from_batch: int,
    kinds: FeatureKinds,
    task: str,
    settings: TrainingSettings,
    model_dir: Path,
    tensorboard_dir: Path,
    deployed: VerifiedDir | None,
    source: str | None = None,
) -> Fitted:
    """Splits the window, trains one model into ``model_dir`` and scores it on held-out rows.

    ``training.mode: warm_start`` continues from ``deployed`` where it can (``warm.py``); the
    mode used and why are logged and stored in the model's metadata.

    The held-out rows come from the batch's rows at the end of the window (stratified by class,
    random for regression). The model's calibration error on them is stored in its metadata:
    the gate trusts its confidence-based performance estimate only when that error is small.
    So is the learning curve (``curve.py``), from which the gate predicts what more rows are
    worth.

    Raises:
        DataError: A classification window has fewer than two classes.
        ConfigError: The family cannot train this task.
    """
    label = kinds.label
    labels = window.column(label).to_pylist()
    classes = sorted(set(labels)) if task == tasks.CLASSIFICATION else []
    if task == tasks.CLASSIFICATION and len(classes) < 2:
        raise DataError(
            f"the training window has {len(classes)} class(es) ({', '.join(classes)}); "
            "a classifier needs at least 2",
            file=source,
            column=label,
        )
    first_batch_row = window.num_rows - from_batch
    held_out = first_batch_row + (
        stratified_holdout(labels[first_batch_row:], settings.eval_fraction, settings.seed)
        if classes
        else random_holdout(from_batch, settings.eval_fraction, settings.seed)
    )
    mask = np.ones(window.num_rows, dtype=bool)
    mask[held_out] = False
    train_table, eval_table = (
        window.filter(pa.array(mask)),
        window.take(pa.array(held_out, pa.int64())),
    )
    log.info(
        "window: %s rows (%s from this batch); training on %s, holding out %s",
        f"{window.num_rows:,}",
        f"{from_batch:,}",
        f"{train_table.num_rows:,}",
        f"{eval_table.num_rows:,}",
    )
    model_dir.mkdir(parents=True, exist_ok=True)
    x = feature_arrays(train_table, list(kinds.numeric), list(kinds.categorical))
    mode = warm.choose(settings, deployed, kinds, classes, x)
    started = time.monotonic()
    trained = train_model(
        train_table, eval_table, kinds, task, classes, settings, model_dir, tensorboard_dir,
        mode, deployed,
    )  # fmt: skip
    metadata = model_metadata(kinds, classes, settings, trained, train_table, eval_table, task)
    metadata["training"].update(
        mode=mode.used, mode_reason=mode.reason, fit_seconds=round(time.monotonic() - started, 3)
    )
    write_manifest(model_dir, metadata)
    scorer = load_scorer(verify(model_dir), fast=True)
    if not classes:
        targets = eval_table.column(label).to_numpy(zero_copy_only=False)
        primary = regression_metrics(targets, scorer.predict(eval_table))[tasks.PRIMARY[task]]
    else:
        probabilities = scorer.predict_proba(eval_table)
        held_out_labels = eval_table.column(label).to_pylist()
        primary = classification_metrics(held_out_labels, probabilities, classes)["accuracy"]
        error = calibration_error(probabilities, target_array(eval_table, label, classes))
        metadata["training"]["calibration_error"] = round(error, 6)
    measured = curve.measure(
        train_table,
        eval_table,
        kinds,
        task,
        classes,
        trained,
        outcomes(scorer, eval_table, label, classes),
        mode,
        settings.window.rows,
    )
    metadata["learning_curve"] = measured.curve
    metadata["training"]["learning_curve_note"] = measured.note
    write_manifest(model_dir, metadata)  # with what the gate's estimate and expected gain need
    return Fitted(
        model_dir,
        window,
        eval_table,
        classes,
        train_table.num_rows,
        trained.history,
        trained.hyperparameters,
        primary,
        mode,
    )
