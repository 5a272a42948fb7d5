"""The GPU budget (``gate.budget``): what a retrain may cost, and which retrains wait.

Spend is the GPU-hours of the trainings in the trailing period, as the train step recorded
them in the batch ledger (training seconds × the GPUs in its pod / 3600). A retrain's cost is
estimated from the latest training's, scaled by the rows the new window will have.

- An urgent retrain (no model yet, a measured or estimated drop, a new class) goes ahead when
  its cost fits in what is left of the budget.
- Any other retrain (``expected_gain``, ``new_data``, ``schedule``) must also be worth its
  price, and the price rises as the budget is spent: its predicted gain (the lower bound of
  ``expected_gain``; ``gate.min_expected_gain`` for triggers without a prediction) must reach
  ``gate.min_expected_gain / (1 − u)``, where ``u`` is the share of the budget used once this
  retrain is paid for. So when the budget runs low, the retrains with the least gain per
  GPU-hour wait first, and what is left stays for the urgent ones.

A forced run is never deferred.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from driftgate.components.decide.gate import Findings, Trigger
from driftgate.settings.gate import GateSettings

URGENT = frozenset({"performance", "estimated_performance", "new_class"})
DAY = 86_400.0


@dataclass(frozen=True)
class BudgetVerdict:
    """Whether the budget lets a retrain go ahead, and the numbers behind it."""

    allowed: bool
    note: str
    cost: float


def spent(findings: Findings, period_days: float) -> float:
    """GPU-hours spent in the trailing ``period_days`` before ``findings.now``."""
    since = findings.now - period_days * DAY
    return sum(hours for at, hours in findings.spend if at > since)


def estimated_cost(findings: Findings, opened: list[Trigger]) -> float:
    """GPU-hours of the next retrain: the latest training's, scaled by the window's rows."""
    if findings.last_cost is None:
        return 0.0
    rows = next((t.rows for t in opened if t.rows), None)
    return findings.last_cost * (rows[1] / rows[0] if rows and rows[0] else 1.0)


def judge(findings: Findings, gate: GateSettings, opened: list[Trigger]) -> BudgetVerdict | None:
    """The budget's verdict on a retrain that ``opened`` want (None: no budget is set).

    Args:
        findings: What the check found, with the ledger's spend and the run's time.
        gate: The gate settings (``gate.budget``, ``gate.min_expected_gain``).
        opened: The triggers that opened the gate (empty when only "no model yet" did).
    """
    budget = gate.budget
    if budget is None:
        return None
    used = spent(findings, budget.period_days)
    cost = estimated_cost(findings, opened)
    head = (
        f"{used:.4f} of {budget.gpu_hours:g} GPU-hours spent in the last "
        f"{budget.period_days:g} days; this retrain ≈ {cost:.4f}"
    )
    urgent = not findings.has_model or any(t.name in URGENT for t in opened)
    if urgent or cost == 0:
        allowed = used + cost <= budget.gpu_hours
        return BudgetVerdict(allowed, f"{head}; {'fits' if allowed else 'does not fit'}", cost)
    share = (used + cost) / budget.gpu_hours
    required = gate.min_expected_gain / (1 - share) if share < 1 else math.inf
    gains = [t.gain[1] for t in opened if t.gain]
    value = max(gains) if gains else gate.min_expected_gain
    allowed = value >= required
    return BudgetVerdict(
        allowed,
        f"{head}; at {share:.0%} of the budget a retrain must gain ≥ {required:.4f}, "
        f"this one {value:.4f}",
        cost,
    )


def spend_of(entries: list[dict]) -> tuple[list[tuple[float, float]], float | None]:
    """The (time, GPU-hours) of every recorded training, and the latest one's GPU-hours."""
    trainings = sorted(
        (float(e.get("at", 0.0)), float(e["gpu_hours"]))
        for e in entries
        if e.get("gpu_hours") is not None
    )
    return trainings, (trainings[-1][1] if trainings else None)
