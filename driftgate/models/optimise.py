"""A Keras SavedModel converted to TFLite, quantised and/or pruned, judged like any candidate.

The optimised model is scored next to the full SavedModel on the same held-out rows: accuracy,
the accuracy delta, size (as stored and gzip-compressed) and CPU latency per 1,000 rows for
both. It is accepted only when its accuracy is within ``max_accuracy_drop`` of the full model's.
``int8`` is calibrated on a seeded sample of the training window (integer weights and
activations, float inputs and outputs, float kernels where an op has no integer kernel);
``float16`` halves the weights. A pruned model (:mod:`driftgate.models.pruning`) is converted with
TFLite's sparse weight encoding, except with int8.
"""

from __future__ import annotations

import gzip
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from driftgate.errors import ConfigError
from driftgate.settings.optimisation import OptimisationSettings

TFLITE_FILE = "model.tflite"
SIGNATURE = "serving_default"


@dataclass(frozen=True)
class ModelFigures:
    """One model's size, accuracy and CPU latency on the held-out rows.

    ``gzip_bytes`` is the size of its files gzip-compressed, which is what storing and shipping
    them costs once zero weights compress away.
    """

    size_bytes: int
    gzip_bytes: int
    accuracy: float
    ms_per_1000_rows: float


@dataclass(frozen=True)
class OptimisationReport:
    """The full and the optimised model side by side, and the verdict.

    Attributes:
        method: What was done (:meth:`OptimisationSettings.method`).
        sparsity: Fraction of zero ``Dense`` weights when pruned, else None.
    """

    method: str
    full: ModelFigures
    optimised: ModelFigures
    accepted: bool
    max_accuracy_drop: float
    sparsity: float | None = None

    @property
    def accuracy_delta(self) -> float:
        """Optimised minus full accuracy (negative: the optimised model is worse)."""
        return self.optimised.accuracy - self.full.accuracy

    def to_dict(self) -> dict:
        """JSON-friendly form, the accuracy delta included (stored in the evaluation)."""
        return {**asdict(self), "accuracy_delta": self.accuracy_delta}

    def markdown(self) -> str:
        """The record's section."""
        rows = [
            f"| {name} | {f.size_bytes:,} | {f.gzip_bytes:,} | {f.accuracy:.4f} "
            f"| {f.ms_per_1000_rows:.1f} |"
            for name, f in (("full SavedModel", self.full), (self.method, self.optimised))
        ]
        verdict = "pushed with the version" if self.accepted else "NOT pushed"
        pruned = (
            [f"{self.sparsity:.1%} of the Dense weights are zero.", ""]
            if self.sparsity is not None
            else []
        )
        return "\n".join(
            [
                f"## Optimisation ({self.method})",
                "",
                "| model | bytes | gzip bytes | accuracy | ms per 1,000 rows (CPU) |",
                "|---|---|---|---|---|",
                *rows,
                "",
                *pruned,
                f"Accuracy delta {self.accuracy_delta:+.4f} (allowed drop "
                f"{self.max_accuracy_drop:.4f}): {TFLITE_FILE} {verdict}.",
                "",
            ]
        )


def _feeds(frame: pd.DataFrame, details: dict) -> dict[str, np.ndarray]:
    """Signature inputs (``[rows, 1]`` each) from raw feature columns."""
    feeds = {}
    for name, detail in details.items():
        column = frame[name]
        if detail["dtype"] is np.bytes_:
            values = column.astype(object).where(column.notna(), "").astype(str).to_numpy()
            feeds[name] = np.array([v.encode() for v in values], dtype=object).reshape(-1, 1)
        else:
            feeds[name] = column.to_numpy(dtype=detail["dtype"]).reshape(-1, 1)
    return feeds


def _numpy_dtype(dtype) -> type:
    """The NumPy type TFLite uses for a signature input's TensorFlow dtype."""
    return np.bytes_ if dtype.name == "string" else dtype.as_numpy_dtype


