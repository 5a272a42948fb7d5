import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftgate.data.tabular.csvfile import CsvOptions, consume_csv
from driftgate.data.tabular.files import detect_format, resolve
from driftgate.data.tabular.parquetfile import iter_parquet
from driftgate.errors import DataError


def read_csv(path, **options) -> pa.Table:
    return consume_csv(
        resolve(str(path)), CsvOptions(**options), lambda b: pa.Table.from_batches(list(b))
    )


def test_integers_widen_to_float_so_a_later_decimal_still_parses(tmp_path):
    rows = ["a,b"] + [f"{i},x" for i in range(50_000)] + ["2.5,y"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    table = read_csv(tmp_path / "t.csv", max_line_bytes=64 << 10)
    assert table.schema.field("a").type == pa.float64()
    assert table.column("a")[-1].as_py() == 2.5


def test_text_after_numeric_blocks_rereads_the_column_as_text(tmp_path):
    rows = ["a,b"] + [f"{i},{i}" for i in range(50_000)] + ["oops,1"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    table = read_csv(tmp_path / "t.csv", max_line_bytes=64 << 10)
    assert table.schema.field("a").type == pa.string()
    assert table.schema.field("b").type == pa.float64()
    assert table.num_rows == 50_001


def test_missing_markers_are_null_but_nan_and_inf_stay_values(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,NA\n2,nan\n3,inf\n4,\n")
    column = read_csv(tmp_path / "t.csv").column("b").to_pylist()
    assert column[0] is None and column[3] is None
    assert column[1] != column[1]  # NaN
    assert column[2] == float("inf")


def test_text_columns_stay_text_and_other_encodings_transcode(tmp_path):
    (tmp_path / "t.csv").write_bytes("label,city\n1,Málaga\n0,Köln\n".encode("latin-1"))
    table = read_csv(tmp_path / "t.csv", encoding="latin-1", text_columns=("label",))
    assert table.column("label").to_pylist() == ["1", "0"]
    assert table.column("city").to_pylist() == ["Málaga", "Köln"]


def test_a_directory_resolves_to_its_newest_file_by_name(tmp_path):
    for name in ("2026-01-01.csv", "2026-03-01.csv", "2026-02-01.csv", "notes.md"):
        (tmp_path / name).write_text("a\n1\n")
    assert resolve(str(tmp_path)).uri.endswith("2026-03-01.csv")


def test_parquet_is_detected_by_magic_bytes_and_streamed(tmp_path):
    path = tmp_path / "data.bin.csv"
    pq.write_table(pa.table({"x": list(range(10))}), path, row_group_size=3)
    source = resolve(str(path))
    assert detect_format(source) == "parquet"
    assert sum(b.num_rows for b in iter_parquet(source, batch_rows=4)) == 10


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"a;b;c\n1;2;3\n", "looks ';'-delimited"),
        (b"a,b\n1,2\n3,4,5\n", "line 3 has a different number of fields"),
        (b"a,,c\n1,2,3\n", "column 2 of the header has no name"),
    ],
)
def test_malformed_csv_is_reported_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        source = resolve(str(path))
        detect_format(source)
        read_csv(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)
