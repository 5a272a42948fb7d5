"""The training window: which labelled rows a candidate trains on, and the schema they make.

The window is the deployed version's training data followed by the new batch's labelled rows.
Each row carries the content hash of the batch it came from (``_driftgate_batch``), so a
strategy can drop rows from a concept that no longer holds:

- ``all``: every stored row (the newest ``rows`` of them);
- ``recent``: the rows of the newest ``batches`` batches, this one included;
- ``since_change``: the rows of the batches processed since the gate first saw the degradation
  or drift that opened it (this batch alone when it is the first); ``all`` when the gate
  opened for another reason (bootstrap, a new class, a schedule, ``--force``);
- ``auto``: trains one candidate per distinct window of the strategies above and keeps the one
  that scores best on the held-out rows of this batch; the extra training is in the record.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate.data.schema import FeatureKinds
from driftgate.settings.training import Strategy, WindowSettings

BATCH_COLUMN = "_driftgate_batch"


def labelled_rows(batch: pa.Table, label: str, batch_id: str) -> pa.Table:
    """The batch's rows that have a label, tagged with the batch's hash."""
    if label not in batch.column_names:
        batch = batch.slice(0, 0)
    else:
        batch = batch.filter(pc.is_valid(batch.column(label)))
    if BATCH_COLUMN in batch.column_names:
        batch = batch.drop_columns([BATCH_COLUMN])
    return batch.append_column(BATCH_COLUMN, pa.array([batch_id] * batch.num_rows, pa.string()))


def conform(rows: pa.Table, batch: pa.Table) -> pa.Table:
    """Stored rows in the batch's columns and types; untagged rows get an empty batch hash."""
    if BATCH_COLUMN not in rows.column_names:  # stored before rows were tagged
        rows = rows.append_column(BATCH_COLUMN, pa.array([""] * rows.num_rows, pa.string()))
    return rows.select(batch.column_names).cast(batch.schema)


def assemble_window(
    batch: pa.Table,
    previous: pa.Table | None,
    strategy: Strategy,
    settings: WindowSettings,
    episode: set[str] | None = None,
) -> tuple[pa.Table, int]:
    """Stored rows kept by the strategy, then the batch's rows, trimmed to ``settings.rows``.

    Args:
        batch: The new batch's labelled rows, from :func:`labelled_rows`.
        previous: The deployed version's training window (None at the first run).
        strategy: ``all``, ``recent`` or ``since_change``.
        settings: Batch and row limits.
        episode: Hashes of the batches seen since the gate first saw the change that opened
            it; None when no change opened it (``since_change`` then keeps every row).

    Returns:
        The window and how many of its last rows come from the batch.
    """
    parts = []
    if previous is not None:
        previous = conform(previous, batch)
        ids = previous.column(BATCH_COLUMN)
        if strategy == "recent":
            order = list(dict.fromkeys(ids.to_pylist()))
            keep = order[len(order) - (settings.batches - 1) :] if settings.batches > 1 else []
            previous = previous.filter(pc.is_in(ids, pa.array(keep, pa.string())))
        elif strategy == "since_change" and episode is not None:
            previous = previous.filter(pc.is_in(ids, pa.array(sorted(episode), pa.string())))
        parts.append(previous)
    parts.append(batch)
    window = pa.concat_tables(parts)
    if window.num_rows > settings.rows:
        window = window.slice(window.num_rows - settings.rows)
    return window, min(batch.num_rows, window.num_rows)


def window_schema(schema: schema_pb2.Schema, window: pa.Table, kinds: FeatureKinds):
    """The schema of the training window: each string domain widened to the values it holds.

    Stored with the pushed version, it lets the next runs validate against everything the
    deployed model has seen, new label classes and new categories included.
    """
    learned = schema_pb2.Schema()
    learned.CopyFrom(schema)
    for feature in learned.feature:
        if feature.name not in (*kinds.categorical, kinds.label) or not feature.HasField(
            "string_domain"
        ):
            continue
        if feature.name not in window.column_names:
            continue
        seen = set(feature.string_domain.value)
        values = pc.unique(pc.cast(window.column(feature.name), pa.string())).to_pylist()
        new = sorted(v for v in values if v is not None and v not in seen)
        feature.string_domain.value.extend(new)
    return learned
