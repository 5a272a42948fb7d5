"""The learning curve's fit, the ``expected_gain`` trigger and the GPU budget."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from driftgate.components.decide import budget
from driftgate.components.decide.core import decide
from driftgate.components.decide.gate import Findings, expected_gain
from driftgate.components.train.curve import nested_subsets
from driftgate.models.learning_curve import LearningCurve, fit_curve
from driftgate.settings.gate import BudgetSettings, GateSettings

ROWS = [250, 500, 1000, 2000]


def _outcomes(a: float, b: float, c: float, held_out: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random(held_out) < 1 - (a + b * n**-c)).astype(float) for n in ROWS]


@pytest.mark.parametrize("a, b, c", [(0.05, 2.0, 0.5), (0.10, 6.0, 0.8), (0.0, 1.5, 0.3)])
def test_fit_recovers_a_known_power_law_from_noisy_points(a, b, c):
    curve = fit_curve(ROWS, _outcomes(a, b, c, 20_000, seed=3), "accuracy")
    for n in (*ROWS, 8000):
        assert curve.score_at(n) == pytest.approx(1 - (a + b * n**-c), abs=0.012)
    truth = b * (2000**-c - 8000**-c)
    central, low, high = curve.gain(2000, 8000, 0.99)
    assert low <= truth <= high
    assert central == pytest.approx(truth, abs=0.01)


def test_the_interval_narrows_with_more_held_out_rows():
    widths = []
    for rows in (300, 30_000):
        _, low, high = fit_curve(ROWS, _outcomes(0.05, 2.0, 0.5, rows, 1), "accuracy").gain(
            2000, 4000, 0.9
        )
        widths.append(high - low)
    assert widths[0] > widths[1]


def test_a_flat_curve_predicts_no_gain_and_rmse_gains_are_relative():
    flat = fit_curve(ROWS, _outcomes(0.08, 0.0, 0.5, 5000, 2), "accuracy")
    assert flat.gain(2000, 20_000, 0.8)[1] < 0.005
    rng = np.random.default_rng(0)
    squared = [(rng.normal(0, 1 + 20 / n**0.5, 4000)) ** 2 for n in ROWS]
    rmse = fit_curve(ROWS, squared, "rmse")
    assert rmse.lower_is_better and rmse.scores[0] > rmse.scores[-1]
    central, _, _ = rmse.gain(2000, 8000, 0.8)
    expected = (rmse.score_at(2000) - rmse.score_at(8000)) / rmse.score_at(2000)
    assert central == pytest.approx(expected, rel=1e-6)


def test_a_curve_survives_its_metadata_round_trip_and_needs_three_points():
    curve = fit_curve(ROWS, _outcomes(0.05, 2.0, 0.5, 500, 4), "accuracy", bootstrap=20)
    again = LearningCurve.from_dict(curve.to_dict())
    assert again.gain(2000, 4000, 0.8) == pytest.approx(curve.gain(2000, 4000, 0.8), abs=1e-5)
    with pytest.raises(ValueError, match="3 points"):
        fit_curve(ROWS[:2], _outcomes(0.05, 2.0, 0.5, 100, 1)[:2], "accuracy")


def test_nested_subsets_are_nested_and_keep_every_class():
    labels = ["a"] * 90 + ["b"] * 10
    subsets = nested_subsets(labels, 100, [0.1, 0.25, 0.5], seed=1)
    assert [s.size for s in subsets] == [10, 24, 50]
    for small, large in itertools.pairwise(subsets):
        assert set(small) <= set(large)
    assert all({labels[i] for i in s} == {"a", "b"} for s in subsets)


def _findings(curve: LearningCurve, unseen: int, **extra) -> Findings:
    return Findings(
        has_model=True,
        has_labels=True,
        rows=unseen,
        trained_rows=curve.rows[-1],
        unseen_rows=unseen,
        learning_curve=curve.to_dict(),
        **extra,
    )


STEEP = fit_curve(ROWS, _outcomes(0.05, 2.0, 0.5, 20_000, 5), "accuracy")
FLAT = fit_curve(ROWS, _outcomes(0.05, 0.0, 0.5, 4000, 6), "accuracy")


def test_expected_gain_fires_on_a_steep_curve_and_not_on_a_flat_one():
    steep = expected_gain(_findings(STEEP, 3000), GateSettings())
    assert steep.opens and steep.gain[1] >= 0.005 and steep.rows == (2000, 5000)
    assert "2,000 rows" in steep.value and "5,000" in steep.value
    assert not expected_gain(_findings(FLAT, 3000), GateSettings()).fired
    assert not expected_gain(_findings(STEEP, 0), GateSettings()).fired
    missing = expected_gain(
        Findings(has_model=True, has_labels=True, learning_curve_note="too few rows"),
        GateSettings(),
    )
    assert not missing.fired and missing.value == "too few rows"
    assert decide(_findings(STEEP, 3000), GateSettings()).retrain
    assert not decide(_findings(FLAT, 3000), GateSettings()).retrain


def _budgeted(spent: float, gpu_hours: float = 1.0) -> tuple[GateSettings, dict]:
    gate = GateSettings(budget=BudgetSettings(gpu_hours=gpu_hours, period_days=30))
    now = 100 * budget.DAY
    history = {"spend": [(now - 40 * budget.DAY, 5.0), (now - budget.DAY, spent)], "now": now}
    return gate, {**history, "last_cost": 0.1}


def test_the_budget_defers_the_lowest_value_retrain_first():
    gate, history = _budgeted(spent=0.5)  # the 5 GPU-hours 40 days ago are outside the period
    strong = fit_curve(ROWS, _outcomes(0.0, 12.0, 0.5, 20_000, 7), "accuracy")
    weak_gain = decide(_findings(STEEP, 3000, **history), gate)
    strong_gain = decide(_findings(strong, 3000, **history), gate)
    weak_low = expected_gain(_findings(STEEP, 3000), gate).gain[1]
    strong_low = expected_gain(_findings(strong, 3000), gate).gain[1]
    assert weak_low < strong_low
    assert strong_gain.retrain and "spent" in strong_gain.budget
    assert not weak_gain.retrain and weak_gain.deferred
    assert "deferred for lack of GPU budget" in weak_gain.reason
    assert "0.5000 of 1 GPU-hours" in weak_gain.reason
    # Without spend, both go ahead; an urgent retrain goes ahead while its cost fits.
    gate, fresh = _budgeted(spent=0.0)
    assert decide(_findings(STEEP, 3000, **fresh), gate).retrain
    urgent = _findings(FLAT, 3000, **history, new_classes=["c"])
    assert decide(urgent, gate).retrain
    spent_all = {**history, "spend": [(history["now"], 0.99)]}
    full = _findings(FLAT, 3000, **spent_all, new_classes=["c"])
    assert not decide(full, gate).retrain


def test_a_forced_run_is_never_deferred():
    gate, history = _budgeted(spent=0.99)
    assert decide(_findings(STEEP, 3000, **history), gate, force=True).retrain


def test_the_decision_record_shows_the_curve_the_prediction_and_the_bound():
    from driftgate.components.decide.record import record_markdown

    findings = _findings(STEEP, 3000)
    decision = decide(findings, GateSettings())
    text = record_markdown(decision, {"deployed_version": 3, "learning_curve": STEEP.to_dict()})
    assert "## Learning curve of the deployed version" in text
    assert "| 250 |" in text and "| 2,000 |" in text
    assert "| expected_gain | yes | **yes** | accuracy" in text
    assert "gain ≥ 0.005 at 80% confidence" in text
