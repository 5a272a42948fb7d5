"""Which triggers open the gate (the ``gate`` settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TriggerName = Literal[
    "performance",
    "estimated_performance",
    "expected_gain",
    "drift",
    "new_data",
    "new_class",
    "schedule",
]


class BudgetSettings(BaseModel):
    """GPU-hours the gate may spend on retraining per period (``gate.budget``).

    Attributes:
        gpu_hours: GPU-hours per period (training seconds × ``platform.gpu.count`` / 3600).
        period_days: The trailing period the spend is counted over.
    """

    model_config = ConfigDict(extra="forbid")

    gpu_hours: float = Field(gt=0)
    period_days: float = Field(30.0, gt=0)


class GateSettings(BaseModel):
    """Which triggers open the gate.

    Attributes:
        retrain_on: The triggers that retrain (see ``components/decide/gate.py``).
        drift_fallback: Let drift open the gate when the batch has no labels and no trusted
            performance estimate.
        min_expected_gain: For ``expected_gain``: the smallest predicted gain of a retrain
            over the deployed model worth paying for, in the primary metric: accuracy points
            for classification; for regression, the share by which RMSE falls (0.005: 0.5 %).
        expected_gain_confidence: How sure the prediction must be: the gain's lower bound at
            this one-sided confidence must reach ``min_expected_gain``. Moderate by default: a
            retrain that gains less than predicted costs its GPU time, but the evaluation still
            refuses a worse candidate, while a retrain not made costs quality on every batch.
        budget: GPU-hours per period; None spends without a limit.
        new_data_ratio: For ``new_data``: labelled rows not trained on, as a multiple of the
            rows the deployed model trained on, that drift needs to open the gate.
        every_runs: For ``schedule``: retrain after this many runs without one (0: off).
        max_calibration_error: Largest expected calibration error (on held-out rows at
            training time) under which the performance estimate is trusted.
        remind_every: While degradation or drift lasts, alert again every this many runs.
    """

    model_config = ConfigDict(extra="forbid")

    retrain_on: list[TriggerName] = [
        "performance",
        "estimated_performance",
        "expected_gain",
        "new_data",
        "new_class",
    ]
    drift_fallback: bool = True
    min_expected_gain: float = Field(0.005, gt=0)
    expected_gain_confidence: float = Field(0.8, gt=0.5, lt=1)
    budget: BudgetSettings | None = None
    new_data_ratio: float = Field(2.0, gt=0)
    every_runs: int = Field(0, ge=0)
    max_calibration_error: float = Field(0.05, ge=0, le=1)
    remind_every: int = Field(10, ge=1)
