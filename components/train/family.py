"""Trains one model of the configured family on raw training rows, into a model directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from driftgate import __version__
from driftgate.components.train import warm
from driftgate.components.train.window import BATCH_COLUMN
from driftgate.data.schema import FeatureKinds
from driftgate.errors import ConfigError
from driftgate.models import tasks
from driftgate.models.scoring import feature_arrays, target_array
from driftgate.registry.integrity import VerifiedDir
from driftgate.settings.training import TrainingSettings, TuningSettings


@dataclass
class Trained:
    """What training one model gave.

    Attributes:
        history: Final training metrics.
        hyperparameters: The model's hyperparameters.
        fmt: The saved format (``saved_model`` or ``sklearn``).
        tuned: The hyperparameter search's record (empty without one).
        settings: The settings that trained it, the search's choice included, with the search
            off: training again with them gives the same kind of model without searching.
    """

    history: dict
    hyperparameters: dict
    fmt: str
    tuned: dict
    settings: TrainingSettings


def train_model(
    train_table: pa.Table,
    eval_table: pa.Table,
    kinds: FeatureKinds,
    task: str,
    classes: list[str],
    settings: TrainingSettings,
    model_dir: Path,
    tensorboard_dir: Path | None,
    mode: warm.Mode,
    deployed: VerifiedDir | None,
) -> Trained:
    """Trains a model of ``settings.family`` on ``train_table`` and saves it in ``model_dir``.

    ``tensorboard_dir`` None writes no Keras TensorBoard logs (a team's trainer gets a scratch
    folder beside the model).

    Raises:
        ConfigError: The family cannot train this task.
    """
    label = kinds.label
    x = feature_arrays(train_table, list(kinds.numeric), list(kinds.categorical))
    y = target_array(train_table, label, classes)
    tuned: dict = {}
    effective = settings.model_copy(update={"tuning": TuningSettings(enabled=False)})
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
            tensorboard_dir or model_dir.with_name(model_dir.name + "-tensorboard"),
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
            effective = effective.model_copy(update={"keras": keras_settings})
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
            effective = effective.model_copy(update={"sklearn": sklearn_settings})
        history, hyper, fmt = sklearn_trainer.train_and_save(
            x, y, kinds, sklearn_settings, settings.seed, model_dir, task, mode.start,
            settings.warm_start,
        )  # fmt: skip
    return Trained(history, hyper, fmt, tuned, effective)


def model_metadata(
    kinds: FeatureKinds,
    classes: list[str],
    settings: TrainingSettings,
    trained: Trained,
    train_table: pa.Table,
    eval_table: pa.Table,
    task: str,
) -> dict:
    """The metadata stored in a model directory's manifest."""
    return {
        "format": trained.fmt,
        "family": settings.family,
        "classes": classes,
        "label": kinds.label,
        "features": {"numeric": list(kinds.numeric), "categorical": list(kinds.categorical)},
        "hyperparameters": trained.hyperparameters,
        "training": {
            "rows": train_table.num_rows,
            "eval_rows": eval_table.num_rows,
            "seed": settings.seed,
            **trained.history,
        },
        "code_version": __version__,
        "task": task,
        "tuning": trained.tuned,
    }


def outcomes(scorer, eval_table: pa.Table, label: str, classes: list[str]) -> np.ndarray:
    """Per held-out row: 1/0 correctness (classification) or the squared error (regression)."""
    if not classes:
        targets = eval_table.column(label).to_numpy(zero_copy_only=False).astype(np.float64)
        return (np.asarray(scorer.predict(eval_table), dtype=np.float64) - targets) ** 2
    predicted = scorer.predict_proba(eval_table).argmax(axis=1)
    index = {c: i for i, c in enumerate(scorer.classes)}
    truth = np.asarray([index.get(v, -1) for v in eval_table.column(label).to_pylist()])
    return (predicted == truth).astype(np.float64)
