import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftgate.components.validate.core import validate
from driftgate.components.validate.result import raise_if_blocked
from driftgate.data.dataspec import DataSettings
from driftgate.data.schema import feature_kinds, get_feature
from driftgate.errors import DataError
from driftgate.settings.validation import ValidationSettings

DATA = DataSettings(label="species", exclude=["year"])


def write(tmp_path, frame, name="batch.parquet"):
    path = tmp_path / name
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def test_first_run_infers_a_schema_with_kinds_domains_and_the_label(tmp_path, penguins_frame):
    batch = write(tmp_path, penguins_frame[penguins_frame.year <= 2008])
    result = validate(batch, tmp_path / "v.parquet", DATA, ValidationSettings())
    kinds = feature_kinds(result.schema)
    assert result.schema_inferred and not result.blocking
    assert kinds.label == "species"
    assert set(kinds.numeric) == {
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
    }
    assert set(kinds.categorical) == {"island", "sex"}
    assert list(get_feature(result.schema, "island").string_domain.value) == [
        "Biscoe",
        "Dream",
        "Torgersen",
    ]
    assert "year" not in pq.read_schema(tmp_path / "v.parquet").names


def test_validated_batch_casts_numeric_text_and_keeps_schema_order(tmp_path, penguins_frame):
    first = validate(
        write(tmp_path, penguins_frame), tmp_path / "v1.parquet", DATA, ValidationSettings()
    )
    frame = penguins_frame.dropna().head(20).astype({"body_mass_g": str})
    result = validate(
        write(tmp_path, frame, "b2.parquet"),
        tmp_path / "v2.parquet",
        DATA,
        ValidationSettings(),
        first.schema,
    )
    table = pq.read_table(tmp_path / "v2.parquet")
    assert not result.blocking
    assert table.schema.field("body_mass_g").type == pa.float64()
    assert table.column_names == [f.name for f in first.schema.feature]


def test_unseen_categories_within_the_allowed_share_only_warn(tmp_path, penguins_frame):
    first = validate(
        write(tmp_path, penguins_frame), tmp_path / "v1.parquet", DATA, ValidationSettings()
    )
    frame = penguins_frame.head(100).copy()
    frame.loc[0, "island"] = "Anvers"
    lenient = ValidationSettings(max_unseen_fraction=0.05)
    result = validate(
        write(tmp_path, frame, "b.parquet"), tmp_path / "v.parquet", DATA, lenient, first.schema
    )
    assert [a.reason for a in result.anomalies] == ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]
    assert not result.blocking
    strict = validate(
        write(tmp_path, frame, "c.parquet"),
        tmp_path / "w.parquet",
        DATA,
        ValidationSettings(max_unseen_fraction=0.0),
        first.schema,
    )
    with pytest.raises(DataError, match=r"column 'island': 1 value\(s\) \(1.0% of rows\)"):
        raise_if_blocked(strict, "batch.csv")
    renamed = frame.assign(island="Anvers")  # every row: an upstream rename, not a new island
    default = validate(
        write(tmp_path, renamed, "d.parquet"), tmp_path / "x.parquet", DATA, ValidationSettings(),
        first.schema,
    )  # fmt: skip
    with pytest.raises(DataError, match=r"over validation\.max_unseen_fraction=0\.1"):
        raise_if_blocked(default, "batch.csv")


def test_a_new_label_class_is_a_reason_to_retrain_not_a_blocking_anomaly(tmp_path, penguins_frame):
    first = validate(
        write(tmp_path, penguins_frame), tmp_path / "v1.parquet", DATA, ValidationSettings()
    )
    frame = penguins_frame.head(100).copy()
    frame.loc[[3, 7, 9, 11], "species"] = "fog"
    result = validate(
        write(tmp_path, frame, "b.parquet"), tmp_path / "v.parquet", DATA, ValidationSettings(),
        first.schema,
    )  # fmt: skip
    assert not result.blocking and result.new_classes == ["fog"] and result.has_labels
    assert "new class(es) in the labels: 'fog' (4x)" in result.anomalies[0].message


