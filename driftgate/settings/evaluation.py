"""Settings of the evaluate step: slices and blessing thresholds (``evaluation``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from driftgate.models.metrics import CLASSIFICATION_METRIC_NAMES, REGRESSION_METRIC_NAMES

# Metrics a threshold may name: TFMA computes each of them (components/evaluate/analysis.py).
THRESHOLD_METRICS = frozenset(
    {*CLASSIFICATION_METRIC_NAMES, "calibration", *REGRESSION_METRIC_NAMES}
)


class EvaluationSettings(BaseModel):
    """What a candidate must achieve to be blessed.

    Attributes:
        slices: Features to slice by.
        value_thresholds: Minimum value of a metric (``accuracy``, ``precision``, ``recall``,
            ``f1``, ``roc_auc``; ``r2``), or maximum (``rmse``, ``mae``) for regression.
        change_thresholds: Largest allowed drop of a metric against the deployed model (rise,
            for ``rmse`` and ``mae``); 0 allows none. On ``accuracy`` (classification) and
            ``rmse``/``mae`` (regression) a failed change threshold blocks the blessing only when
            a paired test on the same held-out rows says the regression is significant
            (``driftgate.stats.paired``); other metrics' change thresholds are TFMA's plain
            comparison.
        change_confidence: Confidence level of that paired test: a regression is significant
            when its one-sided p-value is under ``1 - change_confidence``.
        min_slice_size: Slices with fewer held-out examples are listed but not judged.
        rescue_margin: A candidate under a floor is still blessed when the deployed model is
            under that floor too and the candidate beats it by this much (``blessing.py``).

    Accuracy thresholds hold on the whole eval set and on every slice. The macro-averaged
    metrics are judged on the whole eval set only: on a slice that lacks some classes (a
    single-species island) a macro average over all classes is undefined.
    """

    model_config = ConfigDict(extra="forbid")

    slices: list[str] = []
    value_thresholds: dict[str, float] = {}
    change_thresholds: dict[str, float] = {"accuracy": 0.0}
    change_confidence: float = Field(0.95, gt=0, lt=1)
    min_slice_size: int = Field(5, ge=1)
    rescue_margin: float = Field(0.02, ge=0, le=1)

    def model_post_init(self, _context: object) -> None:
        """Rejects metric names TFMA is not asked to compute."""
        for table in (self.value_thresholds, self.change_thresholds):
            unknown = set(table) - THRESHOLD_METRICS
            if unknown:
                raise ValueError(f"unknown metric(s) {sorted(unknown)}")
