"""Trains a candidate on the reference window plus the new labelled batch.

The training window is the deployed version's training data (its reference window) followed by
the batch's labelled rows, trimmed to the newest ``window_rows``. A stratified share of the batch
is held out for evaluation: the deployed model never saw those rows, so candidate and baseline
are compared fairly on data from the current distribution.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate import __version__
from driftgate.errors import DataError
from driftgate.integrity import write_manifest
from driftgate.registry import TRAINING_DATA, Registry
from driftgate.schema import FeatureKinds, feature_kinds
from driftgate.scoring import feature_arrays
from driftgate.stats import DriftSettings, reference_stats

log = logging.getLogger(__name__)


class KerasSettings(BaseModel):
    """A small MLP with preprocessing layers inside the model."""

    model_config = ConfigDict(extra="forbid")

    hidden_units: list[int] = [32, 16]
    epochs: int = Field(60, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)


class SklearnSettings(BaseModel):
    """A scikit-learn estimator behind imputation, scaling and one-hot encoding."""

    model_config = ConfigDict(extra="forbid")

    estimator: Literal["logistic_regression", "random_forest", "gradient_boosting"] = (
        "logistic_regression"
    )
    params: dict[str, float | int | str | bool | None] = {}


class TuningSettings(BaseModel):
    """An optional hyperparameter search before training.

    Keras: keras-tuner's random search over layer sizes, learning rate and dropout, judged on a
    seeded 20 % of the training rows. scikit-learn: a randomized, stratified cross-validated
    search over the estimator's main parameters.

    Attributes:
        enabled: Run the search.
        max_trials: Most candidate settings tried (bounds the cost).
        epochs: Epochs per Keras trial (default: half the training epochs).
        folds: Cross-validation folds for scikit-learn.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    max_trials: int = Field(8, ge=1, le=100)
    epochs: int | None = Field(None, ge=1)
    folds: int = Field(3, ge=2, le=10)


class TrainingSettings(BaseModel):
    """How candidates are trained.

    Attributes:
        family: ``keras`` (default; TF Serving serves it) or ``sklearn``.
        window_rows: Newest rows of reference window plus batch to train on.
        eval_fraction: Share of the batch held out for evaluation.
        seed: Seed for the split, weight initialisation and shuffling.
        image: The team's own image for the train step (overrides ``images.train``); it must
            hold driftgate (see examples/custom-image).
    """

    model_config = ConfigDict(extra="forbid")

    family: Literal["keras", "sklearn"] = "keras"
    window_rows: int = Field(100_000, ge=10)
    eval_fraction: float = Field(0.3, gt=0, lt=1)
    seed: int = 42
    image: str | None = None
    keras: KerasSettings = KerasSettings()
    sklearn: SklearnSettings = SklearnSettings()
    tuning: TuningSettings = TuningSettings()


@dataclass
class TrainOutputs:
    """Where the train step writes."""

    model_dir: Path
    eval_data: Path
    training_data: Path
    reference_stats: Path
    reference_sample: Path
    tensorboard_dir: Path


@dataclass
class TrainResult:
    """A summary of the training run."""

    family: str
    classes: list[str]
    window_rows: int
    train_rows: int
    eval_rows: int
    history: dict[str, float] = field(default_factory=dict)
    hyperparameters: dict = field(default_factory=dict)


def assemble_window(
    batch: pa.Table, previous: pa.Table | None, label: str, window_rows: int
) -> tuple[pa.Table, int]:
    """Reference window then batch rows (labelled only), trimmed to the newest ``window_rows``.

    Returns:
        The window and how many of its last rows come from the batch.
    """
    batch = (
        batch.filter(pc.is_valid(batch.column(label)))
        if label in batch.column_names
        else batch.slice(0, 0)
    )
    parts = []
    if previous is not None:
        parts.append(previous.select(batch.column_names).cast(batch.schema))
    parts.append(batch)
    window = pa.concat_tables(parts)
    if window.num_rows > window_rows:
        window = window.slice(window.num_rows - window_rows)
    return window, min(batch.num_rows, window.num_rows)


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


def _previous_training_data(registry: Registry, version: int | None) -> pa.Table | None:
    if version is None:
        return None
    verified = registry.verified(version)
    return pq.read_table(verified.path / TRAINING_DATA)


