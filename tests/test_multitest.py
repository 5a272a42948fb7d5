"""Multiple-testing correction, checked against statsmodels and scipy on the same p-values."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from driftgate.errors import DataError
from driftgate.stats.multitest import adjust, reject

CASES = [
    np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.9]),
    np.array([0.02, 0.02, 0.02, 0.5, 0.001, 0.001]),  # ties
    np.array([0.0, 1.0, 0.049, 0.051]),
    np.random.default_rng(0).uniform(size=50) ** 3,
    np.array([0.3]),
]
REFERENCE = {"holm": "holm", "bh": "fdr_bh"}


@pytest.mark.parametrize("pvalues", CASES)
@pytest.mark.parametrize("method", ["holm", "bh"])
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_matches_statsmodels(pvalues, method, alpha):
    expected_reject, expected, _, _ = multipletests(pvalues, alpha=alpha, method=REFERENCE[method])
    np.testing.assert_allclose(adjust(pvalues, method), expected, rtol=1e-12)
    np.testing.assert_array_equal(reject(pvalues, alpha, method), expected_reject)


@pytest.mark.parametrize("pvalues", CASES)
def test_bh_matches_scipy(pvalues):
    np.testing.assert_allclose(
        adjust(pvalues, "bh"), stats.false_discovery_control(pvalues), rtol=1e-12
    )


@pytest.mark.parametrize("method", ["holm", "bh", "none"])
def test_nan_is_left_out_and_never_rejected(method):
    pvalues = np.array([0.001, np.nan, 0.03, np.nan, 0.5])
    finite = ~np.isnan(pvalues)
    adjusted = adjust(pvalues, method)
    assert np.isnan(adjusted[~finite]).all()
    if method == "none":
        np.testing.assert_array_equal(adjusted[finite], pvalues[finite])
    else:
        expected = multipletests(pvalues[finite], method=REFERENCE[method])[1]
        np.testing.assert_allclose(adjusted[finite], expected)
    rejected = reject(pvalues, 0.99, method)
    assert rejected.dtype == bool
    assert not rejected[~finite].any()
    assert rejected[finite].all()


def test_none_is_the_raw_test_and_edge_cases():
    pvalues = np.array([0.01, 0.04, 0.2])
    np.testing.assert_array_equal(reject(pvalues, 0.05, "none"), [True, True, False])
    assert adjust(np.array([]), "holm").shape == (0,)
    assert not reject(np.array([np.nan, np.nan]), 0.05, "bh").any()
    with pytest.raises(DataError, match="unknown multiple-testing method"):
        adjust(pvalues, "bonferroni")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        adjust(np.array([1.2]), "holm")
    with pytest.raises(DataError, match="significance level"):
        reject(pvalues, 0.0, "holm")
