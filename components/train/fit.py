"""Fits one candidate on one training window and scores it on the window's held-out rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from driftgate import __version__, tasks
from driftgate.components.train import warm
from driftgate.components.train.window import BATCH_COLUMN
from driftgate.errors import ConfigError, DataError
from driftgate.estimation import calibration_error
from driftgate.integrity import VerifiedDir, verify, write_manifest
from driftgate.metrics import classification_metrics, regression_metrics
from driftgate.schema import FeatureKinds
from driftgate.scoring import feature_arrays, load_scorer, target_array
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
    y = target_array(train_table, label, classes)
    tuned: dict = {}
    mode = warm.choose(settings, deployed, kinds, classes, x)
    if settings.family == "custom":
        from driftgate.components.train import custom

        history, hyper, fmt = custom.train_custom(
            settings.custom,
            custom.context(
                (train_table.drop_columns([BATCH_COLUMN]), eval_table.drop_columns([BATCH_COLUMN])),
                kinds,
                task,
                classes,
                settings.seed,
                deployed,
            ),
            model_dir,
            tensorboard_dir,
        )
    elif settings.family == "keras" and task == tasks.REGRESSION:
        raise ConfigError(
            f"training.family keras builds a classifier, but label {label!r} is a regression "
            "target",
            hint="use training.family sklearn or custom",
        )
    elif settings.family == "keras":
        from driftgate.components.train import keras_trainer

        keras_settings = settings.keras
        if mode.start is not None:
            keras_settings = keras_settings.model_copy(
                update={
                    "epochs": settings.warm_start.epochs,
                    "learning_rate": settings.warm_start.learning_rate
                    or keras_settings.learning_rate,
                }
            )
        elif settings.tuning.enabled:
            from driftgate.components.train.keras_tuning import tune

            keras_settings, tuned = tune(
                x, y, kinds, classes, keras_settings, settings.tuning, settings.seed
            )
        history, hyper, fmt = keras_trainer.train_and_export(
            x,
            y,
            kinds,
            classes,
            keras_settings,
            settings.seed,
            model_dir,
            tensorboard_dir,
            check_inputs=feature_arrays(eval_table, list(kinds.numeric), list(kinds.categorical)),
            start=mode.start,
        )
    else:
        from driftgate.components.train import sklearn_trainer

        sklearn_settings = settings.sklearn
        if settings.tuning.enabled and mode.start is None:
            sklearn_settings, tuned = sklearn_trainer.tune(
                x, y, kinds, sklearn_settings, settings.tuning, settings.seed, task
            )
        history, hyper, fmt = sklearn_trainer.train_and_save(
            x, y, kinds, sklearn_settings, settings.seed, model_dir, task, mode.start,
            settings.warm_start,
        )  # fmt: skip
    metadata = _model_metadata(
        kinds, classes, settings, fmt, hyper, history, train_table, eval_table
    )
    metadata.update(task=task, tuning=tuned)
    metadata["training"].update(mode=mode.used, mode_reason=mode.reason)
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
        write_manifest(model_dir, metadata)  # with the calibration the gate's estimate needs
    return Fitted(
        model_dir,
        window,
        eval_table,
        classes,
        train_table.num_rows,
        history,
        hyper,
        primary,
        mode,
    )


def _model_metadata(
    kinds: FeatureKinds,
    classes: list[str],
    settings: TrainingSettings,
    fmt: str,
    hyper: dict,
    history: dict,
    train_table: pa.Table,
    eval_table: pa.Table,
) -> dict:
    return {
        "format": fmt,
        "family": settings.family,
        "classes": classes,
        "label": kinds.label,
        "features": {"numeric": list(kinds.numeric), "categorical": list(kinds.categorical)},
        "hyperparameters": hyper,
        "training": {
            "rows": train_table.num_rows,
            "eval_rows": eval_table.num_rows,
            "seed": settings.seed,
            **history,
        },
        "code_version": __version__,
    }
