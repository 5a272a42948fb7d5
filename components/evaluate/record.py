"""The evaluation's verdict and its record: failed thresholds, per-slice metrics, alerts, gauges."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from driftgate.alerts import Alert

OVERALL = "overall"
MISSING = "(missing)"


@dataclass
class ThresholdFailure:
    """A threshold the candidate did not meet."""

    metric: str
    slice: str
    kind: str  # "value" / "max" (bounds), "change" / "increase" (against the baseline)
    bound: float
    value: float

    def describe(self) -> str:
        """One sentence: which threshold failed, where, and by how much."""
        if self.kind == "max":
            return (
                f"{self.metric} on {self.slice} is {self.value:.4f}, over the maximum "
                f"{self.bound:.4f} by {self.value - self.bound:.4f}"
            )
        if self.kind == "increase":
            return (
                f"{self.metric} on {self.slice} rose by {self.value:.4f} against the deployed "
                f"model, more than the allowed {self.bound:.4f}"
            )
        if self.kind == "value":
            return (
                f"{self.metric} on {self.slice} is {self.value:.4f}, under the minimum "
                f"{self.bound:.4f} by {self.bound - self.value:.4f}"
            )
        return (
            f"{self.metric} on {self.slice} dropped by {-self.value:.4f} against the deployed "
            f"model, more than the allowed {-self.bound:.4f}"
        )


@dataclass
class EvaluationResult:
    """The verdict and the numbers behind it."""

    blessed: bool
    baseline_version: int | None
    classes: list[str]
    metrics: dict[str, dict[str, dict[str, float]]]  # slice -> model -> metric -> value
    failures: list[ThresholdFailure] = field(default_factory=list)
    unjudged_slices: list[str] = field(default_factory=list)
    confusion: dict[str, list[list[int]]] = field(default_factory=dict)  # model -> matrix
    roc: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # model -> fpr/tpr/thr
    under_floor: list[str] = field(default_factory=list)  # floors waived: still under them
    task: str = "classification"
    residuals: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> summary

    def overall(self, model: str = "candidate") -> dict[str, float]:
        """The model's metrics on the whole eval set."""
        return self.metrics.get(OVERALL, {}).get(model, {})

    def to_dict(self) -> dict:
        """JSON-friendly form (stored with the pushed version)."""
        return asdict(self)

    def reason(self) -> str:
        """Why the candidate was blessed or rejected."""
        if self.blessed:
            against = (
                f"no regression against version {self.baseline_version}"
                if self.baseline_version
                else "first model: value thresholds only"
            )
            if self.under_floor:
                return "blessed, still under the floor: " + "; ".join(self.under_floor)
            return f"blessed: every threshold holds on every slice ({against})"
        return "rejected: " + "; ".join(f.describe() for f in self.failures)


def finite(values: dict[str, float]) -> dict[str, float]:
    """Drops NaN metrics (for example ROC-AUC on a slice holding a single class)."""
    return {k: v for k, v in values.items() if not math.isnan(v)}


def under_floor_alert(result: EvaluationResult, model: str, run: str | None) -> Alert:
    """The alert for a candidate promoted although it is still under a floor."""
    return Alert(
        "under_floor",
        model,
        f"{model}: promoted a candidate that is still under its floor",
        f"The deployed version {result.baseline_version} is under the floor too, and the "
        "candidate beats it on the same held-out rows; look at the data or the floor.",
        {f"note {i + 1}": note for i, note in enumerate(result.under_floor)},
        run,
    )


def rejection_alert(result: EvaluationResult, model: str, run: str | None) -> Alert:
    """The alert for a rejected candidate: every failed threshold, by slice."""
    fields = {f"{f.metric} on {f.slice}": f.describe() for f in result.failures[:10]}
    return Alert(
        "rejected",
        model,
        f"{model}: retrained candidate rejected",
        f"The candidate did not pass evaluation against version {result.baseline_version}; "
        "production is unchanged.",
        fields,
        run,
    )


def record_markdown(result: EvaluationResult) -> str:
    """The evaluation record: verdict, failed thresholds and per-slice metrics of both models."""
    baseline = (
        f"version {result.baseline_version}" if result.baseline_version else "none (first model)"
    )
    lines = [
        f"# Evaluation: {'BLESSED' if result.blessed else 'REJECTED'}",
        "",
        result.reason() + ".",
        "",
        f"- baseline: {baseline}",
        "",
    ]
    if result.unjudged_slices:
        lines += [
            f"Not judged (fewer than the minimum rows): {', '.join(result.unjudged_slices)}.",
            "",
        ]
    if result.failures:
        lines += [
            "## Failed thresholds",
            "",
            "| metric | slice | kind | bound | value |",
            "|---|---|---|---|---|",
        ]
        for f in result.failures:
            lines.append(f"| {f.metric} | {f.slice} | {f.kind} | {f.bound:.4f} | {f.value:.4f} |")
        lines.append("")
    lines += [
        "## Metrics by slice",
        "",
        "| slice | metric | candidate | baseline | change |",
        "|---|---|---|---|---|",
    ]
    for slice_name, models in result.metrics.items():
        candidate, baseline = models.get("candidate", {}), models.get("baseline", {})
        for metric, value in sorted(finite(candidate).items()):
            if metric.endswith("_diff"):
                continue
            base = baseline.get(metric)
            diff = candidate.get(f"{metric}_diff")
            base_text = "–" if base is None else f"{base:.4f}"
            diff_text = "–" if diff is None or math.isnan(diff) else f"{diff:+.4f}"
            lines.append(f"| {slice_name} | {metric} | {value:.4f} | {base_text} | {diff_text} |")
    return "\n".join(lines) + "\n"


def gauges(result: EvaluationResult, counters: dict[str, float]) -> dict[str, dict[tuple, float]]:
    """Prometheus series (``driftgate.monitoring.METRICS``) of an evaluation and run counters."""
    from driftgate.metrics import METRIC_NAMES

    def ratios(model: str) -> dict[str, float]:
        return {k: v for k, v in result.overall(model).items() if k in METRIC_NAMES and v == v}

    return {
        "candidate_score_ratio": {(k,): v for k, v in ratios("candidate").items()},
        "deployed_model_score_ratio": {(k, "holdout"): v for k, v in ratios("baseline").items()},
        "candidate_blessed": {(): float(result.blessed)},
        **{name: {(): value} for name, value in counters.items()},
    }
