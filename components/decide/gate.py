"""What opens the gate: named triggers, each with its value and its bound.

- ``performance``: the deployed model, scored on the labelled batch, is under a floor or has
  dropped significantly under its own held-out score (``performance`` settings).
- ``estimated_performance``: on a batch without labels, its accuracy estimated from its own
  probabilities (confidence-based, as NannyML's CBPE) is under the bound. Trusted only when the
  version's calibration error, measured at training time, is under
  ``gate.max_calibration_error``.
- ``expected_gain``: the deployed version's learning curve (measured at training time on
  nested subsets of its rows, ``components/train/curve.py``) predicts that a retrain on the
  window at hand — the rows it trained on plus the labelled rows it never saw — gains at least
  ``gate.min_expected_gain`` over its own held-out score, at the lower bound of the gain's
  one-sided ``gate.expected_gain_confidence`` interval. No change is needed: on a stable
  stream it retrains while the curve is steep and stops once it is flat.
- ``drift``: the drift rule fired. By default drift is reported and alerted but opens the gate
  only as a fallback, when neither measured nor trusted estimated performance is available.
- ``new_data``: the features drifted, and the labelled rows the deployed model never trained
  on (every labelled batch it served, kept by ``driftgate.registry.kept_rows``) reach
  ``gate.new_data_ratio`` times the rows it trained on. Drift that does not hurt today still
  moves the inputs toward regions the model saw little of; once that much new labelled data is
  at hand, a candidate trained on all of it is likely to be better, and the evaluation pushes it
  only if it is. With the default ratio of 2, the retrains this costs grow with the logarithm
  of the data.
- ``new_class``: the labels hold a class the deployed model has never seen.
- ``schedule``: ``gate.every_runs`` runs have passed since the last retrain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from driftgate.models.learning_curve import LearningCurve
from driftgate.settings.gate import GateSettings


@dataclass
class Findings:
    """What validation and the check found, as the gate reads it."""

    has_model: bool
    has_labels: bool
    rows: int = 0
    drift_detected: bool = False
    drifted_features: list[str] = field(default_factory=list)
    performance: dict[str, float] | None = None
    degraded: list[str] = field(default_factory=list)
    bounds: dict[str, float] = field(default_factory=dict)
    estimate: dict[str, dict[str, float]] | None = None
    estimate_degraded: list[str] = field(default_factory=list)
    estimate_note: str = ""
    new_classes: list[str] = field(default_factory=list)
    runs_since_retrain: int | None = None
    trained_rows: int = 0
    unseen_rows: int = 0
    learning_curve: dict | None = None
    learning_curve_note: str = ""
    spend: list[tuple[float, float]] = field(default_factory=list)  # (time, GPU-hours) spent
    last_cost: float | None = None  # GPU-hours of the latest training
    now: float = 0.0  # the run's time (seconds since the epoch)

    @classmethod
    def from_check(
        cls,
        details: dict,
        *,
        has_labels: bool,
        rows: int,
        new_classes: list[str],
        runs_since_retrain: int | None = None,
    ) -> Findings:
        """From the check's details (``CheckResult.summary()``) and validation's outputs."""
        return cls(
            has_model=details.get("deployed_version") is not None,
            has_labels=has_labels,
            rows=rows,
            drift_detected=bool(details.get("drift_detected")),
            drifted_features=list(details.get("drifted_features", [])),
            performance=details.get("performance"),
            degraded=list(details.get("degraded", [])),
            bounds=dict(details.get("performance_thresholds", {})),
            estimate=details.get("estimate"),
            estimate_degraded=list(details.get("estimate_degraded", [])),
            estimate_note=details.get("estimate_note", ""),
            new_classes=list(new_classes),
            runs_since_retrain=runs_since_retrain,
            trained_rows=int(details.get("trained_rows", 0)),
            learning_curve=details.get("learning_curve"),
            learning_curve_note=details.get("learning_curve_note", ""),
        )


@dataclass(frozen=True)
class Trigger:
    """One trigger's verdict on this batch."""

    name: str
    enabled: bool
    fired: bool
    value: str
    bound: str
    gain: tuple[float, float, float] | None = None  # expected_gain: central, low, high
    rows: tuple[int, int] | None = None  # expected_gain: training rows now and then

    @property
    def opens(self) -> bool:
        """Whether this trigger opens the gate."""
        return self.enabled and self.fired


def _scores(scores: dict[str, float] | None, metrics: list[str] | None = None) -> str:
    shown = [m for m in (metrics or list(scores or {})) if scores and m in scores]
    return ", ".join(f"{m} {scores[m]:.3f}" for m in shown[:3]) if scores else ""


