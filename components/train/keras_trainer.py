"""Keras (TensorFlow) training: preprocessing inside the model, so serving takes raw features.

Each numeric input fills missing values with the training mean and is normalised; each
categorical input is one-hot encoded by a ``StringLookup`` with one out-of-vocabulary slot. The
exported SavedModel's ``serving_default`` signature takes one ``[batch, 1]`` tensor per feature,
named after the feature, which is what TF Serving calls.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from driftgate.data.schema import FeatureKinds
from driftgate.models.mirror import MIRROR_FILE, Mirror

log = logging.getLogger(__name__)
PARITY_TOLERANCE = 1e-4


class FillMissing(keras.layers.Layer):
    """Replaces NaN with a constant (the training mean)."""

    def __init__(self, value: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.value = float(value)

    def call(self, inputs):
        """Fills NaN entries."""
        return keras.ops.where(keras.ops.isnan(inputs), self.value, inputs)

    def get_config(self) -> dict:
        """Serialisable configuration."""
        return {**super().get_config(), "value": self.value}


class _EpochLog(keras.callbacks.Callback):
    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.every = max(1, epochs // 6)
        self.epochs = epochs

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            scores = ", ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items())
            log.info("  epoch %d/%d: %s", epoch + 1, self.epochs, scores)


def build_model(
    x: dict[str, np.ndarray],
    kinds: FeatureKinds,
    n_classes: int,
    settings,
    start: Mirror | None = None,
) -> tuple[keras.Model, list[keras.layers.Dense], dict[str, list]]:
    """The model, its dense layers in order, and its preprocessing constants.

    With ``start`` (a warm start) the preprocessing keeps the deployed constants, each
    vocabulary is extended by the categories ``x`` adds, and the dense layers get the deployed
    weights: a new category's one-hot row starts from the out-of-vocabulary row, so the model
    first predicts exactly what the deployed one did.
    """
    inputs, encoded = {}, []
    constants: dict[str, list] = {"mean": [], "variance": [], "vocabularies": []}
    for i, name in enumerate(kinds.numeric):
        finite = x[name][np.isfinite(x[name])]
        mean = float(finite.mean()) if finite.size else 0.0
        variance = float(finite.var()) if finite.size > 1 and finite.var() > 0 else 1.0
        if start is not None:
            mean, variance = float(start.mean[i]), float(start.variance[i])
        inputs[name] = keras.Input(shape=(1,), dtype="float32", name=name)
        filled = FillMissing(mean, name=f"fill_{name}")(inputs[name])
        encoded.append(
            keras.layers.Normalization(mean=mean, variance=variance, name=f"norm_{name}")(filled)
        )
        constants["mean"].append(mean)
        constants["variance"].append(variance)
    for i, name in enumerate(kinds.categorical):
        vocabulary = sorted({v for v in x[name].tolist() if v != ""}) or ["<none>"]
        if start is not None:
            known = start.vocabularies[i]
            vocabulary = known + [v for v in vocabulary if v not in set(known)]
        inputs[name] = keras.Input(shape=(1,), dtype="string", name=name)
        lookup = keras.layers.StringLookup(
            vocabulary=vocabulary, num_oov_indices=1, output_mode="one_hot", name=f"lookup_{name}"
        )
        encoded.append(lookup(inputs[name]))
        constants["vocabularies"].append(vocabulary)
    h = keras.layers.Concatenate(name="features")(encoded) if len(encoded) > 1 else encoded[0]
    dense = []
    for i, units in enumerate(settings.hidden_units):
        dense.append(keras.layers.Dense(units, activation="relu", name=f"dense_{i}"))
        h = dense[-1](h)
        if settings.dropout:
            h = keras.layers.Dropout(settings.dropout, name=f"dropout_{i}")(h)
    dense.append(keras.layers.Dense(n_classes, activation="softmax", name="probabilities"))
    model = keras.Model(inputs=inputs, outputs=dense[-1](h), name="driftgate_classifier")
    if start is not None:
        kernels = [_first_kernel(start, constants["vocabularies"]), *start.kernels[1:]]
        for layer, kernel, bias in zip(dense, kernels, start.biases, strict=True):
            layer.set_weights([kernel, bias])
    return model, dense, constants


def _first_kernel(start: Mirror, vocabularies: list[list[str]]) -> np.ndarray:
    """The deployed first kernel with a copy of the out-of-vocabulary row per new category."""
    kernel = start.kernels[0]
    rows, at = [kernel[: len(start.numeric)]], len(start.numeric)
    for known, vocabulary in zip(start.vocabularies, vocabularies, strict=True):
        block = kernel[at : at + len(known) + 1]  # the OOV row, then one per known value
        rows += [block, np.repeat(block[:1], len(vocabulary) - len(known), axis=0)]
        at += len(known) + 1
    return np.concatenate(rows, axis=0)


def as_tensors(x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw feature arrays shaped ``[rows, 1]``, as the model's inputs take them."""
    return {name: values.reshape(-1, 1) for name, values in x.items()}


