"""R² (coefficient of determination) as a TFMA metric, so value and change thresholds apply to it.

TFMA 0.52 has mean squared and absolute error but no R², and the Keras ``R2Score`` cannot run
inside TFMA's metric wrapper. This metric is referenced from an ``EvalConfig`` by class name and
this module's path.
"""

from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

R2_NAME = "r2"


@dataclass
class _Sums:
    weight: float = 0.0
    label: float = 0.0
    label_squared: float = 0.0
    squared_error: float = 0.0


class _R2Combiner(beam.CombineFn):
    def __init__(self, key: metric_types.MetricKey, eval_config, example_weighted: bool) -> None:
        self._key = key
        self._eval_config = eval_config
        self._example_weighted = example_weighted

    def create_accumulator(self) -> _Sums:
        return _Sums()

    def add_input(self, sums: _Sums, element: metric_types.StandardMetricInputs) -> _Sums:
        for label, prediction, weight in metric_util.to_label_prediction_example_weight(
            element,
            eval_config=self._eval_config,
            model_name=self._key.model_name,
            output_name=self._key.output_name,
            example_weighted=self._example_weighted,
        ):
            y = metric_util.safe_to_scalar(label)
            p = metric_util.safe_to_scalar(prediction)
            w = metric_util.safe_to_scalar(weight)
            if np.isnan(y) or np.isnan(p):
                continue
            sums.weight += w
            sums.label += w * y
            sums.label_squared += w * y * y
            sums.squared_error += w * (y - p) ** 2
        return sums

    def merge_accumulators(self, accumulators) -> _Sums:
        total = _Sums()
        for sums in accumulators:
            total.weight += sums.weight
            total.label += sums.label
            total.label_squared += sums.label_squared
            total.squared_error += sums.squared_error
        return total

    def extract_output(self, sums: _Sums) -> dict:
        spread = sums.label_squared - sums.label**2 / sums.weight if sums.weight else 0.0
        value = 1.0 - sums.squared_error / spread if spread > 0 else float("nan")
        return {self._key: value}


def _r2_computations(
    name: str = R2_NAME,
    eval_config=None,
    model_name: str = "",
    output_name: str = "",
    example_weighted: bool = False,
    **_unused,
) -> metric_types.MetricComputations:
    key = metric_types.MetricKey(
        name=name,
        model_name=model_name,
        output_name=output_name,
        example_weighted=example_weighted,
    )
    return [
        metric_types.MetricComputation(
            keys=[key], preprocessors=None, combiner=_R2Combiner(key, eval_config, example_weighted)
        )
    ]


class R2(metric_types.Metric):
    """R² = 1 − SSE / SST of predictions against labels, per slice and model."""

    def __init__(self, name: str = R2_NAME) -> None:
        """Initialises the metric under ``name``."""
        super().__init__(metric_util.merge_per_key_computations(_r2_computations), name=name)


metric_types.register_metric(R2)
