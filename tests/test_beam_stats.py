"""The Beam CombineFn gives exactly the statistics of the in-process accumulator."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftgate.data.schema import FeatureKinds
from driftgate.data.tabular.csvfile import CsvOptions, consume_csv
from driftgate.data.tabular.files import resolve
from driftgate.pipelines.cli import main
from driftgate.stats import compute_stats, reference_stats
from driftgate.stats.beam import read_proto, run_stats
from driftgate.stats.drift import DriftSettings

pytestmark = pytest.mark.slow
KINDS = FeatureKinds("species", ("bill_length_mm", "body_mass_g"), ("island", "sex"))


@pytest.fixture(scope="module")
def files(tmp_path_factory, penguins_frame):
    root = tmp_path_factory.mktemp("beam")
    first, second = (
        penguins_frame[penguins_frame.year <= 2008],
        penguins_frame[penguins_frame.year == 2009],
    )
    pq.write_table(
        pa.Table.from_pandas(first, preserve_index=False), root / "a.parquet", row_group_size=40
    )
    second.iloc[:60].to_csv(root / "b.csv", index=False)
    second.iloc[60:].to_parquet(root / "c.parquet")  # written with a pandas index column
    return root


def test_beam_combine_equals_the_in_process_statistics(files, tmp_path):
    ref, _ = reference_stats(
        lambda: pq.read_table(files / "a.parquet").to_batches(), KINDS, DriftSettings()
    )
    paths = [str(files / "a.parquet"), str(files / "b.csv"), str(files / "c.parquet")]
    beam = run_stats(
        paths,
        KINDS,
        CsvOptions(),
        str(tmp_path / "s.pb"),
        ["--runner=DirectRunner"],
        binning=ref.binning,
    )
    frames = [pq.read_table(files / "a.parquet"), pq.read_table(files / "c.parquet")]
    local, _ = compute_stats([b for f in frames for b in f.to_batches()], ref.binning)
    local.add(
        consume_csv(
            resolve(str(files / "b.csv")),
            CsvOptions(text_columns=("species",)),
            lambda batches: pa.Table.from_batches(list(batches)),
        ).select(list(KINDS.features))
    )
    assert beam.rows == local.rows == 344
    for name in KINDS.features:
        assert beam.features[name].counts.tolist() == local.features[name].counts.tolist()
        assert beam.features[name].missing == local.features[name].missing


def test_stats_command_places_bins_then_compares(files, tmp_path, capsys):
    reference = tmp_path / "ref.pb"
    assert main(["stats", "--input", str(files / "a.parquet"), "--output", str(reference)]) == 0
    stats = read_proto(str(reference))
    assert stats.rows == 224 and set(stats.binning.categorical()) == {"island", "sex"}
    assert "__index_level_0__" not in stats.binning.features
    report = tmp_path / "drift.html"
    assert (
        main(
            [
                "stats",
                "--input",
                str(files / "c.parquet"),
                "--reference",
                str(reference),
                "--output",
                str(tmp_path / "cur.pb"),
                "--report",
                str(report),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| body_mass_g | numeric |" in out and report.read_text().startswith("<!DOCTYPE html>")


def test_multi_process_direct_runner_gives_the_in_process_statistics(files, tmp_path):
    reference = tmp_path / "ref.pb"
    assert main(["stats", "--input", str(files / "a.parquet"), "--output", str(reference)]) == 0
    binning = read_proto(str(reference)).binning
    inputs = [str(files / "a.parquet"), str(files / "b.csv"), str(files / "c.parquet")]
    args = ["stats", "--reference", str(reference), "--output", str(tmp_path / "multi.pb")]
    for path in inputs:
        args += ["--input", path]
    assert main([*args, "--direct-num-workers", "2"]) == 0
    multi = read_proto(str(tmp_path / "multi.pb"))
    kinds = FeatureKinds("species", tuple(binning.numeric()), tuple(binning.categorical()))
    tables = [
        pq.read_table(files / "a.parquet"),
        consume_csv(
            resolve(str(files / "b.csv")),
            CsvOptions(text_columns=("species", "island", "sex")),
            lambda batches: pa.Table.from_batches(list(batches)),
        ),
        pq.read_table(files / "c.parquet"),
    ]
    local, _ = compute_stats(
        [b for t in tables for b in t.select(list(kinds.features)).to_batches()], binning
    )
    assert multi.rows == local.rows == 344
    for name, expected in local.features.items():
        got = multi.features[name]
        assert got.counts.tolist() == expected.counts.tolist() and got.missing == expected.missing
        if hasattr(expected, "mean"):  # numeric: moments merge in another order, so up to rounding
            assert (got.count, got.min, got.max) == (expected.count, expected.min, expected.max)
            assert got.mean == pytest.approx(expected.mean, rel=1e-12)
            assert got.m2 == pytest.approx(expected.m2, rel=1e-9)


def test_direct_num_workers_needs_the_direct_runner(files, tmp_path):
    with pytest.raises(SystemExit, match="needs --runner DirectRunner"):
        main(
            [
                "stats",
                "--input",
                str(files / "a.parquet"),
                "--output",
                str(tmp_path / "x.pb"),
                "--runner",
                "FlinkRunner",
                "--direct-num-workers",
                "2",
            ]
        )
