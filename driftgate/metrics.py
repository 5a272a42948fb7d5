"""Classification metrics of a model's probabilities against true labels (no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc")


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
