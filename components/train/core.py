"""Trains a candidate on the reference window plus the new labelled batch.

The training window is the deployed version's training data (its reference window), then the
labelled rows of the batches it served without retraining (``driftgate.registry.kept_rows``),
then the batch's labelled rows, as the window strategy chooses (``window.py``). A stratified
share of the batch is held out for evaluation: the deployed model never saw those rows, so
candidate and baseline are compared fairly on data from the current distribution.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate.components.train.fit import Fitted, fit
from driftgate.components.train.window import (
    BATCH_COLUMN,
    assemble_window,
    conform,
    labelled_rows,
    window_schema,
)
from driftgate.data.schema import feature_kinds, save_schema
from driftgate.errors import DataError
from driftgate.models import tasks
from driftgate.registry import kept_rows
from driftgate.registry.ledger import Ledger
from driftgate.registry.store import TRAINING_DATA, Registry
from driftgate.settings.training import TrainingSettings
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
    mode_used: str = "scratch"  # or warm_start
    mode_reason: str = ""
    seconds: float = 0.0  # fitting and scoring every window tried


def _previous_rows(
    registry: Registry, version: int | None, batch: pa.Table, label: str
) -> pa.Table | None:
    """The deployed version's training rows, then the kept rows of the batches it served."""
    if version is None:
        return None
    parts = [conform(pq.read_table(registry.verified(version).path / TRAINING_DATA), batch)]
    current = batch.column(BATCH_COLUMN)[0].as_py() if batch.num_rows else ""
    for sha256, table in kept_rows.unseen_tables(Ledger(registry), version, current):
        rows = labelled_rows(table, label, sha256)
        try:
            parts.append(conform(rows, batch))
        except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            log.warning("kept rows of batch %s do not fit the batch: %s", sha256[:12], exc)
    if len(parts) > 1:
        kept = sum(t.num_rows for t in parts[1:])
        log.info("training window: %d kept rows of batches not trained on", kept)
    return pa.concat_tables(parts)


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
        A summary: rows used, classes, final training metrics, the windows tried, the mode
        used (``training.mode``) and why, and the seconds it took.

    Raises:
        DataError: The window has no labelled rows or a single class.
    """
    kinds = feature_kinds(schema)
    label = kinds.label
    if label is None:
        raise DataError("the schema marks no label column", file=source or str(batch_path))
    task = tasks.task_of(schema)
    batch = labelled_rows(pq.read_table(batch_path), label, batch_id)
    previous = _previous_rows(registry, deployed_version, batch, label)
    outputs.tensorboard_dir.mkdir(parents=True, exist_ok=True)
    tried: list[dict] = []
    best: Fitted | None = None
    best_strategy = ""
    for strategy in settings.window.candidates(episode):
        window, from_batch = assemble_window(batch, previous, strategy, settings.window, episode)
        one_class = task == tasks.CLASSIFICATION and len(_classes(window, label)) < 2
        if one_class and strategy != "all":
            window, from_batch = assemble_window(batch, previous, "all", settings.window)
            strategy = "all"
        if any(t["rows"] == window.num_rows for t in tried):
            continue
        single = settings.window.strategy != "auto"
        model_dir = outputs.model_dir if single else outputs.model_dir.with_name(f"_{strategy}")
        started = time.monotonic()
        deployed = registry.verified(deployed_version) if deployed_version else None
        fitted = fit(
            window,
            from_batch,
            kinds,
            task,
            settings,
            model_dir,
            outputs.tensorboard_dir,
            deployed,
            source,
        )
        tried.append(
            {
                "strategy": strategy,
                "rows": window.num_rows,
                f"held_out_{tasks.PRIMARY[task]}": round(fitted.primary, 6),
                "seconds": round(time.monotonic() - started, 3),
            }
        )
        if best is None or fitted.quality > best.quality:
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
        best.mode.used,
        best.mode.reason,
        round(sum(t["seconds"] for t in tried), 3),
    )


def _classes(window: pa.Table, label: str) -> list[str]:
    return sorted(set(window.column(label).to_pylist()))
