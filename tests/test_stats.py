import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from driftgate.data.schema import FeatureKinds
from driftgate.stats import (
    DatasetStats,
    DriftSettings,
    compare,
    compute_stats,
    from_proto,
    reference_stats,
)
from driftgate.stats.binning import Binning, CategoricalBins, NumericBins, binning_from_sample
from driftgate.stats.divergence import (
    js_divergence,
    js_noise_floor,
    l_infinity,
    psi,
    wasserstein_normalized,
)
from driftgate.stats.sample import RowSampler

KINDS = FeatureKinds(label=None, numeric=("x",), categorical=("c",))
BINNING = Binning({"x": NumericBins((-1.0, 0.0, 1.0)), "c": CategoricalBins(("a", "b"))})


def table(x, c):
    return pa.table({"x": pa.array(x, pa.float64()), "c": pa.array(c, pa.string())})


def test_js_divergence_equals_scipy_on_the_same_bins():
    rng = np.random.default_rng(1)
    for _ in range(200):
        p, q = rng.integers(0, 50, 12), rng.integers(0, 50, 12)
        p[0] += 1
        q[-1] += 1
        assert js_divergence(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2, abs=1e-12)


def test_divergences_are_zero_for_identical_and_positive_for_different_histograms():
    same = np.array([5, 10, 20, 0])
    assert js_divergence(same, same * 3) == 0.0
    assert psi(same, same) == 0.0
    assert l_infinity(same, same) == 0.0
    assert l_infinity([10, 0], [0, 10]) == 1.0
    assert js_divergence([10, 0], [0, 10]) == pytest.approx(1.0)


def test_wasserstein_of_a_shifted_uniform_histogram_matches_the_shift():
    # Uniform on [0, 10) in ten unit bins, against the same shifted right by one bin.
    edges = tuple(float(e) for e in range(1, 10))
    reference = np.array([1] * 10 + [0])
    current = np.array([0] + [1] * 10)
    edges = (*edges, 10.0)
    assert wasserstein_normalized(reference, current, edges, 0.0, 11.0, 1.0) == pytest.approx(1.0)


def test_numeric_counts_match_numpy_and_nulls_nan_inf_are_separate():
    x = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, None, math.nan, math.inf, -math.inf]
    stats = DatasetStats(BINNING).add(table(x, ["a"] * len(x)))
    numeric = stats.features["x"]
    finite = np.array([v for v in x if v is not None and math.isfinite(v)])
    expected, _ = np.histogram(finite, [-np.inf, -1.0, 0.0, 1.0, np.inf])
    assert numeric.counts.tolist() == expected.tolist() == [1, 2, 2, 2]
    assert (numeric.missing, numeric.nan, numeric.pos_inf, numeric.neg_inf) == (1, 1, 1, 1)
    assert numeric.mean == pytest.approx(finite.mean())
    assert numeric.std == pytest.approx(finite.std())
    assert (numeric.min, numeric.max) == (-2.0, 3.0)


def test_categorical_counts_put_unseen_values_in_the_other_bucket():
    stats = DatasetStats(BINNING).add(table([0.0] * 5, ["a", "b", "b", "zzz", None]))
    assert stats.features["c"].counts.tolist() == [1, 2, 1]
    assert stats.features["c"].missing == 1


def test_proto_round_trip_keeps_bins_and_statistics():
    rng = np.random.default_rng(0)
    original = DatasetStats(BINNING).add(
        table(rng.normal(size=1000), rng.choice(["a", "b", "q"], 1000))
    )
    decoded = from_proto(original.to_proto())
    assert decoded.binning == original.binning
    assert decoded.rows == original.rows
    for name in ("x", "c"):
        assert decoded.features[name].counts.tolist() == original.features[name].counts.tolist()
    assert decoded.features["x"].m2 == pytest.approx(original.features["x"].m2)


floats = st.one_of(st.none(), st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf))
labels = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(floats, labels), max_size=60),
    st.lists(st.tuples(floats, labels), max_size=60),
)
def test_merged_statistics_equal_the_statistics_of_the_union(left, right):
    def stats(rows):
        return DatasetStats(BINNING).add(table([r[0] for r in rows], [r[1] for r in rows]))

    merged = stats(left).merge(stats(right))
    union = stats(left + right)
    assert merged.rows == union.rows
    for name in ("x", "c"):
        a, b = merged.features[name], union.features[name]
        assert a.counts.tolist() == b.counts.tolist()
        assert a.missing == b.missing
    a, b = merged.features["x"], union.features["x"]
    assert (a.count, a.nan, a.pos_inf, a.neg_inf, a.min, a.max) == (
        b.count,
        b.nan,
        b.pos_inf,
        b.neg_inf,
        b.min,
        b.max,
    )
    assert a.mean == pytest.approx(b.mean, rel=1e-9, abs=1e-6)
    assert a.m2 == pytest.approx(b.m2, rel=1e-9, abs=1e-3)


