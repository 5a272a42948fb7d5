"""Trains a candidate on the reference window plus the new labelled batch.

The training window is the deployed version's training data (its reference window) followed by
the batch's labelled rows, as the window strategy chooses (``window.py``). A stratified share of
the batch is held out for evaluation: the deployed model never saw those rows, so candidate and
baseline are compared fairly on data from the current distribution.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate import __version__
from driftgate.components.train.settings import TrainingSettings
from driftgate.components.train.window import (
    assemble_window,
    labelled_rows,
    window_schema,
)
from driftgate.errors import DataError
from driftgate.estimation import calibration_error
from driftgate.integrity import verify, write_manifest
from driftgate.metrics import classification_metrics
from driftgate.registry import TRAINING_DATA, Registry
from driftgate.schema import FeatureKinds, feature_kinds, save_schema
from driftgate.scoring import feature_arrays, load_scorer
from driftgate.stats import DriftSettings, reference_stats

log = logging.getLogger(__name__)


@dataclass
class TrainOutputs:
    """Where the train step writes."""

    model_dir: Path
    eval_data: Path
    training_data: Path
    reference_stats: Path
    reference_sample: Path
    tensorboard_dir: Path
    schema: Path


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
    window: dict = field(default_factory=dict)


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
    batch_id: str = "",
    episode: set[str] | None = None,
) -> TrainResult:
    """Trains a candidate and writes it with everything the registry will store beside it.

    Args:
        batch_path: The validated, labelled batch.
        schema: The schema the batch was validated against.
        registry: Source of the deployed version's training data.
        deployed_version: The production version the run compared against (None at first).
        settings: Model family, hyperparameters and window.
        drift_settings: Bins and sample size of the new reference statistics.
        outputs: Output locations.
        source: The batch's original location, named in error messages.
        batch_id: The batch's content hash, stored with each of its rows in the window.
        episode: Hashes of the batches since the gate first saw the change that opened it.

    Returns:
        A summary: rows used, classes, final training metrics, the windows tried.

    Raises:
        DataError: The window has no labelled rows or a single class.
    """
    kinds = feature_kinds(schema)
    label = kinds.label
    if label is None:
        raise DataError("the schema marks no label column", file=source or str(batch_path))
    batch = labelled_rows(pq.read_table(batch_path), label, batch_id)
    previous = _previous_training_data(registry, deployed_version)
    outputs.tensorboard_dir.mkdir(parents=True, exist_ok=True)
    tried: list[dict] = []
    best: _Fitted | None = None
    best_strategy = ""
    for strategy in settings.window.candidates(episode):
        window, from_batch = assemble_window(batch, previous, strategy, settings.window, episode)
        if len({*_classes(window, label)}) < 2 and strategy != "all":
            window, from_batch = assemble_window(batch, previous, "all", settings.window)
            strategy = "all"
        if any(t["rows"] == window.num_rows for t in tried):
            continue
        single = settings.window.strategy != "auto"
        model_dir = outputs.model_dir if single else outputs.model_dir.with_name(f"_{strategy}")
        started = time.monotonic()
        fitted = _fit(window, from_batch, kinds, settings, model_dir, outputs, source)
        tried.append(
            {
                "strategy": strategy,
                "rows": window.num_rows,
                "held_out_accuracy": round(fitted.accuracy, 6),
                "seconds": round(time.monotonic() - started, 3),
            }
        )
        if best is None or fitted.accuracy > best.accuracy:
            best, best_strategy = fitted, strategy
    assert best is not None
    if best.model_dir != outputs.model_dir:
        shutil.rmtree(outputs.model_dir, ignore_errors=True)
        best.model_dir.rename(outputs.model_dir)
    for stale in outputs.model_dir.parent.glob("_*"):
        shutil.rmtree(stale, ignore_errors=True)
    summary = {"strategy": best_strategy, "rows": best.window.num_rows, "tried": tried}
    log.info("training window: %s", summary)
    pq.write_table(best.window, outputs.training_data)
    pq.write_table(best.eval_table, outputs.eval_data)
    save_schema(window_schema(schema, best.window, kinds), outputs.schema)
    stats, sample = reference_stats(
        lambda: best.window.to_batches(), kinds, drift_settings, seed=settings.seed
    )
    outputs.reference_stats.write_bytes(stats.to_proto("reference").SerializeToString())
    pq.write_table(sample, outputs.reference_sample)
    return TrainResult(
        settings.family,
        best.classes,
        best.window.num_rows,
        best.train_rows,
        best.eval_table.num_rows,
        best.history,
        best.hyperparameters,
        summary,
    )


def _classes(window: pa.Table, label: str) -> list[str]:
    return sorted(set(window.column(label).to_pylist()))


@dataclass
class _Fitted:
    """One trained candidate and the rows behind it."""

    model_dir: Path
    window: pa.Table
    eval_table: pa.Table
    classes: list[str]
    train_rows: int
    history: dict
    hyperparameters: dict
    accuracy: float


def _fit(
    window: pa.Table,
    from_batch: int,
    kinds: FeatureKinds,
    settings: TrainingSettings,
    model_dir: Path,
    outputs: TrainOutputs,
    source: str | None,
) -> _Fitted:
    """Splits the window, trains one model into ``model_dir`` and scores it on held-out rows."""
    label = kinds.label
    labels = window.column(label).to_pylist()
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise DataError(
            f"the training window has {len(classes)} class(es) ({', '.join(classes)}); "
            "a classifier needs at least 2",
            file=source,
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
        "window: %s rows (%s from this batch); training on %s, holding out %s",
        f"{window.num_rows:,}",
        f"{from_batch:,}",
        f"{train_table.num_rows:,}",
        f"{eval_table.num_rows:,}",
    )
    model_dir.mkdir(parents=True, exist_ok=True)
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
            model_dir,
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
            x, y, kinds, sklearn_settings, settings.seed, model_dir
        )
    metadata = _model_metadata(
        kinds, classes, settings, fmt, hyper, history, train_table, eval_table
    )
    metadata["tuning"] = tuned
    write_manifest(model_dir, metadata)
    probabilities = load_scorer(verify(model_dir), fast=True).predict_proba(eval_table)
    held_out_labels = eval_table.column(label).to_pylist()
    scores = classification_metrics(held_out_labels, probabilities, classes)
    metadata["training"]["calibration_error"] = round(
        calibration_error(probabilities, np.asarray([classes.index(v) for v in held_out_labels])),
        6,
    )
    write_manifest(model_dir, metadata)  # with the calibration the gate's estimate relies on
    return _Fitted(
        model_dir,
        window,
        eval_table,
        classes,
        train_table.num_rows,
        history,
        hyper,
        scores["accuracy"],
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
