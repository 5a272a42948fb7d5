"""Reading CSV as a stream of blocks, with errors that name the line, column and value.

Memory stays bounded by the block size whatever the number of rows. Types are inferred from the
first block; integer columns are widened to float (a later ``2.5`` would otherwise fail the
read), and a column whose later rows stop matching the inferred type is re-read as text so that
validation can name the offending value and row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from driftgate.data.tabular.files import Source
from driftgate.errors import DataError, quote

# Cells read as missing. "nan" and "inf" are deliberately absent: they parse as float values,
# and validation rejects them as such instead of silently counting them as missing.
NULL_VALUES = ["", "NA", "N/A", "NULL", "null", "None", "#N/A"]
_COLUMN_ERROR = re.compile(r"In CSV column #(\d+): (.*)$", re.S)
T = TypeVar("T")


@dataclass(frozen=True)
class CsvOptions:
    """How CSV text is parsed.

    Attributes:
        delimiter: Field separator.
        encoding: Text encoding of the file; transcoded to UTF-8 while reading.
        max_line_bytes: Longest accepted line; longer lines are reported as errors.
        text_columns: Columns always read as text (for example the label).
    """

    delimiter: str = ","
    encoding: str = "utf8"
    max_line_bytes: int = 4 << 20
    text_columns: tuple[str, ...] = ()


def read_csv_header(source: Source, options: CsvOptions) -> list[str]:
    """Reads and checks the header line: encoding, delimiter, empty and duplicate names."""
    with source.open() as stream:
        raw = stream.read(options.max_line_bytes + 1)
    first = raw.split(b"\n", 1)[0].rstrip(b"\r")
    if len(first) > options.max_line_bytes:
        raise DataError(
            f"line 1 is longer than {options.max_line_bytes} bytes (data.max_line_bytes)",
            file=source.uri,
            hint="is the file missing line breaks?",
        )
    try:
        text = first.decode(options.encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"the header is not valid {options.encoding} text ({exc.reason} at byte {exc.start})",
            file=source.uri,
            hint="re-encode the file as UTF-8 or set data.encoding",
        ) from exc
    names = next(csv.reader([text], delimiter=options.delimiter), [])
    if not names or names == [""]:
        raise DataError("has an empty header line", file=source.uri)
    if len(names) == 1:
        for candidate in (";", "\t", "|", ","):
            if candidate != options.delimiter and candidate in names[0]:
                raise DataError(
                    f"the header is a single column {names[0][:60]!r}; the file looks "
                    f"{candidate!r}-delimited, not {options.delimiter!r}-delimited",
                    file=source.uri,
                    hint=f"set data.delimiter: {candidate!r}",
                )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise DataError(f"column {position} of the header has no name", file=source.uri)
        if name in seen:
            raise DataError(
                f"the header names this column twice (positions {seen[name]} and {position})",
                file=source.uri,
                column=name,
            )
        seen[name] = position
    return names


def _csv_reader(
    source: Source,
    options: CsvOptions,
    column_types: dict[str, pa.DataType] | None,
    include_columns: list[str] | None = None,
) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        source.open(),
        read_options=pacsv.ReadOptions(
            block_size=options.max_line_bytes, encoding=options.encoding
        ),
        parse_options=pacsv.ParseOptions(delimiter=options.delimiter),
        convert_options=pacsv.ConvertOptions(
            null_values=NULL_VALUES,
            strings_can_be_null=True,
            column_types=column_types or {},
            include_columns=include_columns or [],
        ),
    )


def _first_long_line(source: Source, limit: int) -> int | None:
    """Returns the number of the first line longer than ``limit`` bytes, if any."""
    line, length = 1, 0
    with source.open() as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            start = 0
            while (newline := chunk.find(b"\n", start)) >= 0:
                if length + newline - start > limit:
                    return line
                line, length, start = line + 1, 0, newline + 1
            length += len(chunk) - start
            if length > limit:
                return line
    return None


def _first_ragged_line(source: Source, options: CsvOptions, fields: int) -> int | None:
    """Line number of the first row whose field count differs from the header's."""
    with source.open() as stream:
        text = io.TextIOWrapper(stream, encoding=options.encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=options.delimiter)
        for row in reader:
            if row and len(row) != fields:
                return reader.line_num
    return None


