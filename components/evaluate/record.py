"""The evaluation's verdict and its record: failed thresholds, per-slice metrics, alerts, gauges."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from driftgate.observe.alerts import Alert
from driftgate.stats.paired import PairedTest

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
    p_value: float | None = None  # the paired test's, for a change kept as significant
    test: str = ""  # that test's name

    def describe(self) -> str:
        """One sentence: which threshold failed, where, by how much (and the paired p-value)."""
        text = self._sentence()
        return f"{text} ({self.test} p = {self.p_value:.3g})" if self.p_value is not None else text

    def _sentence(self) -> str:
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
class ChangeTest:
    """A change threshold on one slice, judged by a paired test on that slice's rows.

    Attributes:
        metric: ``accuracy``, ``rmse`` or ``mae``.
        slice: ``overall`` or ``feature=value``.
        tfma_failed: Whether TFMA's bare comparison failed the threshold.
        test: The paired test; a TFMA failure blocks the blessing only when it is significant.
    """

    metric: str
    slice: str
    tfma_failed: bool
    test: PairedTest

    @property
    def cleared(self) -> bool:
        """A TFMA failure that the paired test found no significant change in."""
        return self.tfma_failed and not self.test.significant

    def to_dict(self) -> dict:
        """JSON-friendly form: metric, slice, TFMA's verdict and the test's facts."""
        return {
            "metric": self.metric,
            "slice": self.slice,
            "tfma_failed": self.tfma_failed,
            **self.test.to_dict(),
        }


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
    change_tests: list[ChangeTest] = field(default_factory=list)  # paired tests of changes

    def overall(self, model: str = "candidate") -> dict[str, float]:
        """The model's metrics on the whole eval set."""
        return self.metrics.get(OVERALL, {}).get(model, {})

    def to_dict(self) -> dict:
        """JSON-friendly form (stored with the pushed version)."""
        return {**asdict(self), "change_tests": [t.to_dict() for t in self.change_tests]}

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
            cleared = [
                f"{t.metric} on {t.slice} {t.test.change:+.4f}, p = {t.test.p_value:.3g}"
                for t in self.change_tests
                if t.cleared
            ]
            if cleared:
                shown = "; ".join(cleared[:4]) + ("; …" if len(cleared) > 4 else "")
                return (
                    f"blessed: no significant regression against version {self.baseline_version}"
                    f" (the bare comparison failed {len(cleared)} change threshold(s), none "
                    f"significant in a paired test: {shown})"
                )
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
            "| metric | slice | kind | bound | value | paired p-value |",
            "|---|---|---|---|---|---|",
        ]
        for f in result.failures:
            p = "–" if f.p_value is None else f"{f.p_value:.3g}"
            lines.append(
                f"| {f.metric} | {f.slice} | {f.kind} | {f.bound:.4f} | {f.value:.4f} | {p} |"
            )
        lines.append("")
    lines += change_test_lines(result.change_tests)
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


def change_test_lines(tests: list[ChangeTest]) -> list[str]:
    """The record's table of change thresholds judged by a paired test (none: no lines)."""
    if not tests:
        return []
    confidence = tests[0].test.confidence
    lines = [
        f"## Change thresholds, paired test on the same rows ({confidence:.0%} confidence)",
        "",
        "A failed bare comparison (TFMA) blocks the blessing only when the regression is "
        "significant.",
        "",
        "| metric | slice | allowed | change | rows | test | p-value | TFMA alone | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tests:
        p = t.test
        lines.append(
            f"| {t.metric} | {t.slice} | {p.allowed:.4f} | {p.change:+.4f} | {p.evidence} | "
            f"{p.method} | {p.p_value:.3g} | {'failed' if t.tfma_failed else 'holds'} | "
            f"{p.verdict} |"
        )
    return [*lines, ""]


def gauges(result: EvaluationResult, counters: dict[str, float]) -> dict[str, dict[tuple, float]]:
    """Prometheus series (``observe.monitoring.METRICS``) of an evaluation and run counters."""
    from driftgate.models.metrics import METRIC_NAMES

    def ratios(model: str) -> dict[str, float]:
        return {k: v for k, v in result.overall(model).items() if k in METRIC_NAMES and v == v}

    return {
        "candidate_score_ratio": {(k,): v for k, v in ratios("candidate").items()},
        "deployed_model_score_ratio": {(k, "holdout"): v for k, v in ratios("baseline").items()},
        "candidate_blessed": {(): float(result.blessed)},
        **{name: {(): value} for name, value in counters.items()},
    }
