"""Confidence-based performance estimation against realised metrics."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from driftgate.errors import DataError
from driftgate.models.estimation import ESTIMATED_METRICS, Estimate, calibration_error, estimate
from driftgate.models.metrics import classification_metrics


def _draw_labels(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One label per row, drawn from that row's probabilities: a perfectly calibrated model."""
    return (rng.random(len(p))[:, None] >= np.cumsum(p, axis=1)).sum(axis=1)


def _realised(p: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    classes = [str(c) for c in range(p.shape[1])]
    return classification_metrics([str(y) for y in labels], p, classes)


def test_accuracy_interval_covers_realised_accuracy_at_its_level():
    rng = np.random.default_rng(11)
    batches, covered, errors = 400, 0, []
    for _ in range(batches):
        n = int(rng.choice([100, 300, 1000]))
        p = rng.dirichlet(np.full(3, 0.6), size=n)
        labels = _draw_labels(rng, p)
        realised = float(np.mean(p.argmax(axis=1) == labels))
        found = estimate(p, ["accuracy"])["accuracy"]
        covered += found.low <= realised <= found.high
        errors.append(found.value - realised)
    # 95 % nominal; 400 batches give a standard error of 1.1 %.
    assert 0.92 <= covered / batches <= 0.98
    assert abs(np.mean(errors)) < 0.005


def test_macro_metrics_track_realised_values():
    rng = np.random.default_rng(5)
    batches = 100
    covered = dict.fromkeys(("precision", "recall", "f1"), 0)
    for _ in range(batches):
        p = rng.dirichlet(np.full(4, 0.5), size=500)
        realised = _realised(p, _draw_labels(rng, p))
        found = estimate(p, ["precision", "recall", "f1"], draws=100, seed=int(rng.integers(1e9)))
        for metric in covered:
            assert abs(found[metric].value - realised[metric]) < 0.08
            covered[metric] += found[metric].low <= realised[metric] <= found[metric].high
    assert all(count / batches >= 0.88 for count in covered.values()), covered


def test_logistic_regression_estimate_matches_a_fresh_batch():
    x, y = make_classification(
        n_samples=12_000, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    model = LogisticRegression(max_iter=1000).fit(x[:6000], y[:6000])
    held_out = model.predict_proba(x[6000:9000])
    assert calibration_error(held_out, y[6000:9000]) < 0.05
    batch = model.predict_proba(x[9000:])
    found = estimate(batch)
    realised = _realised(batch, y[9000:])
    assert found["accuracy"].low <= realised["accuracy"] <= found["accuracy"].high
    assert found["accuracy"].rows == 3000
    for metric in ("precision", "recall", "f1"):
        assert abs(found[metric].value - realised[metric]) < 0.03


def test_calibration_error_separates_calibrated_from_overconfident_models():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.full(3, 1.0), size=20_000)
    labels = _draw_labels(rng, p)
    sharpened = p**4 / np.sum(p**4, axis=1, keepdims=True)  # same ranking, overconfident
    assert calibration_error(p, labels) < 0.02
    assert calibration_error(sharpened, labels) > 0.1
    assert estimate(sharpened)["accuracy"].value > np.mean(p.argmax(axis=1) == labels) + 0.1


def test_expected_confusion_matrix_by_hand():
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    found = estimate(p)
    # class 0: TP 1.5, FP 0.5, FN 0.2; class 1: TP 0.8, FP 0.2, FN 0.5
    assert found["accuracy"].value == pytest.approx(2.3 / 3)
    assert found["precision"].value == pytest.approx((1.5 / 2.0 + 0.8 / 1.0) / 2)
    assert found["recall"].value == pytest.approx((1.5 / 1.7 + 0.8 / 1.3) / 2)
    assert found["f1"].value == pytest.approx((3.0 / 3.7 + 1.6 / 2.3) / 2)
    assert list(found) == list(ESTIMATED_METRICS)
    for item in found.values():
        assert 0.0 <= item.low <= item.value <= item.high <= 1.0


def test_binary_vector_empty_batch_and_bad_inputs():
    positive = np.array([0.2, 0.7, 0.9])
    assert estimate(positive) == estimate(np.column_stack([1 - positive, positive]))
    empty = estimate(np.empty((0, 3)), ["accuracy"])["accuracy"]
    assert empty.rows == 0 and np.isnan(empty.value)
    assert np.isnan(calibration_error(np.empty((0, 2)), np.empty(0)))
    with pytest.raises(DataError, match="roc_auc"):
        estimate(positive, ["roc_auc"])
    with pytest.raises(DataError, match="logits"):
        estimate(np.array([[2.0, 1.0]]))
    with pytest.raises(DataError, match="labels for 3 rows"):
        calibration_error(np.column_stack([1 - positive, positive]), np.array([0, 1]))
    assert isinstance(estimate(positive)["accuracy"], Estimate)