def _csv_error(exc: pa.ArrowInvalid, source: Source, names: list[str], options: CsvOptions):
    """Turns a pyarrow CSV error into a DataError, or returns the column to re-read as text."""
    message = str(exc)
    column_error = _COLUMN_ERROR.search(message)
    if column_error:
        column = names[int(column_error.group(1))]
        detail = column_error.group(2)
        if "invalid UTF8" in detail:
            return DataError(
                f"text is not valid UTF-8 (read as {options.encoding})",
                file=source.uri,
                column=column,
                hint="re-encode the file as UTF-8 or set data.encoding",
            )
        return column
    if "straddling object" in message or "straddles" in message:
        line = _first_long_line(source, options.max_line_bytes)
        where = f"line {line}" if line else "a line"
        return DataError(
            f"{where} is longer than the {options.max_line_bytes:,}-byte limit "
            "(data.max_line_bytes)",
            file=source.uri,
            hint="is the file missing line breaks, or is a quote left open?",
        )
    if "Expected" in message and "columns" in message:
        counts = message.split(":")[1].strip()
        snippet = quote(message.split(":", 2)[-1].strip(), 60)
        line = _first_ragged_line(source, options, len(names))
        where = f"line {line}" if line else "a row"
        return DataError(
            f"{where} has a different number of fields than the header ({counts}): {snippet}",
            file=source.uri,
            hint="quote values that contain the delimiter",
        )
    return DataError(f"cannot be parsed as CSV: {message.splitlines()[0]}", file=source.uri)


def _planned_types(
    schema: pa.Schema, options: CsvOptions, source: Source
) -> dict[str, pa.DataType]:
    """Column types for the whole file, from the types pyarrow inferred on the first block."""
    plan: dict[str, pa.DataType] = {}
    for field in schema:
        if field.name in options.text_columns or pa.types.is_null(field.type):
            plan[field.name] = pa.string()
        elif pa.types.is_integer(field.type):
            plan[field.name] = pa.float64()
        elif pa.types.is_binary(field.type):
            raise DataError(
                f"text is not valid UTF-8 (read as {options.encoding})",
                file=source.uri,
                column=field.name,
                hint="re-encode the file as UTF-8 or set data.encoding",
            )
        else:
            plan[field.name] = field.type
    return plan


def consume_csv(
    source: Source, options: CsvOptions, consume: Callable[[Iterator[pa.RecordBatch]], T]
) -> T:
    """Streams a CSV file into ``consume``, restarting it if a column changes type mid-file.

    ``consume`` must start from scratch each time it is called (for example by truncating the
    file it writes): when a later block holds text in a column inferred as numeric, that column
    is re-read as text from the beginning so that validation can name the offending value.

    Raises:
        DataError: The file cannot be parsed; the message names the line or column.
    """
    names = read_csv_header(source, options)
    plan: dict[str, pa.DataType] | None = None
    while True:
        try:
            reader = _csv_reader(source, options, plan)
            if plan is None:
                plan = _planned_types(reader.schema, options, source)
                reader = _csv_reader(source, options, plan)
            return consume(_checked_lengths(reader, source, options.max_line_bytes))
        except pa.ArrowInvalid as exc:
            outcome = _csv_error(exc, source, names, options)
            if isinstance(outcome, DataError):
                raise outcome from exc
            if plan is None or plan.get(outcome) == pa.string():
                raise DataError(
                    f"cannot be parsed: {str(exc).splitlines()[0]}", file=source.uri, column=outcome
                ) from exc
            plan[outcome] = pa.string()


def iter_csv_typed(
    source: Source, options: CsvOptions, column_types: dict[str, pa.DataType]
) -> Iterator[pa.RecordBatch]:
    """Streams the given columns of a CSV file with fixed types (no inference, no restarts).

    Raises:
        DataError: A value does not convert to its column's type, or the file is malformed.
    """
    names = read_csv_header(source, options)
    missing = [c for c in column_types if c not in names]
    if missing:
        raise DataError("is missing from the file", file=source.uri, column=missing[0])
    reader = _csv_reader(source, options, column_types, list(column_types))
    try:
        yield from _checked_lengths(reader, source, options.max_line_bytes)
    except pa.ArrowInvalid as exc:
        outcome = _csv_error(exc, source, names, options)
        if isinstance(outcome, DataError):
            raise outcome from exc
        detail = str(exc).splitlines()[0].split(": ", 1)[-1]
        raise DataError(
            f"cannot be read as {column_types[outcome]}: {detail}", file=source.uri, column=outcome
        ) from exc


def _checked_lengths(
    batches: Iterator[pa.RecordBatch], source: Source, limit: int
) -> Iterator[pa.RecordBatch]:
    """Passes batches through, rejecting any text value longer than ``limit`` bytes."""
    offset = 0
    for batch in batches:
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if not pa.types.is_string(column.type):
                continue
            lengths = pc.binary_length(column)
            longest = pc.max(lengths).as_py()
            if longest is not None and longest > limit:
                row = offset + pc.index(lengths, longest).as_py() + 1
                raise DataError(
                    f"row {row} holds a {longest:,}-byte value, over the {limit:,}-byte limit "
                    "(data.max_line_bytes)",
                    file=source.uri,
                    column=name,
                    hint="is a quote left open, or are line breaks missing?",
                )
        offset += batch.num_rows
        yield batch
