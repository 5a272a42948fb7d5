"""The contract between driftgate and a team's own training code (``training.family: custom``).

The entry point named in ``training.custom.entrypoint`` is called once per retrain::

    def train(ctx: TrainContext):
        model = make_pipeline(..., HistGradientBoostingClassifier(**ctx.params))
        return model.fit(ctx.train[ctx.features], ctx.train[ctx.label])

It returns one of:

- a fitted estimator with the scikit-learn API: ``predict``, plus ``predict_proba`` and
  ``classes_`` for classifiers (scikit-learn, XGBoost and LightGBM estimators, pipelines of them).
  It is called with a DataFrame of the raw feature columns. ``classes_`` must be the class names
  in ``ctx.classes`` or their indices ``0..n-1``;
- a Keras model with one named input per feature (``float32`` for numeric features, ``string`` for
  categorical ones, shape ``(None, 1)``) and one output: class probabilities in ``ctx.classes``
  order, or one value per row for regression. ``ctx.inputs`` and ``ctx.targets`` build its data.

driftgate then saves the model (``model.joblib`` or a SavedModel), checksums it, scores it in
``check``, evaluates it with TFMA, pushes it and writes what its server needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TrainContext:
    """Everything a custom entry point gets.

    Attributes:
        train: The training rows: one column per feature plus the label. Numeric features are
            ``float32`` with NaN for missing values; categorical ones are text with ``""`` for
            missing values, exactly what the model receives at scoring and serving time.
        eval: The held-out rows (same columns), which driftgate's evaluation scores later.
        label: The label column (class names as text, or numbers for regression).
        features: The feature columns, in the order the model receives them.
        kinds: Feature name to ``numeric`` or ``categorical``.
        task: ``classification`` or ``regression``.
        classes: The class names, sorted, in the order probability columns must follow
            (empty for regression).
        params: ``training.custom.params``, passed through unchanged.
        seed: ``training.seed``.
        output_dir: A scratch directory for the entry point's own files (not pushed).
        tensorboard_dir: Where TensorBoard logs go (kept as the run's artifact).
    """

    train: pd.DataFrame
    eval: pd.DataFrame
    label: str
    features: list[str]
    kinds: dict[str, Literal["numeric", "categorical"]]
    task: Literal["classification", "regression"]
    classes: list[str]
    params: dict[str, Any]
    seed: int
    output_dir: Path
    tensorboard_dir: Path
    load_deployed: Callable[[], Any] | None = field(default=None, repr=False)

    @property
    def deployed(self) -> Any:
        """The deployed model (estimator or Keras model) for warm starts, or None.

        Loaded on first access only, after its checksums were verified.
        """
        return self.load_deployed() if self.load_deployed is not None else None

    def inputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Keras inputs: one ``(rows, 1)`` array per feature, as the SavedModel is served."""
        return {
            name: frame[name]
            .to_numpy()
            .reshape(-1, 1)
            .astype(np.float32 if self.kinds[name] == "numeric" else object)
            for name in self.features
        }

    def targets(self, frame: pd.DataFrame) -> np.ndarray:
        """Class indices into ``classes`` (classification) or ``float32`` values (regression)."""
        if self.task == "regression":
            return frame[self.label].to_numpy(dtype=np.float32)
        index = {c: i for i, c in enumerate(self.classes)}
        return np.asarray([index[v] for v in frame[self.label]], dtype=np.int32)
