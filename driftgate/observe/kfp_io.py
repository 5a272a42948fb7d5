"""Writing step results into KFP artifacts (Metrics, ClassificationMetrics, Markdown, files).

The artifacts are passed in by the KFP executor; these helpers only call their public methods,
so the library itself never imports kfp.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

ROC_POINTS = 200


def write_text(artifact: Any, text: str) -> None:
    """Writes a text artifact (Markdown, HTML, JSON) to its local path."""
    Path(artifact.path).parent.mkdir(parents=True, exist_ok=True)
    Path(artifact.path).write_text(text)


def write_json(artifact: Any, value: Any) -> None:
    """Writes a JSON artifact."""
    write_text(artifact, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def read_json(artifact: Any) -> Any:
    """Reads a JSON artifact."""
    return json.loads(Path(artifact.path).read_text())


def log_metrics(artifact: Any, values: dict[str, float]) -> None:
    """Logs finite scalars to a Metrics artifact (shown in the run's Metrics view)."""
    for name, value in values.items():
        if value is not None and math.isfinite(value):
            artifact.log_metric(name, float(value))


def log_classification(
    artifact: Any, classes: list[str], matrix: list[list[int]], roc: dict
) -> None:
    """Logs a confusion matrix and a (downsampled) ROC curve to a ClassificationMetrics artifact."""
    artifact.log_confusion_matrix(list(classes), [[int(c) for c in row] for row in matrix])
    fpr, tpr, thresholds = (np.asarray(roc[k], dtype=float) for k in ("fpr", "tpr", "thresholds"))
    if fpr.size > ROC_POINTS:
        keep = np.unique(np.linspace(0, fpr.size - 1, ROC_POINTS).astype(int))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    artifact.log_roc_curve(fpr.tolist(), tpr.tolist(), thresholds.tolist())
