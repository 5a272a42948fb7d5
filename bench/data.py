"""Reference and current datasets with documented shifts, written as Parquet in row groups.

Columns: 80 % numeric ``num_<i>``, 20 % categorical ``cat_<j>``. Numeric columns cycle through
four distributions (normal, lognormal, uniform, exponential); categorical ones draw from 20 values
with Zipf-like weights. The current dataset shifts a documented subset of columns:

| column pattern | shift in the current data | expected verdict |
| --- | --- | --- |
| ``num_i``, i % 10 == 0 | mean + 0.5 standard deviations | drift |
| ``num_i``, i % 10 == 1 | spread x 1.5 around the mean | drift |
| ``num_i``, i % 10 == 2 | mean + 0.05 standard deviations | no drift (small) |
| ``num_i``, i % 10 == 3 | mean + 0.15 standard deviations | drift (close to a 0.1 threshold) |
| ``num_i``, other i | none | no drift |
| ``cat_j``, j % 5 == 0 | the two most frequent values swap weights | drift |
| ``cat_j``, j % 5 == 1 | 3 % of the mass moves to a value unseen in the reference | borderline |
| ``cat_j``, other j | none | no drift |
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 131_072
VALUES = np.array([f"v{k:02d}" for k in range(20)])
WEIGHTS = 1.0 / np.arange(1, 21) ** 1.1
WEIGHTS /= WEIGHTS.sum()


def layout(m: int) -> tuple[list[str], list[str]]:
    """Numeric and categorical column names for ``m`` columns."""
    numeric = max(1, round(m * 0.8))
    return [f"num_{i}" for i in range(numeric)], [f"cat_{j}" for j in range(m - numeric)]


def _numeric(rng: np.random.Generator, i: int, n: int, current: bool) -> np.ndarray:
    kind = i % 4
    if kind == 0:
        x, mean, std = rng.normal(10.0, 2.0, n), 10.0, 2.0
    elif kind == 1:
        x = rng.lognormal(1.0, 0.5, n)
        mean, std = np.exp(1.125), np.sqrt((np.exp(0.25) - 1) * np.exp(2.25))
    elif kind == 2:
        x, mean, std = rng.uniform(0.0, 100.0, n), 50.0, 100.0 / np.sqrt(12)
    else:
        x, mean, std = rng.exponential(3.0, n), 3.0, 3.0
    if current:
        pattern = i % 10
        if pattern == 0:
            x = x + 0.5 * std
        elif pattern == 1:
            x = mean + (x - mean) * 1.5
        elif pattern == 2:
            x = x + 0.05 * std
        elif pattern == 3:
            x = x + 0.15 * std
    return x


def _categorical(rng: np.random.Generator, j: int, n: int, current: bool) -> pa.Array:
    weights, values = WEIGHTS.copy(), VALUES
    if current and j % 5 == 0:
        weights[[0, 1]] = weights[[1, 0]]
    if current and j % 5 == 1:
        weights = np.append(weights * 0.97, 0.03)
        values = np.append(VALUES, "unseen")
    codes = rng.choice(len(values), size=n, p=weights / weights.sum())
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(values)).cast(
        pa.string()
    )


def write(path: Path, n: int, m: int, current: bool, seed: int) -> Path:
    """Writes one dataset, a row group at a time (memory stays at one row group)."""
    numeric, categorical = layout(m)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, n, ROW_GROUP):
        rows = min(ROW_GROUP, n - start)
        columns = {name: _numeric(rng, i, rows, current) for i, name in enumerate(numeric)}
        columns |= {name: _categorical(rng, j, rows, current) for j, name in enumerate(categorical)}
        table = pa.table(columns)
        writer = writer or pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=ROW_GROUP)
    writer.close()
    tmp.rename(path)
    return path


def dataset(root: Path, n: int, m: int) -> tuple[Path, Path]:
    """Reference and current files for (n, m), written once and reused."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for which, current in (("reference", False), ("current", True)):
        path = root / f"{which}-{n}x{m}.parquet"
        if not path.exists():
            write(path, n, m, current, seed=zlib.crc32(f"{which}-{n}-{m}".encode()))
        paths.append(path)
    return paths[0], paths[1]
