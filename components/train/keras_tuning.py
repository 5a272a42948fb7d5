"""Hyperparameter search for driftgate's Keras model (``training.tuning``)."""

from __future__ import annotations

import logging
import tempfile

import keras
import keras_tuner
import numpy as np

from driftgate.components.train.keras_trainer import as_tensors, build_model
from driftgate.data.schema import FeatureKinds

log = logging.getLogger(__name__)

SEARCH_SPACE = {
    "hidden_units": ["16", "32-16", "64-32"],
    "learning_rate": [0.001, 0.003, 0.01, 0.03],
    "dropout": [0.0, 0.1, 0.3],
}


def tune(
    x: dict[str, np.ndarray],
    y: np.ndarray,
    kinds: FeatureKinds,
    classes: list[str],
    settings,
    tuning,
    seed: int,
) -> tuple:
    """Random search with keras-tuner on a seeded 80/20 split of the training rows.

    Returns:
        The settings with the best hyperparameters, and a summary of the search.
    """
    keras.utils.set_random_seed(seed)
    order = np.random.default_rng(seed).permutation(len(y))
    cut = max(1, int(len(y) * 0.8))
    fit_rows, val_rows = order[:cut], order[cut:]
    x_fit = {k: v[fit_rows] for k, v in x.items()}
    x_val = {k: v[val_rows] for k, v in x.items()}

    def choose(hp) -> object:
        return settings.model_copy(
            update={
                "hidden_units": [
                    int(u)
                    for u in hp.Choice("hidden_units", SEARCH_SPACE["hidden_units"]).split("-")
                ],
                "learning_rate": hp.Choice("learning_rate", SEARCH_SPACE["learning_rate"]),
                "dropout": hp.Choice("dropout", SEARCH_SPACE["dropout"]),
            }
        )

    def build(hp) -> keras.Model:
        model, _, _ = build_model(x_fit, kinds, len(classes), choose(hp))
        model.compile(
            optimizer=keras.optimizers.Adam(choose(hp).learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    tuner = keras_tuner.RandomSearch(
        build,
        objective="val_accuracy",
        max_trials=tuning.max_trials,
        seed=seed,
        directory=tempfile.mkdtemp(prefix="driftgate-tuning-"),
        project_name="search",
    )
    tuner.search(
        as_tensors(x_fit),
        y[fit_rows],
        validation_data=(as_tensors(x_val), y[val_rows]),
        epochs=tuning.epochs or max(1, settings.epochs // 2),
        batch_size=settings.rows_per_step(len(fit_rows)),
        verbose=0,
    )
    best = tuner.get_best_hyperparameters(1)[0]
    trials = tuner.oracle.get_best_trials(1)
    chosen = choose(best)
    log.info(
        "tuning: best of %d trials: %s (val_accuracy %.4f)",
        len(tuner.oracle.trials),
        best.values,
        trials[0].score if trials else float("nan"),
    )
    summary = {
        "trials": len(tuner.oracle.trials),
        "objective": "val_accuracy",
        "best_score": trials[0].score if trials else None,
        "best": chosen.model_dump(),
    }
    return chosen, summary
