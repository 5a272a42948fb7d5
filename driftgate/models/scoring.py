"""Loading a trained model (only from a verified directory) and scoring tables with it."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from driftgate.errors import ConfigError
from driftgate.models.mirror import MIRROR_FILE, Mirror
from driftgate.registry.integrity import VerifiedDir

SKLEARN_FILE = "model.joblib"


def feature_arrays(
    table: pa.Table, numeric: list[str], categorical: list[str]
) -> dict[str, np.ndarray]:
    """Raw model inputs: float32 with NaN for missing numbers, text with '' for missing values.

    Training and every scorer use this one conversion, so serving sees what training saw.
    """
    arrays: dict[str, np.ndarray] = {}
    for name in numeric:
        column = pc.cast(table.column(name), pa.float32())
        arrays[name] = column.to_numpy(zero_copy_only=False).astype(np.float32)
    for name in categorical:
        column = pc.fill_null(pc.cast(table.column(name), pa.string()), "")
        arrays[name] = np.asarray(column.to_pylist(), dtype=object)
    return arrays


def target_array(table: pa.Table, label: str, classes: list[str]) -> np.ndarray:
    """Training targets: class indices into ``classes``, or float32 values when it is empty."""
    values = table.column(label).to_pylist()
    if not classes:
        return np.asarray(values, dtype=np.float32)
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index[v] for v in values], dtype=np.int32)


class Scorer(Protocol):
    """Anything that turns a table of raw features into class probabilities or values."""

    classes: list[str]

    def predict_proba(self, table: pa.Table) -> np.ndarray:
        """Probabilities, one row per input row, one column per class in ``classes`` order."""
        ...

    def predict(self, table: pa.Table) -> np.ndarray:
        """Predicted values of a regression model, one per input row."""
        ...


class _FeatureScorer:
    def __init__(self, metadata: dict) -> None:
        self.classes: list[str] = list(metadata["classes"])
        self.numeric: list[str] = list(metadata["features"]["numeric"])
        self.categorical: list[str] = list(metadata["features"]["categorical"])

    def inputs(self, table: pa.Table) -> dict[str, np.ndarray]:
        return feature_arrays(table, self.numeric, self.categorical)


class MirrorScorer(_FeatureScorer):
    """Scores a Keras model through its NumPy mirror (no TensorFlow import)."""

    def __init__(self, verified: VerifiedDir) -> None:
        super().__init__(verified.metadata)
        self.mirror = Mirror.load(verified.path / MIRROR_FILE)

    def predict_proba(self, table: pa.Table) -> np.ndarray:
        """See :class:`Scorer`."""
        return self.mirror.predict_proba(self.inputs(table))


class SavedModelScorer(_FeatureScorer):
    """Scores through the SavedModel's ``serving_default`` signature, as TF Serving does."""

    def __init__(self, verified: VerifiedDir) -> None:
        super().__init__(verified.metadata)
        try:
            import tensorflow as tf
        except ModuleNotFoundError as exc:  # the gate image holds no TensorFlow
            raise ConfigError(
                "the deployed model has no NumPy scoring mirror and this image has no "
                "TensorFlow to load it",
                file=str(verified.path),
                hint="run check in the full image: set images.gate to it, or leave images.gate "
                "unset",
            ) from exc
        self._tf = tf
        self.signature = tf.saved_model.load(str(verified.path)).signatures["serving_default"]

    def predict(self, table: pa.Table) -> np.ndarray:
        """See :class:`Scorer`."""
        return self.predict_proba(table).reshape(-1)

    def predict_proba(self, table: pa.Table) -> np.ndarray:
        """See :class:`Scorer`."""
        tf = self._tf
        feeds = {}
        for name, values in self.inputs(table).items():
            dtype = tf.float32 if name in self.numeric else tf.string
            feeds[name] = tf.constant(values.reshape(-1, 1), dtype=dtype)
        outputs = self.signature(**feeds)
        return next(iter(outputs.values())).numpy()


class SklearnScorer(_FeatureScorer):
    """Scores a scikit-learn pipeline, unpickled only after its checksum was verified."""

    def __init__(self, verified: VerifiedDir) -> None:
        super().__init__(verified.metadata)
        import joblib
        import pandas as pd

        self._pd = pd
        self.model = joblib.load(verified.path / SKLEARN_FILE)

    def frame(self, table: pa.Table):
        """The raw features as a DataFrame, the form the estimator was fitted on."""
        return self._pd.DataFrame(self.inputs(table))[self.numeric + self.categorical]

    def predict(self, table: pa.Table) -> np.ndarray:
        """See :class:`Scorer`."""
        return np.asarray(self.model.predict(self.frame(table)), dtype=np.float64).reshape(-1)

    def predict_proba(self, table: pa.Table) -> np.ndarray:
        """See :class:`Scorer`."""
        return self.model.predict_proba(self.frame(table))


def load_scorer(verified: VerifiedDir, *, fast: bool = True) -> Scorer:
    """Loads the model in a verified directory.

    Args:
        verified: A directory whose checksums were just checked.
        fast: Prefer the TensorFlow-free mirror of a Keras model when it exists.

    Returns:
        A scorer for the model's format.
    """
    fmt = verified.metadata["format"]
    if fmt == "sklearn":
        return SklearnScorer(verified)
    if fast and (verified.path / MIRROR_FILE).exists():
        return MirrorScorer(verified)
    return SavedModelScorer(verified)


def align_probabilities(
    probabilities: np.ndarray, source: list[str], target: list[str]
) -> np.ndarray:
    """Reorders class columns from ``source`` order to ``target`` order (absent classes get 0)."""
    out = np.zeros((probabilities.shape[0], len(target)), dtype=np.float64)
    position = {c: i for i, c in enumerate(source)}
    for j, cls in enumerate(target):
        if cls in position:
            out[:, j] = probabilities[:, position[cls]]
    return out