def triggers(f: Findings, gate: GateSettings) -> list[Trigger]:
    """Every trigger's value, bound and verdict."""
    on = set(gate.retrain_on)
    bound = ", ".join(f"{m} ≥ {b:.3f}" for m, b in f.bounds.items()) or "none set"
    measured = f.performance is not None
    performance = Trigger(
        "performance",
        "performance" in on,
        bool(f.degraded),
        _scores(f.performance, f.degraded or list(f.bounds)) if measured else "no labels",
        bound,
    )
    trusted = f.estimate is not None
    if trusted:
        shown = [m for m in (f.estimate_degraded or list(f.bounds)) if m in f.estimate][:3]
        value = ", ".join(
            f"{m} ≈ {e['value']:.3f} [{e['low']:.3f}, {e['high']:.3f}]"
            for m, e in f.estimate.items()
            if m in shown
        )
    else:
        value = f.estimate_note or "not estimated"
    estimated = Trigger(
        "estimated_performance",
        "estimated_performance" in on,
        trusted and bool(f.estimate_degraded),
        value,
        bound,
    )
    fallback = gate.drift_fallback and not measured and not trusted and f.has_model
    drift = Trigger(
        "drift",
        "drift" in on or fallback,
        f.drift_detected,
        ", ".join(f.drifted_features) or "no feature over its threshold",
        "per-feature thresholds (drift settings)" + (" — fallback" if fallback else ""),
    )
    needed = gate.new_data_ratio * f.trained_rows
    new_data = Trigger(
        "new_data",
        "new_data" in on,
        f.drift_detected and f.has_labels and f.trained_rows > 0 and f.unseen_rows >= needed,
        f"{f.unseen_rows:,} labelled rows not trained on"
        + (f"; drift in {', '.join(f.drifted_features)}" if f.drift_detected else "; no drift"),
        f"drift and ≥ {needed:,.0f} rows ({gate.new_data_ratio:g} × the {f.trained_rows:,} "
        "trained on)",
    )
    new_class = Trigger(
        "new_class",
        "new_class" in on,
        bool(f.new_classes) and f.has_labels,
        ", ".join(repr(c) for c in f.new_classes) or "none",
        "any class the deployed model has not seen",
    )
    runs = f.runs_since_retrain
    schedule = Trigger(
        "schedule",
        "schedule" in on and gate.every_runs > 0,
        runs is not None and gate.every_runs > 0 and runs + 1 >= gate.every_runs,
        "unknown" if runs is None else f"{runs} run(s) since the last retrain",
        f"every {gate.every_runs} runs" if gate.every_runs else "off",
    )
    return [performance, estimated, expected_gain(f, gate), drift, new_data, new_class, schedule]


def expected_gain(f: Findings, gate: GateSettings) -> Trigger:
    """The ``expected_gain`` trigger: what the rows at hand would add, from the curve."""
    enabled = "expected_gain" in gate.retrain_on
    bound = f"gain ≥ {gate.min_expected_gain:g} at {gate.expected_gain_confidence:.0%} confidence"
    if not f.learning_curve:
        note = f.learning_curve_note or "no learning curve stored with the deployed version"
        return Trigger("expected_gain", enabled, False, note, bound)
    curve = LearningCurve.from_dict(f.learning_curve)
    now = max(f.trained_rows, curve.rows[-1])
    then = int(now + f.unseen_rows * curve.train_share)
    then = min(then, max(curve.max_rows, now)) if curve.max_rows else then
    if then <= now:
        return Trigger("expected_gain", enabled, False, "no rows the deployed model lacks", bound)
    central, low, high = curve.gain(now, then, gate.expected_gain_confidence)
    unit = " (share of RMSE)" if curve.lower_is_better else ""
    value = (
        f"{curve.metric} {curve.score_at(now):.4f} at {now:,} rows → {curve.score_at(then):.4f} "
        f"at {then:,}: gain {central:+.4f} [{low:+.4f}, {high:+.4f}]{unit}"
    )
    fired = low >= gate.min_expected_gain
    return Trigger("expected_gain", enabled, fired, value, bound, (central, low, high), (now, then))


def cause(trigger: Trigger) -> str:
    """Why a trigger opened the gate, in words."""
    return {
        "performance": f"the deployed model fell under its bound ({trigger.value}; "
        f"{trigger.bound})",
        "estimated_performance": f"estimated performance under its bound ({trigger.value}; "
        f"{trigger.bound})",
        "drift": f"drift in {trigger.value}"
        + (
            " (no labels and no trusted estimate: drift decides)"
            if "fallback" in trigger.bound
            else ""
        ),
        "expected_gain": f"more data is worth it ({trigger.value}; {trigger.bound})",
        "new_data": f"new labelled data under drift ({trigger.value}; {trigger.bound})",
        "new_class": f"new class {trigger.value} in the labels",
        "schedule": f"scheduled retrain ({trigger.value})",
    }[trigger.name]
