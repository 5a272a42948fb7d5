"""The statistics are what they claim: uniform merged samples, honest KS, missing features,
per-feature noise floors, and Markdown that data cannot inject into."""

import numpy as np
import pyarrow as pa
from scipy import stats as scipy_stats

from driftgate.observe.report import drift_html, drift_markdown, markdown_escape
from driftgate.stats import DriftSettings, compare, compute_stats
from driftgate.stats.beam import SampleCombineFn
from driftgate.stats.binning import Binning, CategoricalBins, NumericBins
from driftgate.stats.divergence import KS_EXACT_MAX, ks_pvalue

SHARDS, ROWS, CAPACITY = 8, 1000, 100


def _merged_sample() -> np.ndarray:
    """One Beam-style combine: an accumulator per shard, merged, as a lifted combine does."""
    fn = SampleCombineFn(CAPACITY)
    accumulators = []
    for shard in range(SHARDS):
        accumulator = fn.create_accumulator()
        ids = pa.array(np.arange(shard * ROWS, (shard + 1) * ROWS))
        accumulators.append(fn.add_input(accumulator, pa.record_batch([ids], names=["id"])))
    rows = fn.extract_output(fn.merge_accumulators(accumulators))
    return np.asarray(rows.column("id"))


def test_the_merged_beam_sample_is_uniform_over_rows_and_shards():
    trials = 400
    inclusions = np.zeros(SHARDS * ROWS)
    positions = []
    for _ in range(trials):
        sample = _merged_sample()
        assert sample.size == CAPACITY and np.unique(sample).size == CAPACITY
        inclusions[sample] += 1
        positions.append(np.unique(sample % ROWS).size)
    # Shared seeds give row i of every shard the same priority: about 13 distinct positions.
    assert np.mean(positions) > 90
    # Each row is in a sample with probability CAPACITY / (SHARDS * ROWS), independently of
    # its shard and position: chi-square over shards and over blocks of positions.
    expected = trials * CAPACITY / SHARDS
    by_shard = inclusions.reshape(SHARDS, ROWS).sum(axis=1)
    assert scipy_stats.chisquare(by_shard, [expected] * SHARDS).pvalue > 1e-6
    by_block = inclusions.reshape(SHARDS * 10, ROWS // 10).sum(axis=1)
    assert scipy_stats.chisquare(by_block).pvalue > 1e-6


def test_ks_says_whether_its_p_value_is_exact():
    rng = np.random.default_rng(0)
    small, large = rng.normal(size=300), rng.normal(size=KS_EXACT_MAX + 1)
    _, pvalue, exact = ks_pvalue(small, small + 0.1)
    assert exact and pvalue == scipy_stats.ks_2samp(small, small + 0.1, method="exact").pvalue
    _, pvalue, exact = ks_pvalue(large, large[:500] + 0.1)
    assert not exact
    assert pvalue == scipy_stats.ks_2samp(large, large[:500] + 0.1, method="asymp").pvalue


BINNING = Binning({"x": NumericBins((-1.0, 0.0, 1.0)), "c": CategoricalBins(("a", "b"))})


def _stats(x, c):
    table = pa.table({"x": pa.array(x, pa.float64()), "c": pa.array(c, pa.string())})
    return compute_stats(table.to_batches(), BINNING)[0]


def test_the_report_names_the_ks_method(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=KS_EXACT_MAX + 10)
    reference, current = _stats(x, ["a"] * x.size), _stats(x + 0.01, ["a"] * x.size)
    sample = pa.table({"x": x})
    settings = DriftSettings(thresholds={"ks_pvalue": 0.01})
    result = compare(reference, current, settings, sample, pa.table({"x": x + 0.01}))
    feature = next(f for f in result.features if f.name == "x")
    assert feature.metrics["ks_exact"] == 0.0
    assert "(asymptotic)</span> / 0.0100" in drift_html(result, "Drift", {})


def test_a_feature_missing_from_the_batch_counts_as_drifted():
    reference = _stats([0.5, -0.5, 2.0] * 50, ["a", "b", "a"] * 50)
    current = _stats([0.5, -0.5, 2.0] * 50, [None] * 150)
    result = compare(reference, current, DriftSettings())
    feature = next(f for f in result.features if f.name == "c")
    assert feature.drifted and feature.exceeded == ["missing"]
    assert result.drift_detected and result.drifted_features == ["c"]
    assert "| c | categorical | drift (missing) |" in drift_markdown(result)


def test_the_noise_floor_of_a_categorical_feature_uses_its_own_buckets():
    rows = 200
    reference = _stats(np.linspace(-2, 2, rows), ["a", "b"] * (rows // 2))
    settings = DriftSettings(bins=1000, thresholds={"js": 0.1})
    result = compare(reference, reference, settings)
    # x has 4 buckets and c 3: a floor of about 0.005, far below the threshold, whatever
    # drift.bins says (1000 buckets would give 1.8 and flag both).
    assert result.warnings == []
    many = Binning({"c": CategoricalBins(tuple(f"v{i}" for i in range(300)))})
    values = pa.table({"c": pa.array([f"v{i % 300}" for i in range(rows)])})
    wide = compute_stats(values.to_batches(), many)[0]
    warnings = compare(wide, wide, DriftSettings(bins=2)).warnings
    assert len(warnings) == 1 and "c (301 buckets: about" in warnings[0]


def test_markdown_reports_escape_values_from_the_data():
    name = "a|b <img src=x onerror=alert(1)> [click](http://x) *bold*"
    binning = Binning({name: CategoricalBins(("a",))})
    values = pa.table({name: pa.array(["a"] * 50)})
    stats = compute_stats(values.to_batches(), binning)[0]
    markdown = drift_markdown(compare(stats, stats, DriftSettings()))
    row = next(line for line in markdown.splitlines() if "categorical" in line)
    assert row.startswith(f"| {markdown_escape(name)} |")
    assert row.replace("\\|", "").count("|") == 8  # the table's own pipes only
    assert "<img" not in markdown and "](" not in markdown and "*bold*" not in markdown
    assert markdown_escape("x\ny") == "x y"
