"""Reading and writing Parquet in bounded batches, with errors for truncated or odd files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from driftgate.data.tabular.files import Source, resolve
from driftgate.errors import DataError


def write_parquet(
    batches: Iterator[pa.RecordBatch], dest: str, on_batch: Callable[[int], None] | None = None
) -> tuple[int, pa.Schema | None]:
    """Writes record batches to one Parquet file, one row group per batch.

    Returns:
        The number of rows written and the schema (None when there were no batches).
    """
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(dest, batch.schema)
            writer.write_batch(batch)
            rows += batch.num_rows
            if on_batch:
                on_batch(rows)
    finally:
        if writer is not None:
            writer.close()
    return rows, (writer.schema if writer is not None else None)


def open_parquet(source: Source, read_dictionary: list[str] | None = None) -> pq.ParquetFile:
    """Opens a Parquet file, checking its footer and column names.

    ``read_dictionary`` columns are read dictionary-encoded (half the decoding time of plain
    strings for the categorical columns statistics are computed on).

    Raises:
        DataError: The file is truncated or corrupt, or names a column twice.
    """
    try:
        # A small read buffer without pre-buffering keeps memory at about one row group; the
        # default reader buffers far ahead (1 GB for a 100 MB row group, measured).
        parquet = pq.ParquetFile(
            source.fs.open_input_file(source.path),
            buffer_size=1 << 20,
            pre_buffer=False,
            read_dictionary=read_dictionary,
        )
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"is not a readable Parquet file (truncated or corrupt): {str(exc).splitlines()[0]}",
            file=source.uri,
        ) from exc
    names = parquet.schema_arrow.names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError("the file names this column twice", file=source.uri, column=duplicates[0])
    return parquet


def data_columns(parquet: pq.ParquetFile) -> list[str]:
    """Column names without the index columns pandas writes (``__index_level_0__``)."""
    metadata = parquet.schema_arrow.metadata or {}
    pandas = json.loads(metadata.get(b"pandas", b"{}"))
    index = {c for c in pandas.get("index_columns", []) if isinstance(c, str)}
    return [n for n in parquet.schema_arrow.names if n not in index]


def iter_parquet(
    source: Source | str,
    columns: list[str] | None = None,
    batch_rows: int = 65536,
    dictionary: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Streams a Parquet file's rows in bounded batches (pandas index columns left out).

    Args:
        source: The file.
        columns: Columns to read (default: all data columns).
        batch_rows: Rows per batch.
        dictionary: Read text columns dictionary-encoded.

    Raises:
        DataError: A row group cannot be decoded.
    """
    if isinstance(source, str):
        source = resolve(source)
    parquet = open_parquet(source)
    if dictionary:
        text = [f.name for f in parquet.schema_arrow if pa.types.is_string(f.type)]
        parquet = open_parquet(source, read_dictionary=text)
    try:
        yield from parquet.iter_batches(
            batch_size=batch_rows, columns=columns or data_columns(parquet)
        )
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"a row group cannot be read (truncated or corrupt): {str(exc).splitlines()[0]}",
            file=source.uri,
        ) from exc