def test_row_sampler_keeps_capacity_rows_and_merges_like_one_sampler():
    whole = pa.table({"i": pa.array(range(10_000))})
    sampler = RowSampler(capacity=500, seed=3)
    for batch in whole.to_batches(max_chunksize=777):
        sampler.add(batch)
    assert sampler.rows.num_rows == 500
    assert len(set(sampler.rows.column("i").to_pylist())) == 500
    parts = [RowSampler(500, seed=s) for s in range(4)]
    for i, batch in enumerate(whole.to_batches(max_chunksize=2500)):
        parts[i].add(batch)
    merged = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
    assert merged.rows.num_rows == 500
    quarters = np.bincount(np.asarray(merged.rows.column("i")) // 2500, minlength=4)
    assert quarters.min() > 80  # roughly uniform over the four shards


def test_binning_uses_reference_quantiles_and_top_values():
    rng = np.random.default_rng(0)
    sample = table(rng.uniform(0, 100, 10_000), rng.choice(["a"] * 5 + ["b"] * 3 + ["c"], 10_000))
    binning = binning_from_sample(sample, KINDS, bins=4, top_k=2)
    assert binning.features["x"].edges == pytest.approx((25, 50, 75), abs=3)
    assert binning.features["c"].values == ("a", "b")


def drift_of(shift, settings=None, rows=2000, seed=0):
    rng = np.random.default_rng(seed)
    reference = table(rng.normal(size=rows), rng.choice(["a", "b"], rows))
    current = table(rng.normal(size=rows) + shift, rng.choice(["a", "b"], rows))
    settings = settings or DriftSettings()
    ref, _ = reference_stats(lambda: reference.to_batches(), KINDS, settings)
    cur, _ = compute_stats(current.to_batches(), ref.binning)
    return compare(ref, cur, settings, reference, current)


def test_a_shifted_feature_is_detected_and_an_unshifted_one_is_not():
    assert not drift_of(0.0).drift_detected
    result = drift_of(1.0)
    assert result.drift_detected
    assert result.drifted_features == ["x"]
    assert result.features[0].name == "x"  # most drifted first


def test_per_feature_overrides_rules_and_ks():
    loose = DriftSettings(features={"x": {"js": 0.9}})
    assert not drift_of(1.0, loose).drift_detected
    share = DriftSettings(rule="share", share=0.6)
    assert not drift_of(1.0, share).drift_detected  # 1 of 2 features is 50 %
    weighted = DriftSettings(rule="weighted", share=0.6, weights={"x": 3.0})
    assert drift_of(1.0, weighted).drift_detected  # x carries 75 % of the weight
    ks_only = DriftSettings(thresholds={"js": None, "linf": None, "ks_pvalue": 0.01})
    result = drift_of(0.3, ks_only)
    assert result.drift_detected and result.features[0].exceeded == ["ks_pvalue"]


def test_small_batches_warn_that_the_verdict_is_noisy():
    result = drift_of(0.0, rows=40)
    assert any("fewer than drift.min_rows" in w for w in result.warnings)
    assert js_noise_floor(10, 40, 40) > 0.05


def test_dictionary_encoded_columns_count_like_plain_strings():
    values = ["a", "b", None, "zzz", "a", "b", "b"]
    plain = pa.array(values, pa.string())
    encoded = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 2, 0, 3, 3], pa.int32()),
        pa.array(["a", "b", "zzz", None], pa.string()),
    )
    batch = {"x": pa.array([0.0] * 7)}
    a = DatasetStats(BINNING).add(pa.table({**batch, "c": plain}))
    b = DatasetStats(BINNING).add(pa.table({**batch, "c": encoded}))
    assert a.features["c"].counts.tolist() == [2, 3, 1]
    assert (
        b.features["c"].counts.tolist() == [2, 1, 1] and b.features["c"].missing == 3
    )  # 1 null code + 2 null entries


def test_reference_statistics_accept_dictionary_batches(tmp_path):
    import pyarrow.parquet as pq

    from driftgate.data.tabular.parquetfile import iter_parquet

    rng = np.random.default_rng(0)
    table = pa.table({"x": rng.normal(size=5000), "c": rng.choice(["a", "b", "c"], 5000)})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=700)
    encoded, _ = reference_stats(
        lambda: iter_parquet(str(tmp_path / "t.parquet"), batch_rows=500, dictionary=True),
        KINDS,
        DriftSettings(),
    )
    plain, _ = reference_stats(lambda: table.to_batches(max_chunksize=500), KINDS, DriftSettings())
    assert encoded.features["c"].counts.tolist() == plain.features["c"].counts.tolist()
    assert encoded.binning == plain.binning
