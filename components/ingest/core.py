"""Reads a batch from a path or URI and writes it as one Parquet file."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.fs as pafs

from driftgate.data.batches import list_batches
from driftgate.data.dataspec import DataSettings
from driftgate.data.tabular.csvfile import consume_csv
from driftgate.data.tabular.files import Source, detect_format, resolve
from driftgate.data.tabular.parquetfile import iter_parquet, write_parquet
from driftgate.errors import DataError

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


def pick_batch(source_uri: str, processed: set[str]) -> str:
    """The batch a run takes: the file itself, or a directory's oldest unprocessed batch.

    In a directory, batches are complete files in name order (a writer renames a finished
    file into place; hidden, ``_``-prefixed and partial files are skipped, see
    ``driftgate/data/batches.py``). When every batch was processed, the newest is taken again and
    the gate skips it as already processed.
    """
    if "://" in source_uri or not Path(source_uri).is_dir():
        return source_uri
    batches = list_batches(source_uri)
    return next((b for b in batches if b not in processed), batches[-1])


def _fetch_hashed(source: Source, directory: Path) -> tuple[Source, str]:
    """Copies the batch into ``directory`` in one read, hashing the bytes as they pass."""
    digest = hashlib.sha256()
    local = directory / source.uri.rsplit("/", 1)[-1]
    with source.open() as stream, open(local, "wb") as copy:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
            copy.write(chunk)
    return Source(pafs.LocalFileSystem(), str(local), source.uri, source.size), digest.hexdigest()


def ingest(
    source_uri: str, dest: str | Path, data: DataSettings, processed: set[str] | None = None
) -> IngestResult:
    """Reads a batch into ``dest``, hashing it in the same single read of the source.

    Args:
        source_uri: Local path, PVC path, or ``gs://`` / ``s3://`` URI of a CSV or Parquet
            file, or a local directory of batch files (its oldest unprocessed one is taken).
        dest: Parquet file to write.
        data: Column and CSV settings.
        processed: Source URIs the batch ledger holds (skipped in a directory).

    Returns:
        A description of the batch, its SHA-256 included.

    Raises:
        DataError: The file is missing, empty, unreadable or malformed; nothing is written.
    """
    remote = resolve(pick_batch(source_uri, processed or set()))
    log.info("reading %s (%s bytes)", remote.uri, f"{remote.size:,}")

    def progress(rows: int) -> None:
        log.info("  %s rows", f"{rows:,}")

    with tempfile.TemporaryDirectory(dir=Path(dest).parent) as scratch:
        source, sha256 = _fetch_hashed(remote, Path(scratch))
        fmt = detect_format(source)
        try:
            if fmt == "parquet":
                rows, schema = write_parquet(iter_parquet(source), str(dest), progress)
            else:
                rows, schema = consume_csv(
                    source, data.csv_options(), lambda b: write_parquet(b, str(dest), progress)
                )
            if rows == 0:
                raise DataError(
                    "has a header but no data rows" if fmt == "csv" else "has no rows",
                    file=source.uri,
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
        sha256=sha256,
    )
