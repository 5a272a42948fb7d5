"""Sample-size-aware drift thresholds: calibrated on the reference, checked on unchanged streams."""

import numpy as np
import pyarrow as pa
import pytest

from driftgate.data.schema import FeatureKinds
from driftgate.errors import DataError
from driftgate.stats import divergence
from driftgate.stats.accumulator import DatasetStats
from driftgate.stats.binning import binning_from_sample
from driftgate.stats.calibration import (
    Calibration,
    calibrate,
    js_rows,
    per_feature_alpha,
    psi_rows,
    threshold_at,
)

KINDS = FeatureKinds(label=None, numeric=("normal", "skewed", "rounded"), categorical=("colour",))
COLOURS = np.array(["red", "green", "blue", "black", "white", "grey"])
COLOUR_SHARES = np.array([0.4, 0.25, 0.15, 0.1, 0.07, 0.03])
N_REF = 5000
# Off-grid sizes included: thresholds are interpolated between the calibrated grid sizes.
SIZES = (30, 75, 100, 150, 300, 700, 1000, 1500, 3000, 4500)
STREAMS = 100  # x len(SIZES) = 1000 runs


def _rows(rng: np.random.Generator, n: int) -> pa.Table:
    """Rows of one fixed distribution: the 'unchanged stream'."""
    return pa.table(
        {
            "normal": rng.normal(10.0, 2.0, n),
            "skewed": rng.lognormal(0.0, 1.0, n),
            "rounded": np.round(rng.gamma(2.0, 3.0, n)),  # ties: fewer distinct edges
            "colour": COLOURS[rng.choice(COLOURS.size, n, p=COLOUR_SHARES)],
        }
    )


def _false_alarm_shares(targets: tuple[float, ...], seed: int) -> dict[tuple[str, float], float]:
    """Share of unchanged runs in which any feature exceeds its calibrated threshold."""
    rng = np.random.default_rng(seed)
    features = KINDS.features
    alarms = {(metric, t): 0 for metric in ("js", "psi") for t in targets}
    runs = 0
    for stream in range(STREAMS):
        reference_rows = _rows(rng, N_REF)
        binning = binning_from_sample(reference_rows, KINDS, bins=10, top_k=4)
        reference = DatasetStats(binning).add(reference_rows)
        calibrations = {
            (name, t): calibrate(
                reference.features[name].counts,
                N_REF,
                per_feature_alpha(t, len(features)),
                seed=stream,
            )
            for name in features
            for t in targets
        }
        for size in SIZES:
            batch = DatasetStats(binning).add(_rows(rng, size))
            runs += 1
            for metric, function in (("js", divergence.js_divergence), ("psi", divergence.psi)):
                values = {
                    name: function(reference.features[name].counts, batch.features[name].counts)
                    for name in features
                }
                for t in targets:
                    alarms[metric, t] += any(
                        values[name] > threshold_at(calibrations[name, t], metric, size)
                        for name in features
                    )
    return {key: count / runs for key, count in alarms.items()}


def test_unchanged_stream_alarms_at_the_configured_rate():
    shares = _false_alarm_shares((0.05, 0.01), seed=7)
    # 1,000 runs: the binomial standard error is 0.7 % at 5 % and 0.3 % at 1 %.
    for metric in ("js", "psi"):
        assert 0.03 <= shares[metric, 0.05] <= 0.07, shares
        assert shares[metric, 0.01] <= 0.01 + 3 * np.sqrt(0.01 * 0.99 / 1000), shares


def test_fixed_threshold_is_what_calibration_fixes():
    # The complaint: an unchanged 10-row sample exceeds a fixed 0.1 JS threshold.
    rng = np.random.default_rng(1)
    p = np.full(10, 0.1)
    calibration = calibrate(p, 10_000, 0.01)
    small = [divergence.js_divergence(p, rng.multinomial(10, p)) for _ in range(200)]
    assert np.mean(np.asarray(small) > 0.1) > 0.9
    assert threshold_at(calibration, "js", 10) > np.quantile(small, 0.95)
    assert threshold_at(calibration, "js", 1_000_000) < 0.002


