"""Writes the bad-input corpus in tests/data/bad/ from the penguins data.

Run it to regenerate the committed files: ``python tests/data/make_bad_corpus.py``. The one case
too large to commit (a multi-megabyte line) is written by :func:`huge_line` at test time.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from driftgate.pipelines.demo import penguins

HERE = Path(__file__).parent / "bad"


def _sample() -> pd.DataFrame:
    data = penguins()
    return data[data["year"] == 2009].head(40).reset_index(drop=True)


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def huge_line(path: Path, size: int = 5 << 20) -> Path:
    """A CSV whose second data row holds a ``size``-byte value in the ``island`` column."""
    frame = _sample()
    text = _csv(frame).splitlines()
    fields = text[2].split(",")
    fields[1] = "x" * size
    text[2] = ",".join(fields)
    path.write_text("\n".join(text) + "\n")
    return path


def write_corpus(target: Path = HERE) -> None:
    """Writes every committed case."""
    target.mkdir(parents=True, exist_ok=True)
    good = _sample()
    (target / "empty.csv").write_bytes(b"")
    (target / "header_only.csv").write_text(",".join(good.columns) + "\n")
    (target / "wrong_delimiter.csv").write_text(good.to_csv(index=False, sep=";"))
    (target / "binary_garbage.csv").write_bytes(bytes(range(256)) * 8)
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(good, preserve_index=False), buffer)
    (target / "truncated.parquet").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    latin = _csv(good.assign(island=good["island"].where(good.index != 3, "Bíscoe")))
    (target / "latin1_encoding.csv").write_bytes(latin.encode("latin-1"))
    (target / "missing_column.csv").write_text(_csv(good.drop(columns=["bill_length_mm"])))
    (target / "extra_column.csv").write_text(_csv(good.assign(observer="field team B")))
    wrong = good.astype({"bill_length_mm": object})
    wrong.loc[5, "bill_length_mm"] = "forty-one"
    (target / "wrong_dtype.csv").write_text(_csv(wrong))
    padded = good.astype({"bill_length_mm": object})
    padded.loc[2, "bill_length_mm"] = " 41.5"
    padded.loc[8, "bill_length_mm"] = "abc"
    (target / "padded_number_and_text.csv").write_text(_csv(padded))
    (target / "all_null_column.csv").write_text(_csv(good.assign(flipper_length_mm=None)))
    nan = good.astype({"body_mass_g": object})
    nan.loc[7, "body_mass_g"] = "nan"
    (target / "nan_value.csv").write_text(_csv(nan))
    inf = good.astype({"body_mass_g": object})
    inf.loc[9, "body_mass_g"] = "inf"
    (target / "inf_value.csv").write_text(_csv(inf))
    (target / "unseen_category.csv").write_text(
        _csv(good.assign(island=["Anvers"] * 8 + list(good["island"][8:])))
    )
    duplicated = good.copy()
    duplicated.columns = [*good.columns[:-1], "island"]
    (target / "duplicated_header.csv").write_text(_csv(duplicated))
    lines = _csv(good).splitlines()
    lines[6] += ",surplus"
    (target / "ragged_row.csv").write_text("\n".join(lines) + "\n")
    (target / "not_csv.json").write_text(good.head(3).to_json(orient="records"))


if __name__ == "__main__":
    write_corpus()
