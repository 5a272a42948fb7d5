"""Finding batch files: local paths or filesystem URIs, globs, and telling CSV from Parquet."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa
import pyarrow.fs as pafs

from driftgate.errors import DataError

if TYPE_CHECKING:
    from driftgate.data.tabular.csvfile import CsvOptions

PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class Source:
    """A file on some filesystem, resolved from a path or URI."""

    fs: pafs.FileSystem
    path: str
    uri: str
    size: int

    def open(self) -> BinaryIO:
        """Opens the file for sequential reading."""
        return self.fs.open_input_stream(self.path)

    def sha256(self) -> str:
        """Hashes the file's bytes."""
        digest = hashlib.sha256()
        with self.open() as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and path of a local path or a URI (``s3://``, ``gs://``, …).

    ``s3://`` honours the AWS environment: credentials, ``AWS_REGION`` and ``AWS_ENDPOINT_URL``
    (an S3-compatible server such as MinIO).
    """
    return pafs.FileSystem.from_uri(uri) if "://" in uri else (pafs.LocalFileSystem(), uri)


def _glob(pattern: str) -> re.Pattern:
    """A regular expression for a glob: ``*`` and ``?`` stay within a path segment, ``**`` not."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] in "*?":
            out.append("[^/]*" if pattern[i] == "*" else "[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def expand(patterns: list[str]) -> list[str]:
    """Files matching glob patterns (``*``, ``?``, ``[...]``, ``**``), local or remote, sorted.

    Args:
        patterns: Paths or URIs; a pattern without wildcards names one file.

    Returns:
        The matching files: URIs for URI patterns, absolute paths for local ones.
    """
    found = set()
    for pattern in patterns:
        if "://" not in pattern:
            pattern = os.path.abspath(pattern)
        fs, path = filesystem(pattern)
        prefix = pattern[: pattern.index("://") + 3] if "://" in pattern else ""
        parts = path.split("/")
        wild = next((i for i, part in enumerate(parts) if re.search(r"[*?[]", part)), None)
        if wild is None:
            if fs.get_file_info(path).is_file:
                found.add(pattern)
            continue
        selector = pafs.FileSelector(
            "/".join(parts[:wild]) or "/", allow_not_found=True, recursive=True
        )
        matcher = _glob(path)
        for info in fs.get_file_info(selector):
            if info.is_file and matcher.fullmatch(info.path):
                found.add(prefix + info.path)
    return sorted(found)


def resolve(uri: str) -> Source:
    """Resolves a local path or a filesystem URI (``gs://``, ``s3://``) to one file.

    A directory resolves to its newest data file by name, which suits date-stamped batch files.

    Args:
        uri: Path or URI of a file or of a directory of batch files.

    Returns:
        The resolved source.

    Raises:
        DataError: The path does not exist, or a directory holds no CSV or Parquet file.
    """
    try:
        fs, path = filesystem(uri)
        info = fs.get_file_info(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"cannot be opened: {exc}", file=uri) from exc
    if info.type == pafs.FileType.NotFound:
        raise DataError("does not exist", file=uri, hint="check the path or --batch")
    if info.type == pafs.FileType.Directory:
        files = [
            f
            for f in fs.get_file_info(pafs.FileSelector(path))
            if f.is_file and f.base_name.lower().endswith(PARQUET_SUFFIXES + CSV_SUFFIXES)
        ]
        if not files:
            raise DataError("is a directory with no .csv or .parquet file", file=uri)
        info = max(files, key=lambda f: f.base_name)
        uri = info.path if "://" not in uri else f"{uri.rstrip('/')}/{info.base_name}"
    return Source(fs=fs, path=info.path, uri=uri, size=info.size or 0)


def detect_format(source: Source) -> str:
    """Tells Parquet from CSV by the file's magic bytes, falling back to its suffix.

    Raises:
        DataError: The file is empty, binary but not Parquet, or named .parquet but not Parquet.
    """
    if source.size == 0:
        raise DataError("is empty (0 bytes)", file=source.uri)
    with source.open() as stream:
        head = stream.read(8192)
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    name = source.uri.rsplit("/", 1)[-1].lower()
    if name.endswith(PARQUET_SUFFIXES):
        raise DataError("is not a Parquet file (no PAR1 magic bytes)", file=source.uri)
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if suffix and f".{suffix}" not in CSV_SUFFIXES:
        raise DataError(
            f"is a .{suffix} file; driftgate reads CSV (.csv, .tsv, .txt) or Parquet (.parquet)",
            file=source.uri,
            hint="convert it to CSV or Parquet",
        )
    if b"\x00" in head:
        offset = head.index(b"\x00")
        raise DataError(
            f"holds binary data (a NUL byte at offset {offset}), not CSV text",
            file=source.uri,
            hint="pass a CSV or Parquet file",
        )
    return "csv"


def column_names(uri: str, options: CsvOptions) -> list[str]:
    """The column names of a CSV or Parquet file (a directory: its newest data file).

    Raises:
        DataError: The file cannot be found or read.
    """
    from driftgate.data.tabular.csvfile import read_csv_header  # the readers import this module
    from driftgate.data.tabular.parquetfile import data_columns, open_parquet

    source = resolve(uri)
    if detect_format(source) == "parquet":
        return data_columns(open_parquet(source))
    return read_csv_header(source, options)
