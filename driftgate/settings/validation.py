"""Which anomalies block a run (the ``validation`` settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ValidationSettings(BaseModel):
    """Which anomalies block a run.

    Attributes:
        allow_extra_columns: Accept columns the schema does not know (they are dropped).
        max_unseen_fraction: Largest share of rows with a value outside a categorical
            feature's domain that is only a warning (such values also count toward drift);
            above it the batch is rejected. New label classes never block: they are a reason
            to retrain.
        presence_slack: On the first run, how far below the observed share of present values
            ``presence.min_fraction`` is set.
        ranges: Hard ``[min, max]`` bounds for numeric features; values outside block the run.
    """

    model_config = ConfigDict(extra="forbid")

    allow_extra_columns: bool = False
    max_unseen_fraction: float = Field(0.1, ge=0, le=1)
    presence_slack: float = Field(0.1, ge=0, le=1)
    ranges: dict[str, tuple[float, float]] = {}