def train(
    batch_path: str | Path,
    schema: schema_pb2.Schema,
    registry: Registry,
    deployed_version: int | None,
    settings: TrainingSettings,
    drift_settings: DriftSettings,
    outputs: TrainOutputs,
    source: str | None = None,
) -> TrainResult:
    """Trains a candidate and writes it with everything the registry will store beside it.

    Args:
        batch_path: The validated, labelled batch.
        schema: The schema the batch was validated against.
        registry: Source of the deployed version's training data.
        deployed_version: The production version the run compared against (None at first).
        settings: Model family and hyperparameters.
        drift_settings: Bins and sample size of the new reference statistics.
        outputs: Output locations.
        source: The batch's original location, named in error messages.

    Returns:
        A summary: rows used, classes, final training metrics.

    Raises:
        DataError: The window has no labelled rows or a single class.
    """
    kinds = feature_kinds(schema)
    label = kinds.label
    if label is None:
        raise DataError("the schema marks no label column", file=source or str(batch_path))
    batch = pq.read_table(batch_path)
    window, from_batch = assemble_window(
        batch, _previous_training_data(registry, deployed_version), label, settings.window_rows
    )
    labels = window.column(label).to_pylist()
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise DataError(
            f"the training window has {len(classes)} class(es) ({', '.join(classes)}); "
            "a classifier needs at least 2",
            file=source or str(batch_path),
            column=label,
        )
    first_batch_row = window.num_rows - from_batch
    held_out = first_batch_row + stratified_holdout(
        labels[first_batch_row:], settings.eval_fraction, settings.seed
    )
    mask = np.ones(window.num_rows, dtype=bool)
    mask[held_out] = False
    train_table, eval_table = (
        window.filter(pa.array(mask)),
        window.take(pa.array(held_out, pa.int64())),
    )
    log.info(
        "training window: %s rows (%s from this batch); training on %s, holding out %s",
        f"{window.num_rows:,}",
        f"{from_batch:,}",
        f"{train_table.num_rows:,}",
        f"{eval_table.num_rows:,}",
    )

    outputs.model_dir.mkdir(parents=True, exist_ok=True)
    outputs.tensorboard_dir.mkdir(parents=True, exist_ok=True)
    x = feature_arrays(train_table, list(kinds.numeric), list(kinds.categorical))
    y = np.asarray(
        [classes.index(v) for v in train_table.column(label).to_pylist()], dtype=np.int32
    )
    tuned: dict = {}
    if settings.family == "keras":
        from driftgate.components.train import keras_trainer

        keras_settings = settings.keras
        if settings.tuning.enabled:
            keras_settings, tuned = keras_trainer.tune(
                x, y, kinds, classes, keras_settings, settings.tuning, settings.seed
            )
        history, hyper, fmt = keras_trainer.train_and_export(
            x,
            y,
            kinds,
            classes,
            keras_settings,
            settings.seed,
            outputs.model_dir,
            outputs.tensorboard_dir,
            check_inputs=feature_arrays(eval_table, list(kinds.numeric), list(kinds.categorical)),
        )
    else:
        from driftgate.components.train import sklearn_trainer

        sklearn_settings = settings.sklearn
        if settings.tuning.enabled:
            sklearn_settings, tuned = sklearn_trainer.tune(
                x, y, kinds, sklearn_settings, settings.tuning, settings.seed
            )
        history, hyper, fmt = sklearn_trainer.train_and_save(
            x, y, kinds, sklearn_settings, settings.seed, outputs.model_dir
        )
    write_manifest(
        outputs.model_dir,
        {
            **_model_metadata(
                kinds, classes, settings, fmt, hyper, history, train_table, eval_table
            ),
            "tuning": tuned,
        },
    )

    pq.write_table(window, outputs.training_data)
    pq.write_table(eval_table, outputs.eval_data)
    stats, sample = reference_stats(
        lambda: window.to_batches(), kinds, drift_settings, seed=settings.seed
    )
    outputs.reference_stats.write_bytes(stats.to_proto("reference").SerializeToString())
    pq.write_table(sample, outputs.reference_sample)
    return TrainResult(
        settings.family,
        classes,
        window.num_rows,
        train_table.num_rows,
        eval_table.num_rows,
        history,
        hyper,
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
