"""A NumPy copy of driftgate's Keras model, so the drift gate scores without TensorFlow.

Importing TensorFlow costs several seconds; the check step that scores the deployed model on each
labelled batch runs on every scheduled run, including the ones that retrain nothing. driftgate's
Keras model is a fixed architecture (mean fill, ``Normalization``, one-hot ``StringLookup``,
``Dense`` layers), so training also writes its weights to ``scoring.npz`` and this module
reproduces the forward pass. Training checks that both give the same probabilities before it
writes the file; without the file, scoring falls back to the SavedModel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), the floor Normalization puts under the std
MIRROR_FILE = "scoring.npz"


@dataclass
class Mirror:
    """Weights of the Keras model in plain arrays."""

    numeric: list[str]
    fill: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    categorical: list[str]
    vocabularies: list[list[str]]
    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    classes: list[str]

    def save(self, path: str | Path) -> None:
        """Writes the weights as a NumPy archive (no pickled objects)."""
        arrays = {
            "numeric": np.asarray(self.numeric, dtype=str),
            "fill": self.fill,
            "mean": self.mean,
            "variance": self.variance,
            "categorical": np.asarray(self.categorical, dtype=str),
            "classes": np.asarray(self.classes, dtype=str),
        }
        for i, vocabulary in enumerate(self.vocabularies):
            arrays[f"vocabulary_{i}"] = np.asarray(vocabulary, dtype=str)
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Mirror:
        """Reads weights written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            categorical = data["categorical"].tolist()
            layers = sum(1 for key in data.files if key.startswith("kernel_"))
            return cls(
                numeric=data["numeric"].tolist(),
                fill=data["fill"],
                mean=data["mean"],
                variance=data["variance"],
                categorical=categorical,
                vocabularies=[data[f"vocabulary_{i}"].tolist() for i in range(len(categorical))],
                kernels=[data[f"kernel_{i}"] for i in range(layers)],
                biases=[data[f"bias_{i}"] for i in range(layers)],
                classes=data["classes"].tolist(),
            )

    def encode(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The preprocessing layers' output: what the first ``Dense`` layer takes, one row each."""
        blocks = []
        if self.numeric:
            x = np.stack([inputs[n].astype(np.float32) for n in self.numeric], axis=1)
            x = np.where(np.isnan(x), self.fill, x)
            blocks.append((x - self.mean) / np.maximum(np.sqrt(self.variance), KERAS_EPSILON))
        for name, vocabulary in zip(self.categorical, self.vocabularies, strict=True):
            index = {value: i + 1 for i, value in enumerate(vocabulary)}
            positions = np.fromiter((index.get(v, 0) for v in inputs[name]), dtype=np.int64)
            one_hot = np.zeros((positions.size, len(vocabulary) + 1), dtype=np.float32)
            one_hot[np.arange(positions.size), positions] = 1.0
            blocks.append(one_hot)
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def predict_proba(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Class probabilities for raw feature arrays (numeric NaN = missing, text '' = missing)."""
        h = self.encode(inputs)
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            h = h @ kernel + bias
            if i < len(self.kernels) - 1:
                h = np.maximum(h, 0.0)
        h = h - h.max(axis=1, keepdims=True)
        e = np.exp(h)
        return e / e.sum(axis=1, keepdims=True)
