"""When the deployed model counts as degraded (the ``performance`` settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from driftgate.models.metrics import METRIC_NAMES


class PerformanceSettings(BaseModel):
    """When the deployed model counts as degraded on a labelled batch.

    Metrics: ``accuracy`` and macro-averaged ``precision``, ``recall``, ``f1`` and ``roc_auc``;
    for regression ``r2`` (a minimum) and ``rmse`` and ``mae`` (maxima). Bounds on metrics the
    model's task does not have are not applied.

    Attributes:
        thresholds: Absolute floors; a metric under its floor is degraded.
        max_drop: Largest tolerated drop of a metric under the deployed model's own score on
            its held-out rows at training time (stored with the version). The drop must be
            significant at ``confidence`` given both sample sizes, so small batches need
            larger drops.
        metrics: The metrics ``max_drop`` applies to.
        confidence: One-sided confidence of the drop test.
    """

    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, float] = {}
    max_drop: float | None = Field(0.05, ge=0, le=1)
    metrics: list[str] = ["accuracy"]
    confidence: float = Field(0.95, gt=0.5, lt=1)

    def model_post_init(self, _context: object) -> None:
        """Rejects unknown metric names."""
        unknown = (set(self.thresholds) | set(self.metrics)) - set(METRIC_NAMES)
        if unknown:
            raise ValueError(
                f"unknown metric(s) {sorted(unknown)}; choose from {list(METRIC_NAMES)}"
            )