def convert(
    saved_model: Path, settings: OptimisationSettings, calibration: pd.DataFrame | None
) -> bytes:
    """Converts a SavedModel to a TFLite flatbuffer: quantised as set, sparse when pruned.

    Args:
        saved_model: The (possibly pruned) SavedModel.
        settings: The optimisation settings.
        calibration: Training rows int8 calibrates on (unused otherwise).

    Raises:
        ConfigError: Nothing to do (``optimisation`` is empty) or the model is not a SavedModel
            (scikit-learn models are not quantised).
    """
    if not settings.enabled:
        raise ConfigError("field 'optimisation' is empty: set quantise (float16 or int8) or prune")
    if not (saved_model / "saved_model.pb").exists():
        raise ConfigError(
            "field 'optimisation.quantise' applies to Keras models only: set training.family "
            "to keras or remove optimisation.quantise",
            file=str(saved_model),
        )
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), [SIGNATURE])
    converter.optimizations = [tf.lite.Optimize.DEFAULT] if settings.quantise else []
    if settings.prune and settings.quantise != "int8":
        # TF 2.21's sparse encoding combined with int8 scores at chance on penguins (0.20
        # accuracy), so an int8 model keeps its zero weights dense; gzip still removes them.
        converter.optimizations.append(tf.lite.Optimize.EXPERIMENTAL_SPARSITY)
    if settings.quantise == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif settings.quantise == "int8":
        signature = tf.saved_model.load(str(saved_model)).signatures[SIGNATURE]
        specs = signature.structured_input_signature[1]
        details = {n: {"dtype": _numpy_dtype(s.dtype)} for n, s in specs.items()}
        complete = calibration.dropna()
        sample = complete.sample(min(settings.calibration_rows, len(complete)), random_state=0)
        feeds = _feeds(sample, details)

        def representative():
            for row in range(len(next(iter(feeds.values())))):
                yield {name: values[row : row + 1] for name, values in feeds.items()}

        converter.representative_dataset = representative
    return converter.convert()


def _predict_tflite(flatbuffer: bytes, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    runner = interpreter.get_signature_runner(SIGNATURE)
    return _timed(runner, _feeds(frame, runner.get_input_details()))


def _predict_saved_model(saved_model: Path, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    import tensorflow as tf

    signature = tf.saved_model.load(str(saved_model)).signatures[SIGNATURE]
    specs = signature.structured_input_signature[1]
    details = {
        n: {"dtype": np.bytes_ if s.dtype == tf.string else np.float32} for n, s in specs.items()
    }
    probabilities, seconds = _timed(signature, _feeds(frame, details))
    return np.asarray(probabilities), seconds


def _timed(predict, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """Probabilities for ``feeds`` and the seconds they took, after one warm-up row."""
    predict(**{name: values[:1] for name, values in feeds.items()})
    started = time.perf_counter()
    (probabilities,) = predict(**feeds).values()
    return probabilities, time.perf_counter() - started


def evaluate(
    saved_model: Path,
    flatbuffer: bytes,
    eval_frame: pd.DataFrame,
    label: str,
    classes: list[str],
    settings: OptimisationSettings,
    sparsity: float | None = None,
) -> OptimisationReport:
    """Scores the full and the optimised model on the same held-out rows and judges the latter.

    Args:
        saved_model: The full model.
        flatbuffer: The optimised model.
        eval_frame: Held-out rows with the label.
        label: The label column.
        classes: Class names in the models' output order.
        settings: The method and the allowed accuracy drop.
        sparsity: The pruned fraction of weights, when pruned.
    """
    truth = eval_frame[label].astype(str).to_numpy()
    parts = ["saved_model.pb", "fingerprint.pb", "variables", "assets"]
    files = [f for part in parts for f in [saved_model / part, *(saved_model / part).rglob("*")]]
    contents = [f.read_bytes() for f in files if f.is_file()]
    figures = []
    for predict, model, blobs in (
        (_predict_saved_model, saved_model, contents),
        (_predict_tflite, flatbuffer, [flatbuffer]),
    ):
        probabilities, seconds = predict(model, eval_frame)
        predicted = np.asarray(classes)[np.argmax(probabilities, axis=1)]
        figures.append(
            ModelFigures(
                size_bytes=sum(len(b) for b in blobs),
                gzip_bytes=sum(len(gzip.compress(b, mtime=0)) for b in blobs),
                accuracy=float(np.mean(predicted == truth)),
                ms_per_1000_rows=1000 * 1000 * seconds / len(eval_frame),
            )
        )
    full, optimised = figures
    accepted = optimised.accuracy >= full.accuracy - settings.max_accuracy_drop
    return OptimisationReport(
        settings.method(), full, optimised, accepted, settings.max_accuracy_drop, sparsity
    )