def test_vectorised_divergences_match_the_project_functions():
    rng = np.random.default_rng(3)
    reference = rng.multinomial(50, rng.dirichlet(np.ones(8) * 0.3), size=300)
    current = rng.multinomial(20, rng.dirichlet(np.ones(8) * 0.3), size=300)
    current[0] = 0  # an empty side gives 0 in both
    expected_js = [divergence.js_divergence(r, c) for r, c in zip(reference, current, strict=True)]
    expected_psi = [divergence.psi(r, c) for r, c in zip(reference, current, strict=True)]
    np.testing.assert_allclose(js_rows(reference, current), expected_js, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(psi_rows(reference, current), expected_psi, rtol=1e-12)


def test_thresholds_interpolate_in_log_size_and_clamp():
    calibration = calibrate(np.array([5, 3, 2]), 1000, 0.01, sizes=(100, 10_000), draws=500)
    low, high = calibration.thresholds["js"]
    assert low > high > 0
    scale = np.array([1 / 100, 1 / 1000, 1 / 10_000]) + 1 / 1000
    ratio = (low / scale[0] + high / scale[2]) / 2
    assert threshold_at(calibration, "js", 1000) == pytest.approx(ratio * scale[1])
    assert high < threshold_at(calibration, "js", 1000) < (low + high) / 2
    assert threshold_at(calibration, "js", 5) == low
    assert threshold_at(calibration, "js", 10**9) == high
    with pytest.raises(DataError, match="wasserstein"):
        threshold_at(calibration, "wasserstein", 100)


def test_calibration_is_deterministic_and_round_trips_through_a_dict():
    p = np.array([0.5, 0.3, 0.15, 0.05, 0.0])
    first = calibrate(p, 2000, 0.001, seed=4)
    assert calibrate(p, 2000, 0.001, seed=4) == first
    assert Calibration.from_dict(first.to_dict()) == first
    assert all(np.all(np.diff(v) <= 0) for v in first.thresholds.values())


def test_single_bin_feature_never_alarms():
    calibration = calibrate(np.array([100.0]), 100, 0.01)
    assert threshold_at(calibration, "js", 50) == 0.0
    assert divergence.js_divergence(np.array([100]), np.array([50])) == 0.0


def test_bonferroni_share_and_bad_inputs():
    assert per_feature_alpha(0.01, 4) == pytest.approx(0.0025)
    with pytest.raises(DataError, match="target"):
        per_feature_alpha(1.5, 4)
    with pytest.raises(DataError, match="reference histogram"):
        calibrate(np.zeros(3), 100, 0.01)
    with pytest.raises(DataError, match="n_ref"):
        calibrate(np.ones(3), 0, 0.01)
    with pytest.raises(DataError, match="batch sizes"):
        calibrate(np.ones(3), 100, 0.01, sizes=())


def test_auto_thresholds_are_stored_with_the_reference_and_scale_with_the_batch():
    import pyarrow as pa

    from driftgate.data.schema import FeatureKinds
    from driftgate.stats import DriftSettings, compare, compute_stats, from_proto, reference_stats

    rng = np.random.default_rng(3)
    kinds = FeatureKinds(None, ("x",), ("c",))

    def table(n: int, shift: float = 0.0) -> pa.Table:
        return pa.table(
            {"x": rng.normal(shift, 1, n), "c": rng.choice(["a", "b", "c"], n).astype(object)}
        )

    settings = DriftSettings(thresholds={"js": "auto", "linf": None})
    reference = table(5000)
    stats, _ = reference_stats(lambda: reference.to_batches(), kinds, settings, seed=1)
    stored = from_proto(stats.to_proto())  # the calibration travels in the proto
    assert set(stored.calibration) == {"x", "c"}
    small, _ = compute_stats(table(50).to_batches(), stored.binning)
    large, _ = compute_stats(table(50_000).to_batches(), stored.binning)
    limit_small = compare(stored, small, settings).features[0].thresholds["js"]
    limit_large = compare(stored, large, settings).features[0].thresholds["js"]
    assert limit_small > 10 * limit_large  # small batches get proportionately larger limits
    shifted, _ = compute_stats(table(2000, shift=0.3).to_batches(), stored.binning)
    assert "x" in compare(stored, shifted, settings).drifted_features


def test_ks_pvalues_are_judged_after_the_multiple_testing_correction():
    from driftgate.stats.drift import FeatureDrift, _correct_ks

    def feature(name: str, p: float) -> FeatureDrift:
        return FeatureDrift(name, "numeric", {"ks_pvalue": p}, {"ks_pvalue": 0.05},
                            ["ks_pvalue"] if p < 0.05 else [], [], [], [], 0.0, 0.0)  # fmt: skip

    features = [feature("a", 0.001), feature("b", 0.03), feature("c", 0.04)]
    _correct_ks(features, "holm")
    assert [f.drifted for f in features] == [True, False, False]
    assert features[1].metrics["ks_pvalue_adjusted"] == pytest.approx(0.06)