def train_and_export(
    x: dict[str, np.ndarray],
    y: np.ndarray,
    kinds: FeatureKinds,
    classes: list[str],
    settings,
    seed: int,
    model_dir: Path,
    tensorboard_dir: Path | None,
    check_inputs: dict[str, np.ndarray],
    start: Mirror | None = None,
) -> tuple[dict, dict, str]:
    """Trains, exports a SavedModel to ``model_dir`` and writes its NumPy mirror.

    Args:
        x: Raw feature arrays of the training rows.
        y: Class index of each training row.
        kinds: Feature kinds.
        classes: Class names, index order.
        settings: :class:`KerasSettings`.
        seed: Seed for initialisation and shuffling (ops are made deterministic).
        model_dir: Export directory.
        tensorboard_dir: Where per-epoch logs go (None: no TensorBoard logs).
        check_inputs: Rows on which the mirror must reproduce the SavedModel.
        start: The deployed weights to continue from (a warm start; ``settings.epochs`` may
            then be 0, which exports them unchanged).

    Returns:
        Final training metrics, hyperparameters and the model format.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    log.info("training a Keras model on %s", ", ".join(devices) or "the CPU")
    model, dense_layers, constants = build_model(x, kinds, len(classes), settings, start)
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((as_tensors(x), y))
        .shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        .batch(settings.rows_per_step(len(y)))
    )
    callbacks: list[keras.callbacks.Callback] = [_EpochLog(settings.epochs)]
    if tensorboard_dir is not None:
        callbacks.append(
            keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir), write_graph=False)
        )
    if settings.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="loss", min_delta=1e-4, patience=settings.patience
            )
        )
    fit = model.fit(
        dataset,
        epochs=settings.epochs,
        shuffle=False,  # the dataset shuffles itself, with the seed
        verbose=0,
        callbacks=callbacks,
    ).history
    model.export(str(model_dir), format="tf_saved_model", verbose=False)
    mirror = Mirror(
        numeric=list(kinds.numeric),
        fill=np.asarray(constants["mean"], np.float32),
        mean=np.asarray(constants["mean"], np.float32),
        variance=np.asarray(constants["variance"], np.float32),
        categorical=list(kinds.categorical),
        vocabularies=constants["vocabularies"],
        kernels=[layer.get_weights()[0] for layer in dense_layers],
        biases=[layer.get_weights()[1] for layer in dense_layers],
        classes=list(classes),
    )
    _write_mirror_if_faithful(mirror, model_dir, check_inputs)
    history = {f"final_{k}": round(float(v[-1]), 6) for k, v in fit.items() if v}
    history["epochs_run"] = len(fit.get("loss", []))
    return history, settings.model_dump(), "saved_model"


def _write_mirror_if_faithful(
    mirror: Mirror, model_dir: Path, check_inputs: dict[str, np.ndarray]
) -> None:
    signature = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    feeds = {name: tf.constant(v.reshape(-1, 1)) for name, v in check_inputs.items()}
    exported = next(iter(signature(**feeds).values())).numpy()
    gap = (
        float(np.max(np.abs(mirror.predict_proba(check_inputs) - exported)))
        if exported.size
        else 0.0
    )
    if gap <= PARITY_TOLERANCE:
        mirror.save(model_dir / MIRROR_FILE)
        log.info("NumPy scoring mirror matches the SavedModel (max gap %.2e)", gap)
    else:
        log.warning(
            "NumPy scoring mirror differs from the SavedModel by %.2e; not writing it "
            "(scoring will load TensorFlow)",
            gap,
        )
