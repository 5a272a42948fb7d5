"""Paired tests of a change between two models on the same rows, and how they judge TFMA's fails."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import optimize, stats

from driftgate.components.evaluate import changes
from driftgate.components.evaluate.record import OVERALL, ThresholdFailure
from driftgate.settings.evaluation import EvaluationSettings
from driftgate.stats.paired import accuracy_change, error_change, mcnemar_p, tango_p


def _outcomes(n: int, b: int, c: int, both_right: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row correctness: ``b`` rows only the baseline gets right, ``c`` only the candidate."""
    base = np.zeros(n, dtype=bool)
    cand = np.zeros(n, dtype=bool)
    base[:b] = True
    cand[b : b + c] = True
    base[b + c : b + c + both_right] = cand[b + c : b + c + both_right] = True
    return base, cand


@pytest.mark.parametrize("b, c", [(1, 0), (3, 1), (0, 5), (5, 0), (10, 2), (50, 40), (7, 7)])
def test_mcnemar_agrees_with_scipys_exact_binomial_test(b, c):
    expected = stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue
    assert mcnemar_p(b, c) == pytest.approx(expected, rel=1e-12)


def test_no_discordant_row_is_no_evidence_at_all():
    with pytest.raises(ValueError):  # scipy has no test of zero trials
        stats.binomtest(0, 0, 0.5, alternative="greater")
    assert mcnemar_p(0, 0) == 1.0
    base, cand = _outcomes(200, 0, 0, 190)
    result = accuracy_change(base, cand, 0.0, 0.95)
    assert (result.b, result.c, result.n, result.change) == (0, 0, 200, 0.0)
    assert not result.significant and result.p_value == 1.0


@pytest.mark.parametrize("b, c", [(1, 0), (2, 0), (3, 1)])
@pytest.mark.parametrize("allowed", [0.0, 0.01])
def test_one_or_two_rows_on_a_few_hundred_are_no_significant_change(b, c, allowed):
    base, cand = _outcomes(300, b, c, 280)
    result = accuracy_change(base, cand, allowed, 0.95)
    assert result.change == pytest.approx((c - b) / 300) and result.change < 0
    assert not result.significant and result.verdict == "no significant change"
    assert result.method == ("exact McNemar" if allowed == 0 else "Tango score")
    assert f"b={b}, c={c}, n=300" in result.explanation()


@pytest.mark.parametrize("allowed", [0.0, 0.02])
def test_a_large_drop_is_a_significant_regression(allowed):
    base, cand = _outcomes(300, 30, 2, 250)
    result = accuracy_change(base, cand, allowed, 0.95)
    assert result.significant and result.verdict == "significant regression"
    assert result.p_value < 0.001
    facts = result.to_dict()
    assert facts["b"] == 30 and facts["c"] == 2 and facts["n"] == 300
    assert facts["verdict"] == "significant regression"
    assert "dropped by 0.0933" in facts["explanation"] and "< 0.05" in facts["explanation"]


def test_a_drop_under_the_allowed_one_is_not_a_regression_but_over_it_is():
    base, cand = _outcomes(400, 14, 2, 370)  # drop 0.03
    assert not accuracy_change(base, cand, 0.05, 0.95).significant
    assert accuracy_change(base, cand, 0.0, 0.95).significant
    # the confidence level decides: p is about 0.025 against an allowed drop of 0.012
    p = accuracy_change(base, cand, 0.012, 0.95).p_value
    assert 0.01 < p < 0.05
    assert accuracy_change(base, cand, 0.012, 0.95).significant
    assert not accuracy_change(base, cand, 0.012, 0.99).significant


def test_tango_reduces_to_mcnemars_z_and_uses_the_restricted_maximum_likelihood():
    b, c, n = 12, 4, 250
    assert tango_p(b, c, n, 0.0) == pytest.approx(stats.norm.sf((b - c) / math.sqrt(b + c)))
    allowed = 0.01

    def minus_log_likelihood(q21: float) -> float:  # cells: q12 = q21 + allowed, q21, the rest
        return -(
            b * math.log(q21 + allowed)
            + c * math.log(q21)
            + (n - b - c) * math.log(1 - 2 * q21 - allowed)
        )

    q21 = optimize.minimize_scalar(
        minus_log_likelihood, bounds=(1e-9, 0.49), method="bounded", options={"xatol": 1e-12}
    ).x
    z = (b - c - n * allowed) / math.sqrt(n * (2 * q21 + allowed * (1 - allowed)))
    assert tango_p(b, c, n, allowed) == pytest.approx(stats.norm.sf(z), rel=1e-5)


def test_tango_holds_its_false_alarm_rate_when_the_drop_is_exactly_the_allowed_one():
    rng = np.random.default_rng(7)
    n, allowed, q21 = 300, 0.02, 0.02  # q12 = 0.04: the true drop is exactly 0.02
    counts = rng.multinomial(n, [q21 + allowed, q21, 1 - 2 * q21 - allowed], size=2000)
    rate = np.mean([tango_p(int(b), int(c), n, allowed) < 0.05 for b, c, _ in counts])
    assert 0.02 < rate < 0.075


