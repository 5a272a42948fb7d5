"""Which triggers open the gate (the ``gate`` settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TriggerName = Literal[
    "performance", "estimated_performance", "drift", "new_data", "new_class", "schedule"
]


class GateSettings(BaseModel):
    """Which triggers open the gate.

    Attributes:
        retrain_on: The triggers that retrain (see ``components/decide/gate.py``).
        drift_fallback: Let drift open the gate when the batch has no labels and no trusted
            performance estimate.
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
        "new_data",
        "new_class",
    ]
    drift_fallback: bool = True
    new_data_ratio: float = Field(2.0, gt=0)
    every_runs: int = Field(0, ge=0)
    max_calibration_error: float = Field(0.05, ge=0, le=1)
    remind_every: int = Field(10, ge=1)
