"""Labels that arrive late: joined to their batch, scored on the model that served it.

The batch ledger remembers, for every processed batch, its source, the version that served it
and, when the batch had no labels, the gate's estimate of that version's performance. When the
labels arrive they are joined on ``data.key``; the served version is scored on the joined rows,
and the realised metrics are recorded next to the estimate. The joined, labelled batch is
written out so that a pipeline run on it lets the gate act on what is realised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from driftgate.components.check.performance import assess, score
from driftgate.components.ingest.core import ingest
from driftgate.data.dataspec import DataSettings
from driftgate.errors import ConfigError, DataError
from driftgate.registry.ledger import Ledger
from driftgate.settings.performance import PerformanceSettings


@dataclass(frozen=True)
class Realised:
    """The served version's realised metrics on a batch, against the gate's estimate."""

    sha256: str
    source: str
    version: int | None
    rows: int
    metrics: dict[str, float] | None
    degraded: list[str]
    estimate: dict | None
    output: Path


def find_entry(ledger: Ledger, batch: str) -> dict:
    """The ledger entry named by a hash prefix or a source file name.

    Raises:
        DataError: No entry, or more than one, matches.
    """
    found = [
        e
        for e in ledger.entries()
        if e["sha256"].startswith(batch) or e["source"].rsplit("/", 1)[-1] == batch
    ]
    if len(found) != 1:
        known = ", ".join(e["source"].rsplit("/", 1)[-1] for e in ledger.entries()[-5:]) or "none"
        raise DataError(
            f"{'matches no' if not found else 'matches more than one'} processed batch",
            file=f"--batch {batch}",
            hint=f"name a batch file or a hash prefix; the newest are {known}",
        )
    return found[0]


def join_labels(
    ledger: Ledger,
    batch: str,
    labels_uri: str,
    data: DataSettings,
    performance: PerformanceSettings,
    output: Path,
) -> Realised:
    """Joins late labels to a processed batch, scores the version that served it, records it.

    Args:
        ledger: The model's batch ledger.
        batch: Hash prefix or file name of the processed batch.
        labels_uri: CSV or Parquet file with ``data.key`` and ``data.label`` columns.
        data: Key and label columns.
        performance: Bounds that say whether the realised metrics are degraded.
        output: Where the labelled batch is written (Parquet).

    Raises:
        ConfigError: ``data.key`` is not set.
        DataError: A file lacks the key or label column, or no key matches.
    """
    if not data.key:
        raise ConfigError("data.key is not set", hint="name the column that identifies each row")
    entry = find_entry(ledger, batch)
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = ingest(entry["source"], output.with_suffix(".rows.parquet"), data)
    labels = ingest(labels_uri, output.with_suffix(".labels.parquet"), data)
    if data.key not in rows.columns:
        raise DataError(f"has no key column {data.key!r}", file=entry["source"])
    for column in (data.key, data.label):
        if column not in labels.columns:
            raise DataError(
                f"has no column {column!r}",
                file=labels_uri,
                hint="it needs data.key and data.label",
            )
    features = pq.read_table(output.with_suffix(".rows.parquet"))
    if data.label in features.column_names:
        features = features.drop_columns([data.label])
    truth = pq.read_table(output.with_suffix(".labels.parquet")).select([data.key, data.label])
    joined = features.join(truth, data.key, join_type="inner")
    for temporary in (".rows.parquet", ".labels.parquet"):
        output.with_suffix(temporary).unlink()
    if joined.num_rows == 0:
        raise DataError(f"no {data.key!r} matches a row of {entry['source']}", file=labels_uri)
    pq.write_table(joined, output)
    version = entry.get("deployed_version")
    metrics, degraded = None, []
    if version is not None:
        verified = ledger.registry.verified(version)
        metrics = score(verified, joined, data.label)
        degraded = assess(verified, metrics, joined.num_rows, performance)
    ledger.update(
        entry["sha256"],
        realised={"metrics": metrics, "degraded": degraded, "rows": joined.num_rows},
    )
    return Realised(
        entry["sha256"],
        entry["source"],
        version,
        joined.num_rows,
        metrics,
        degraded,
        entry.get("estimate"),
        output,
    )
