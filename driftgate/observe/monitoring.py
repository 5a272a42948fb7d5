"""The Prometheus metrics driftgate exports through the Pushgateway, and its run counters.

Every metric is declared once in ``METRICS`` (name without the ``driftgate_`` prefix, help,
type, labels besides ``model``); the steps' gauge builders produce values for these names only,
and the Grafana dashboard and alert rules in ``manifests/components/monitoring`` query them.
Counters (``*_total``) are kept in the registry (``<registry>/<model>/counters.json``) because
each step is a fresh process and the Pushgateway only stores the last value pushed.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Literal

from driftgate.registry.integrity import atomic_write

PREFIX = "driftgate_"
COUNTERS = "counters.json"
Kind = Literal["gauge", "counter"]
METRICS: dict[str, tuple[str, Kind, tuple[str, ...]]] = {
    "feature_js_divergence": (
        "Jensen-Shannon divergence (base 2) of a feature in the newest batch from the deployed "
        "model's training data",
        "gauge",
        ("feature",),
    ),
    "deployed_model_score_ratio": (
        "The deployed model's score: source=measured on the newest labelled batch, "
        "source=holdout on the held-out rows of a retraining run",
        "gauge",
        ("metric", "source"),
    ),
    "candidate_score_ratio": (
        "The last candidate's score on held-out rows",
        "gauge",
        ("metric",),
    ),
    "drift_detected": ("1 when the newest batch drifted", "gauge", ()),
    "performance_degraded": ("1 when the deployed model fell under a bound", "gauge", ()),
    "retrain_decision": ("1 when the last run decided to retrain", "gauge", ()),
    "candidate_blessed": ("1 when the last candidate was blessed", "gauge", ()),
    "last_run_timestamp_seconds": (
        "Unix time of the last run that reached the retraining decision",
        "gauge",
        (),
    ),
    "production_version": ("The registry version in production", "gauge", ()),
    "retrains_total": ("Candidates trained and evaluated", "counter", ()),
    "train_seconds_total": ("Wall seconds spent training candidates", "counter", ()),
    "train_gpu_seconds_total": (
        "GPU seconds held by training (wall seconds times GPUs in the pod)",
        "counter",
        (),
    ),
    "pushes_total": ("Versions pushed to the registry", "counter", ()),
}


def exported_names() -> set[str]:
    """The full names of every series driftgate exports (counters with their ``_total``)."""
    return {PREFIX + name for name in METRICS}


def registry_for(model: str, series: dict[str, dict[tuple, float]]):
    """A ``prometheus_client`` registry holding ``series`` for ``model``.

    Args:
        model: The model label of every series.
        series: Metric name (a ``METRICS`` key) to {label values: value}.

    Raises:
        KeyError: A name is not declared in ``METRICS``.
    """
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    families = []
    for name, values in series.items():
        text, kind, labels = METRICS[name]
        if kind == "counter":
            family = CounterMetricFamily(
                PREFIX + name.removesuffix("_total"), text, labels=["model", *labels]
            )
        else:
            family = GaugeMetricFamily(PREFIX + name, text, labels=["model", *labels])
        for key, value in values.items():
            family.add_metric([model, *key], value)
        families.append(family)

    class _Collector:
        def collect(self):
            return iter(families)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return registry


def bump(model_dir: Path, increments: dict[str, float]) -> dict[str, float]:
    """Adds ``increments`` to the model's counters in the registry; returns the new totals."""
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / COUNTERS
    with open(model_dir / f".{COUNTERS}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        totals = json.loads(path.read_text()) if path.exists() else {}
        for name, value in increments.items():
            totals[name] = totals.get(name, 0.0) + value
        atomic_write(path, json.dumps(totals, sort_keys=True))
    return totals


def gpus_in_pod() -> int:
    """GPUs the NVIDIA device plugin gave this container (``NVIDIA_VISIBLE_DEVICES``)."""
    visible = os.environ.get("NVIDIA_VISIBLE_DEVICES", "").strip()
    if visible in ("", "void", "none", "all"):
        return 0
    return len([d for d in visible.split(",") if d.strip()])


def training_increments(metadata: dict) -> dict[str, float]:
    """Counter increments of one training, from the candidate's metadata."""
    seconds = float(metadata.get("train_seconds", 0.0))
    return {
        "retrains_total": 1.0,
        "train_seconds_total": seconds,
        "train_gpu_seconds_total": seconds * int(metadata.get("gpus", 0)),
    }