def test_missing_labels_make_a_batch_unlabelled_or_are_left_out(tmp_path, penguins_frame):
    first = validate(
        write(tmp_path, penguins_frame), tmp_path / "v1.parquet", DATA, ValidationSettings()
    )
    none = penguins_frame.head(50).assign(species=None)
    result = validate(
        write(tmp_path, none, "n.parquet"), tmp_path / "n.out", DATA, ValidationSettings(),
        first.schema,
    )  # fmt: skip
    assert not result.blocking and not result.has_labels
    assert "checked as unlabelled" in result.anomalies[0].message
    some = penguins_frame.head(50).copy()
    some.loc[[1, 2], "species"] = None
    partial = validate(
        write(tmp_path, some, "s.parquet"), tmp_path / "s.out", DATA, ValidationSettings(),
        first.schema,
    )  # fmt: skip
    assert not partial.blocking and partial.has_labels
    assert "2 row(s) have no label" in partial.anomalies[0].message


def test_configured_ranges_block_values_outside_them(tmp_path, penguins_frame):
    settings = ValidationSettings(ranges={"body_mass_g": (2000, 7000)})
    first = validate(write(tmp_path, penguins_frame), tmp_path / "v1.parquet", DATA, settings)
    frame = penguins_frame.head(30).copy()
    frame.loc[4, "body_mass_g"] = 42000.0
    result = validate(
        write(tmp_path, frame, "b.parquet"), tmp_path / "v.parquet", DATA, settings, first.schema
    )
    with pytest.raises(DataError, match=r"outside \[2000.0, 7000.0\], e.g. 42000.0 at row 5"):
        raise_if_blocked(result, "batch.csv")


def test_a_first_batch_with_one_label_class_is_rejected(tmp_path, penguins_frame):
    adelie = penguins_frame[penguins_frame.species == "Adelie"]
    result = validate(write(tmp_path, adelie), tmp_path / "v.parquet", DATA, ValidationSettings())
    with pytest.raises(DataError, match="column 'species': the first batch has 1 label class"):
        raise_if_blocked(result, "batch.csv")


def test_a_batch_without_labels_is_allowed_unless_required(tmp_path, penguins_frame):
    first = validate(
        write(tmp_path, penguins_frame), tmp_path / "v1.parquet", DATA, ValidationSettings()
    )
    unlabelled = write(tmp_path, penguins_frame.drop(columns=["species"]), "u.parquet")
    result = validate(unlabelled, tmp_path / "v.parquet", DATA, ValidationSettings(), first.schema)
    assert not result.has_labels and not result.blocking
    required = DATA.model_copy(update={"require_labels": True})
    result = validate(
        unlabelled, tmp_path / "w.parquet", required, ValidationSettings(), first.schema
    )
    assert result.blocking[0].column == "species"


def test_several_blocking_anomalies_are_counted_in_the_one_line(tmp_path, penguins_frame):
    first = validate(
        write(tmp_path, penguins_frame), tmp_path / "v1.parquet", DATA, ValidationSettings()
    )
    frame = penguins_frame.drop(columns=["bill_length_mm", "bill_depth_mm"]).assign(extra=1)
    result = validate(
        write(tmp_path, frame, "b.parquet"),
        tmp_path / "v.parquet",
        DATA,
        ValidationSettings(),
        first.schema,
    )
    with pytest.raises(DataError) as error:
        raise_if_blocked(result, "b.csv")
    assert "(and 2 more:" in str(error.value)
    assert result.to_proto().anomaly_info["extra"].reason[0].type > 0


values = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    columns=st.dictionaries(
        st.sampled_from(["species", "island", "bill_length_mm", "x"]),
        st.lists(values, min_size=1, max_size=6),
        min_size=1,
        max_size=4,
    )
)
def test_validation_never_crashes_on_arbitrary_frames(tmp_path, columns):
    width = min(len(v) for v in columns.values())
    table = pa.table(
        {
            k: pa.array([str(x) if x is not None else None for x in v[:width]])
            for k, v in columns.items()
        }
    )
    pq.write_table(table, tmp_path / "h.parquet")
    try:
        result = validate(
            tmp_path / "h.parquet", tmp_path / "hv.parquet", DATA, ValidationSettings()
        )
        raise_if_blocked(result, "h.parquet")
    except DataError as error:
        assert "\n" not in str(error) and str(error).startswith("h.parquet")
