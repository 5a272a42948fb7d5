"""One scheduled run of a replay, as ``replay.json`` stores it, and the batches it works on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate.components.check.core import CheckResult


@dataclass
class BatchRecord:
    """What one scheduled run did (one entry of ``replay.json``)."""

    batch: str
    decision: str  # bootstrap | retrain | skip | blocked
    reason: str
    deployed_version: int | None
    served_version: int | None
    metrics: dict[str, float] | None = None
    train_seconds: float = 0.0
    train_mode: str | None = None  # scratch | warm_start: how training.mode was honoured
    blessed: bool | None = None
    pushed: bool = False
    drift: dict | None = None
    estimate: dict | None = None  # without labels: the served model's estimated metrics
    alerts: list[str] = field(default_factory=list)  # kinds of the alerts the run sends
    labels_from: str | None = None  # with a label delay: whose labels the gate saw
    deferred: bool = False  # the gate wanted a retrain but the GPU budget said wait
    expected_gain: list[float] | None = None  # the predicted gain: central, low, high
    seconds: float = 0.0


def largest_drift(checked: CheckResult) -> dict | None:
    """The most drifted feature by Jensen–Shannon divergence, and every drifted feature."""
    if checked.drift is None or not checked.drift.features:
        return None
    top = max(checked.drift.features, key=lambda f: f.metrics["js"])
    return {
        "feature": top.name,
        "metric": "js",
        "value": round(float(top.metrics["js"]), 6),
        "drifted": list(checked.drift.drifted_features),
    }


@dataclass
class Labelled:
    """A batch whose labels have arrived, validated and ready to score and train on."""

    path: Path
    source: str
    sha256: str
    schema: schema_pb2.Schema
    rows: int
    new_classes: list[str]


def without_column(source: Path, column: str, dest: Path) -> Path:
    """A copy of ``source`` without ``column`` (the batch the gate sees under a label delay)."""
    table = pq.read_table(source)
    if column in table.column_names:
        table = table.drop_columns([column])
    pq.write_table(table, dest)
    return dest
