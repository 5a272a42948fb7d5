"""Finds batch files: a file, a directory or a glob, local or on an object store, in name order.

Hidden files (``.name``), marker and metadata files (``_SUCCESS``, ``_name``) and files that are
still being written (``.tmp``, ``.part``, ``.inprogress`` and similar suffixes) are never batches.
Batch files are ordered by file name, so date-stamped names (``2026-11-23.parquet``) replay in
time order.
"""

from __future__ import annotations

import glob
import os

import pyarrow as pa
import pyarrow.fs as pafs

from driftgate.data.tabular.files import expand, filesystem
from driftgate.errors import DataError

DATA_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt")
PARTIAL_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".inprogress", ".crdownload", "~")


def is_batch_name(name: str) -> bool:
    """Whether a file name can be a complete batch (data suffix, not hidden or partial)."""
    lower = name.lower()
    return (
        not name.startswith((".", "_"))
        and lower.endswith(DATA_SUFFIXES)
        and not lower.endswith(PARTIAL_SUFFIXES)
    )


def _remote(pattern: str) -> list[str]:
    """Lists an object-store URI: one file, a "directory" prefix, or a glob (as ``expand``)."""
    try:
        if glob.has_magic(pattern):
            return expand([pattern])
        fs, path = filesystem(pattern)
        if fs.get_file_info(path).type == pafs.FileType.File:
            return [pattern]
        entries = fs.get_file_info(pafs.FileSelector(path.rstrip("/"), allow_not_found=True))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"cannot be listed: {exc}", file=pattern) from exc
    scheme = pattern.split("://", 1)[0]
    return [f"{scheme}://{e.path}" for e in entries if e.is_file]


def list_batches(pattern: str) -> list[str]:
    """The batch files a path, directory or glob names, sorted by file name.

    Args:
        pattern: A file, a directory (its batch files), or a glob such as ``data/*.csv``;
            ``s3://`` and ``gs://`` URIs are listed through pyarrow's filesystems.

    Returns:
        Paths or URIs, in name order.

    Raises:
        DataError: Nothing that can be a batch matches.
    """
    if "://" in pattern:
        found = _remote(pattern)
    elif os.path.isdir(pattern):
        found = [os.path.join(pattern, name) for name in os.listdir(pattern)]
        found = [path for path in found if os.path.isfile(path)]
    elif os.path.isfile(pattern):
        return [pattern]
    else:
        found = [path for path in glob.glob(pattern) if os.path.isfile(path)]
    batches = sorted(
        (p for p in found if is_batch_name(p.rsplit("/", 1)[-1])),
        key=lambda p: (p.rsplit("/", 1)[-1], p),
    )
    if not batches:
        raise DataError(
            "matches no CSV or Parquet batch file",
            file=pattern,
            hint="pass a directory, a file or a quoted glob such as 'batches/*.csv'",
        )
    return batches
