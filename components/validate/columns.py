"""Running counts of one column of the batch, updated chunk by chunk as it streams."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
EXAMPLES = 3


@dataclass
class ColumnCounts:
    """Running counts for one column of the batch."""

    rows: int = 0
    missing: int = 0
    nan: int = 0
    inf: int = 0
    not_numbers: list[tuple[int, str]] = field(default_factory=list)
    not_number_count: int = 0
    unseen: dict[str, int] = field(default_factory=dict)
    out_of_range: int = 0
    out_of_range_example: tuple[int, float] | None = None
    missing_rows: list[int] = field(default_factory=list)


def first_rows(mask: pa.Array, offset: int, limit: int = EXAMPLES) -> list[int]:
    """The 1-based batch rows of the first ``limit`` set positions of a chunk's mask."""
    positions = np.flatnonzero(mask.to_numpy(zero_copy_only=False))[:limit]
    return [offset + int(p) + 1 for p in positions]


def as_numbers(column: pa.Array, stats: ColumnCounts, offset: int) -> pa.Array:
    """Casts a column to float64, recording text that is not a number."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return pc.cast(column, pa.float64())
    if pa.types.is_boolean(column.type):
        return pc.cast(pc.cast(column, pa.int8()), pa.float64())
    text = pc.cast(column, pa.string())
    ok = pc.match_substring_regex(text, NUMBER)
    bad = pc.and_(pc.invert(pc.fill_null(ok, True)), pc.is_valid(text))
    bad_count = pc.sum(bad).as_py() or 0
    if bad_count:
        stats.not_number_count += bad_count
        if len(stats.not_numbers) < EXAMPLES:
            for row in first_rows(bad, offset):
                stats.not_numbers.append((row, text[row - offset - 1].as_py()))
    numbers = pc.utf8_trim_whitespace(pc.if_else(bad, pa.scalar(None, pa.string()), text))
    return pc.cast(numbers, pa.float64())  # NUMBER allows the padding that the cast refuses


def check_numbers(
    values: pa.Array, stats: ColumnCounts, bounds: tuple[float, float] | None, offset: int
) -> None:
    """Counts NaN, infinite and out-of-bounds values of a float chunk."""
    x = values.to_numpy(zero_copy_only=False)
    valid = ~np.isnan(x) if values.null_count else np.ones(x.size, bool)
    stats.nan += int(np.isnan(x).sum()) - values.null_count
    stats.inf += int(np.isinf(x).sum())
    if bounds is not None:
        outside = valid & np.isfinite(x) & ((x < bounds[0]) | (x > bounds[1]))
        count = int(outside.sum())
        if count:
            stats.out_of_range += count
            if stats.out_of_range_example is None:
                first = int(np.flatnonzero(outside)[0])
                stats.out_of_range_example = (offset + first + 1, float(x[first]))


def check_categories(values: pa.Array, domain: pa.Array | None, stats: ColumnCounts) -> None:
    """Counts the values of a text chunk outside its domain (if it has one)."""
    if domain is None:
        return
    unseen = pc.and_(pc.invert(pc.is_in(values, value_set=domain)), pc.is_valid(values))
    if pc.any(unseen).as_py():
        counts = pc.value_counts(pc.filter(values, unseen))
        for value, count in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            stats.unseen[value] = stats.unseen.get(value, 0) + count


def fmt_rows(rows: list[int], total: int) -> str:
    """Example row numbers in words, with an ellipsis when there are more."""
    shown = ", ".join(map(str, rows))
    return f"row {shown}" if total == 1 else f"rows {shown}{', …' if total > len(rows) else ''}"
