"""Magnitude pruning of driftgate's Keras model through tensorflow-model-optimization.

tensorflow-model-optimization prunes ``tf_keras`` (Keras 2) models only, and driftgate trains
Keras 3 models. The pruned part is the ``Dense`` stack, which the scoring mirror
(:mod:`driftgate.models.mirror`) holds with the preprocessing constants. So the stack is rebuilt in
``tf_keras`` from the mirror, fed the mirror's encoding of the training window, wrapped by
``prune_low_magnitude`` and fine-tuned while the sparsity rises to its target; the stripped
weights are then written into the candidate's own SavedModel variables, which keeps its
preprocessing and serving signature.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from driftgate.errors import ConfigError
from driftgate.models.mirror import MIRROR_FILE, Mirror
from driftgate.models.scoring import feature_arrays
from driftgate.settings.optimisation import PruningSettings
from driftgate.settings.training import auto_rows_per_step

log = logging.getLogger(__name__)
SIGNATURE = "serving_default"


@dataclass(frozen=True)
class Pruned:
    """A pruned copy of a SavedModel.

    Attributes:
        path: Its directory.
        sparsity: Fraction of zero weights over all ``Dense`` kernels.
        seconds: Fine-tuning time.
    """

    path: Path
    sparsity: float
    seconds: float


def _dense_stack(mirror: Mirror):
    """The mirror's ``Dense`` layers as a ``tf_keras`` model on the encoded features."""
    import tf_keras

    inputs = tf_keras.Input(shape=(mirror.kernels[0].shape[0],), name="features")
    h, layers = inputs, []
    for i, (kernel, bias) in enumerate(zip(mirror.kernels, mirror.biases, strict=True)):
        last = i == len(mirror.kernels) - 1
        layers.append(tf_keras.layers.Dense(kernel.shape[1], "softmax" if last else "relu"))
        h = layers[-1](h)
        layers[-1].set_weights([kernel, bias])
    return tf_keras.Model(inputs, h)


def _layer_names(mirror: Mirror) -> list[str]:
    """The Keras trainer's names of the ``Dense`` layers (``dense_<i>``, ``probabilities``)."""
    return [f"dense_{i}" for i in range(len(mirror.kernels) - 1)] + ["probabilities"]


def prune(
    saved_model: Path,
    window: pd.DataFrame,
    label: str,
    settings: PruningSettings,
    output: Path,
    seed: int = 0,
) -> Pruned:
    """Prunes the ``Dense`` kernels of a SavedModel written by driftgate's Keras trainer.

    Args:
        saved_model: The candidate's directory (its ``scoring.npz`` mirror is required).
        window: The training window the candidate was trained on.
        label: Its label column.
        settings: Target sparsity and fine-tuning.
        output: Where the pruned SavedModel is written.
        seed: Seed of the initial shuffle and of TensorFlow's random ops.

    Raises:
        ConfigError: The model has no mirror (it was not trained by driftgate's Keras trainer).
    """
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras

    if not (saved_model / MIRROR_FILE).is_file():
        raise ConfigError(
            "field 'optimisation.prune': the model has no scoring mirror, so its Dense layers "
            "are unknown (only driftgate's own Keras model is pruned)",
            file=str(saved_model),
            hint="remove optimisation.prune, or train with training.family keras",
        )
    mirror = Mirror.load(saved_model / MIRROR_FILE)
    index = {c: i for i, c in enumerate(mirror.classes)}
    rows = window[window[label].astype(str).isin(index)]
    table = pa.Table.from_pandas(rows, preserve_index=False)
    x = mirror.encode(feature_arrays(table, mirror.numeric, mirror.categorical))
    y = rows[label].astype(str).map(index).to_numpy(np.int64)

    tf_keras.utils.set_random_seed(seed)
    batch = auto_rows_per_step(len(y))
    steps = -(-len(y) // batch)
    ramp = steps * max(1, settings.epochs - 1)
    schedule = tfmot.sparsity.keras.PolynomialDecay(0.0, settings.sparsity, 0, ramp, frequency=1)
    model = tfmot.sparsity.keras.prune_low_magnitude(_dense_stack(mirror), schedule)
    model.compile(
        optimizer=tf_keras.optimizers.Adam(settings.learning_rate),
        loss="sparse_categorical_crossentropy",
    )
    started = time.perf_counter()
    model.fit(
        x,
        y,
        batch_size=batch,
        epochs=settings.epochs,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
        verbose=0,
    )
    seconds = time.perf_counter() - started
    stripped = tfmot.sparsity.keras.strip_pruning(model)
    weights = [layer.get_weights() for layer in stripped.layers[1:]]

    loaded = tf.saved_model.load(str(saved_model))
    variables = {v.name: v for v in loaded.variables}
    for name, (kernel, bias) in zip(_layer_names(mirror), weights, strict=True):
        variables[f"{name}/kernel:0"].assign(kernel)
        variables[f"{name}/bias:0"].assign(bias)
    tf.saved_model.save(loaded, str(output), signatures={SIGNATURE: loaded.signatures[SIGNATURE]})
    kernels = [kernel for kernel, _ in weights]
    sparsity = sum(int(np.sum(k == 0)) for k in kernels) / sum(k.size for k in kernels)
    log.info(
        "pruned to %.1f%% zero weights in %d epochs (%.1f s) on %s rows",
        100 * sparsity,
        settings.epochs,
        seconds,
        f"{len(y):,}",
    )
    return Pruned(output, sparsity, seconds)
