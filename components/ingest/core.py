"""Reads a batch from a path or URI and writes it as one Parquet file."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from driftgate.dataspec import DataSettings
from driftgate.errors import DataError
from driftgate.tabular import consume_csv, detect_format, iter_parquet, resolve, write_parquet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """What was read."""

    source: str
    format: str
    rows: int
    columns: list[str]
    bytes: int
    sha256: str

    def metadata(self) -> dict:
        """Artifact metadata (shown in the Kubeflow UI)."""
        return asdict(self)


def ingest(source_uri: str, dest: str | Path, data: DataSettings) -> IngestResult:
    """Reads ``source_uri`` (a file, or a directory whose newest file is taken) into ``dest``.

    Args:
        source_uri: Local path, PVC path, or ``gs://`` / ``s3://`` URI of a CSV or Parquet file.
        dest: Parquet file to write.
        data: Column and CSV settings.

    Returns:
        A description of the batch, its SHA-256 included.

    Raises:
        DataError: The file is missing, empty, unreadable or malformed; nothing is written.
    """
    source = resolve(source_uri)
    fmt = detect_format(source)
    log.info("reading %s (%s, %s bytes)", source.uri, fmt, f"{source.size:,}")

    def progress(rows: int) -> None:
        log.info("  %s rows", f"{rows:,}")

    try:
        if fmt == "parquet":
            rows, schema = write_parquet(iter_parquet(source), str(dest), progress)
        else:
            rows, schema = consume_csv(
                source, data.csv_options(), lambda b: write_parquet(b, str(dest), progress)
            )
        if rows == 0:
            raise DataError(
                "has a header but no data rows" if fmt == "csv" else "has no rows", file=source.uri
            )
    except BaseException:
        Path(dest).unlink(missing_ok=True)
        raise
    return IngestResult(
        source=source.uri,
        format=fmt,
        rows=rows,
        columns=list(schema.names) if schema else [],
        bytes=source.size,
        sha256=source.sha256(),
    )
