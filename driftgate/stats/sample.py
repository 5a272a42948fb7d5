"""A mergeable uniform row sample (bottom-k by random priority).

Each row gets a random priority; the sample keeps the k rows with the smallest ones. Merging two
samples keeps the k smallest of their union, which is exactly the sample of the combined data,
so the sample can be built per shard (a Beam worker, a Parquet row group) and merged. That holds
only if the shards draw independent priorities: samplers that are merged need distinct seeds
(``seed=None`` draws one from the operating system).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


class RowSampler:
    """Keeps a uniform sample of at most ``capacity`` rows of a stream of record batches."""

    def __init__(self, capacity: int = 50_000, seed: int | None = 0) -> None:
        self.capacity = capacity
        self._rng = np.random.default_rng(seed)
        self._priorities = np.empty(0)
        self._rows: pa.Table | None = None

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Offers every row of ``batch`` to the sample."""
        if batch.num_rows == 0:
            return
        priorities = self._rng.random(batch.num_rows)
        if self._priorities.size == self.capacity and priorities.min() >= self._priorities.max():
            return
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self._keep(priorities, table)

    def merge(self, other: RowSampler) -> RowSampler:
        """Folds another sample of disjoint rows into this one."""
        if other._rows is not None:
            self._keep(other._priorities, other._rows)
        return self

    def _keep(self, priorities: np.ndarray, table: pa.Table) -> None:
        if self._rows is not None:
            table = pa.concat_tables([self._rows, table.select(self._rows.column_names)])
            priorities = np.concatenate([self._priorities, priorities])
        if priorities.size > self.capacity:
            keep = np.sort(np.argpartition(priorities, self.capacity - 1)[: self.capacity])
            table, priorities = table.take(keep), priorities[keep]
        self._rows, self._priorities = table.combine_chunks(), priorities

    @property
    def rows(self) -> pa.Table | None:
        """The sampled rows (None before any row was offered)."""
        return self._rows