def test_the_regression_test_tells_noise_from_a_real_rise():
    rng = np.random.default_rng(3)
    base = rng.normal(0, 10, 300)
    as_good = rng.normal(0, 10, 300)  # another model with errors of the same size
    two_rows = base.copy()
    two_rows[:2] *= 1.5  # worse on two rows of 300
    for metric in ("rmse", "mae"):
        for other in (as_good, two_rows):
            result = error_change(metric, base, other, 0.0, 0.95)
            assert not result.significant, result.explanation()
            assert result.method == "paired t" and result.n == 300
    worse = base * 1.2 + rng.normal(0, 1, 300)
    rmse = error_change("rmse", base, worse, 0.0, 0.95)
    assert rmse.significant and rmse.change == pytest.approx(
        math.sqrt(np.mean(worse**2)) - math.sqrt(np.mean(base**2))
    )
    expected = stats.ttest_rel(worse**2, base**2, alternative="greater").pvalue
    assert rmse.p_value == pytest.approx(expected)
    assert rmse.mean_difference == pytest.approx(np.mean(worse**2 - base**2))
    assert "mean squared error" in rmse.explanation()
    mae = error_change("mae", base, worse, 0.0, 0.95)
    expected = stats.ttest_rel(np.abs(worse), np.abs(base), alternative="greater").pvalue
    assert mae.significant and mae.p_value == pytest.approx(expected)


def test_an_allowed_rise_is_subtracted_before_the_test():
    rng = np.random.default_rng(5)
    base = rng.normal(0, 10, 400)
    worse = base * 1.2
    change = error_change("rmse", base, worse, 0.0, 0.95).change
    assert not error_change("rmse", base, worse, change * 1.5, 0.95).significant
    assert error_change("rmse", base, worse, change * 0.5, 0.95).significant
    mae = error_change("mae", base, worse, 0.0, 0.95).change
    assert not error_change("mae", base, worse, mae * 1.01, 0.95).significant
    with pytest.raises(ValueError, match="not 'r2'"):
        error_change("r2", base, worse, 0.0, 0.95)
    assert not error_change("rmse", base, base, 0.0, 0.95).significant  # identical models


def _judges(b: int, c: int, n: int) -> tuple[dict, dict]:
    base, cand = _outcomes(n, b, c, n - b - c - 5)
    labels = np.zeros(n, dtype=np.int64)
    probabilities = {
        "candidate": np.stack([cand, ~cand], axis=1).astype(float),
        "baseline": np.stack([base, ~base], axis=1).astype(float),
    }
    judges = changes.classification_judges(labels, probabilities, EvaluationSettings())
    return judges, {OVERALL: np.ones(n, dtype=bool), "island=Dream": np.arange(n) < 40}


def test_tfma_change_failures_are_kept_only_when_significant():
    judges, masks = _judges(2, 0, 300)
    failures = [
        ThresholdFailure("accuracy", OVERALL, "change", 0.0, -2 / 300),
        ThresholdFailure("accuracy", "island=Dream", "change", 0.0, -0.05),
        ThresholdFailure("roc_auc", OVERALL, "change", 0.0, -0.001),  # no per-row outcome
        ThresholdFailure("accuracy", OVERALL, "value", 0.999, 0.99),
    ]
    kept, tests = changes.judge(failures, masks, judges)
    assert [(f.metric, f.kind) for f in kept] == [("roc_auc", "change"), ("accuracy", "value")]
    assert {(t.slice, t.tfma_failed, t.cleared) for t in tests} == {
        (OVERALL, True, True),
        ("island=Dream", True, True),
    }
    clean = SimpleNamespace(missing_thresholds=False, missing_slices=[], missing_cross_slices=[])
    assert not changes.cleared(clean, kept, tests)
    assert changes.cleared(clean, [], tests)
    assert not changes.cleared(SimpleNamespace(**{**vars(clean), "missing_slices": [1]}), [], tests)

    judges, masks = _judges(40, 1, 300)
    kept, tests = changes.judge(failures[:1], masks, judges)
    assert len(kept) == 1 and kept[0].p_value is not None and kept[0].p_value < 1e-9
    assert "exact McNemar p = " in kept[0].describe()
    assert tests[0].to_dict()["verdict"] == "significant regression"
    assert not changes.cleared(clean, kept, tests)


def test_no_baseline_or_no_accuracy_threshold_means_no_paired_test():
    labels = np.zeros(4, dtype=np.int64)
    only = {"candidate": np.ones((4, 2))}
    assert changes.classification_judges(labels, only, EvaluationSettings()) == {}
    both = {**only, "baseline": np.ones((4, 2))}
    auc = EvaluationSettings(change_thresholds={"roc_auc": 0.0})
    assert changes.classification_judges(labels, both, auc) == {}
    targets = np.zeros(4)
    judged = changes.regression_judges(targets, {"candidate": targets, "baseline": targets}, auc)
    assert set(judged) == {"rmse"}  # no regression threshold set: RMSE may not rise
