"""Metrics of a model against true labels: classification and regression (no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np

CLASSIFICATION_METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRIC_NAMES = ("rmse", "mae", "r2")
METRIC_NAMES = CLASSIFICATION_METRIC_NAMES + REGRESSION_METRIC_NAMES


def classification_metrics(
    labels: list[str], probabilities: np.ndarray, classes: list[str]
) -> dict[str, float]:
    """Accuracy plus macro-averaged precision, recall, F1 and one-vs-rest ROC-AUC.

    Args:
        labels: True class of each row. Rows of a class the model does not know count as
            errors in accuracy; the macro averages are taken over the classes it knows.
        probabilities: One row per example, one column per class in ``classes`` order.
        classes: Class names.

    Returns:
        Metric name to value; ``roc_auc`` is NaN when fewer than two classes occur.
    """
    from sklearn import metrics

    index = {c: i for i, c in enumerate(classes)}
    y_true = np.asarray([index.get(label, -1) for label in labels])
    known = y_true >= 0
    accuracy = float(np.mean(y_true == probabilities.argmax(axis=1))) if len(labels) else math.nan
    y_true, probabilities = y_true[known], probabilities[known]
    y_pred = probabilities.argmax(axis=1)
    present = sorted(set(y_true.tolist()))
    scores = {
        "accuracy": accuracy,
        "precision": float(
            metrics.precision_score(
                y_true, y_pred, labels=present, average="macro", zero_division=0
            )
        ),
        "recall": float(
            metrics.recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "f1": float(
            metrics.f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "roc_auc": math.nan,
    }
    if len(present) >= 2:
        one_hot = np.eye(len(classes))[y_true][:, present]
        scores["roc_auc"] = float(
            metrics.roc_auc_score(one_hot, probabilities[:, present], average="macro")
        )
    return scores


def regression_metrics(targets: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of predictions against numeric targets.

    Args:
        targets: True values (rows with a missing target are ignored).
        predictions: Predicted values, one per row.

    Returns:
        Metric name to value; ``r2`` is NaN when the targets do not vary.
    """
    y = np.asarray(targets, dtype=np.float64).ravel()
    p = np.asarray(predictions, dtype=np.float64).ravel()
    known = ~np.isnan(y)
    y, p = y[known], p[known]
    residuals = y - p
    spread = float(np.sum((y - y.mean()) ** 2)) if y.size else 0.0
    return {
        "rmse": float(np.sqrt(np.mean(residuals**2))) if y.size else math.nan,
        "mae": float(np.mean(np.abs(residuals))) if y.size else math.nan,
        "r2": 1.0 - float(np.sum(residuals**2)) / spread if spread > 0 else math.nan,
    }
