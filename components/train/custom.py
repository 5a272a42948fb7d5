"""``training.family: custom``: imports the team's entry point, calls it and checks its model.

The contract is :mod:`driftgate.models.contract`. Every failure is one line that names the entry
point, and nothing is written to the model directory unless the model passed every check.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from driftgate.data.schema import CATEGORICAL, NUMERIC, FeatureKinds
from driftgate.errors import EntryPointError
from driftgate.models.contract import TrainContext
from driftgate.models.scoring import SKLEARN_FILE, feature_arrays
from driftgate.registry.integrity import VerifiedDir
from driftgate.settings.training import ENTRYPOINT, CustomSettings

log = logging.getLogger(__name__)
KERAS_FILE = "model.keras"


def load_entrypoint(entrypoint: str) -> Callable[[TrainContext], Any]:
    """Imports ``module:function`` or ``file.py:function``.

    Raises:
        EntryPointError: The module or file cannot be imported or has no such function.
    """
    match = ENTRYPOINT.match(entrypoint)
    if match is None:
        raise EntryPointError(f"training entry point {entrypoint!r} is not module:function")
    module_name, function = match["module"], match["function"]
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise FileNotFoundError(f"no file {path}")
            sys.path.insert(0, str(path.parent))
            spec = importlib.util.spec_from_file_location(f"driftgate_custom_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except Exception as exc:  # the user's import can fail in any way
        raise EntryPointError(
            f"training entry point {entrypoint!r} cannot be imported: "
            f"{type(exc).__name__}: {exc}".splitlines()[0],
            hint="check training.custom.entrypoint and that its dependencies are installed",
        ) from exc
    target = getattr(module, function, None)
    if not callable(target):
        raise EntryPointError(
            f"training entry point {entrypoint!r}: the module has no function {function!r}"
        )
    return target


def frame(table, kinds, label: str, task: str) -> pd.DataFrame:
    """Features as the scorers see them, plus the label (text, or float for regression)."""
    data = pd.DataFrame(feature_arrays(table, list(kinds.numeric), list(kinds.categorical)))
    labels = table.column(label).to_numpy(zero_copy_only=False)
    data[label] = labels.astype(np.float64) if task == "regression" else labels.astype(object)
    return data


def _is_keras(model: Any) -> bool:
    return any(c.__module__.split(".")[0] in ("keras", "tf_keras") for c in type(model).__mro__)


def _fail(entrypoint: str, problem: str) -> EntryPointError:
    return EntryPointError(f"training entry point {entrypoint!r} {problem}; nothing is pushed")


def _predict(method: Callable, inputs: Any, entrypoint: str) -> np.ndarray:
    try:
        return np.asarray(method(inputs), dtype=np.float64)
    except Exception as exc:  # an unfitted model or a mismatched input fails in any way
        raise _fail(
            entrypoint,
            f"returned a model whose {getattr(method, '__name__', 'predict')}() on the eval rows "
            f"raised {type(exc).__name__}: {exc}".splitlines()[0],
        ) from exc


def check_sklearn(model: Any, ctx: TrainContext, entrypoint: str) -> None:
    """Checks a scikit-learn-API model's methods, classes and output shape on the eval rows."""
    inputs = ctx.eval[ctx.features]
    if ctx.task == "regression":
        if not callable(getattr(model, "predict", None)):
            raise _fail(entrypoint, f"returned a {type(model).__name__} without predict()")
        out = _predict(model.predict, inputs, entrypoint)
        expected: tuple[int, ...] = (len(inputs),)
        out = out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out
    else:
        for method in ("predict", "predict_proba"):
            if not callable(getattr(model, method, None)):
                raise _fail(entrypoint, f"returned a {type(model).__name__} without {method}()")
        found = [str(c) for c in getattr(model, "classes_", [])]
        if found not in (ctx.classes, [str(i) for i in range(len(ctx.classes))]):
            raise _fail(
                entrypoint,
                f"returned a model with classes {found[:10]}; expected {ctx.classes[:10]} "
                "(fit it on ctx.train[ctx.label] or on ctx.targets(ctx.train))",
            )
        out = _predict(model.predict_proba, inputs, entrypoint)
        expected = (len(inputs), len(ctx.classes))
    if out.shape != expected:
        raise _fail(entrypoint, f"predicts shape {out.shape} on the eval rows; expected {expected}")
    if not np.all(np.isfinite(out)):
        raise _fail(entrypoint, "predicts NaN or infinite values on the eval rows")


def check_keras_output(out: np.ndarray, ctx: TrainContext, entrypoint: str) -> None:
    """Checks a Keras model's output on the eval rows: one column per class, or one value."""
    expected = (len(ctx.eval), len(ctx.classes) if ctx.task == "classification" else 1)
    if out.ndim == 1 and ctx.task == "regression":
        out = out.reshape(-1, 1)
    if out.shape != expected:
        raise _fail(entrypoint, f"predicts shape {out.shape} on the eval rows; expected {expected}")
    if not np.all(np.isfinite(out)):
        raise _fail(entrypoint, "predicts NaN or infinite values on the eval rows")


def save_model(model: Any, ctx: TrainContext, settings: CustomSettings, model_dir: Path) -> str:
    """Checks the returned model and writes it; returns its format.

    Raises:
        EntryPointError: Wrong type, missing methods, wrong classes or output shape.
    """
    entrypoint = settings.entrypoint
    keras_model = _is_keras(model)
    if not keras_model and not callable(getattr(model, "predict", None)):
        raise _fail(
            entrypoint,
            f"returned {type(model).__name__}; return a fitted scikit-learn-API estimator or a "
            "Keras model",
        )
    fmt = "saved_model" if keras_model else "sklearn"
    if settings.format not in ("auto", fmt):
        raise _fail(
            entrypoint, f"returned a {fmt} model but training.custom.format is {settings.format}"
        )
    if keras_model:
        missing = sorted(set(ctx.features) - {t.name for t in model.inputs})
        if missing:
            raise _fail(entrypoint, f"returned a Keras model without inputs named {missing}")
        import tensorflow as tf  # Keras 3 predicts text inputs only from tensors

        rows = tf.data.Dataset.from_tensor_slices(ctx.inputs(ctx.eval)).batch(256)
        out = _predict(functools.partial(model.predict, verbose=0), rows, entrypoint)
        check_keras_output(out, ctx, entrypoint)
        model.export(str(model_dir), verbose=False)
        model.save(model_dir / KERAS_FILE)
    else:
        import joblib

        check_sklearn(model, ctx, entrypoint)
        joblib.dump(model, model_dir / SKLEARN_FILE)
    return fmt


def load_model(path: Path, fmt: str) -> Any:
    """The deployed model for ``ctx.deployed``: the estimator, or the Keras model when saved."""
    if fmt == "sklearn":
        import joblib

        return joblib.load(path / SKLEARN_FILE)
    if (path / KERAS_FILE).exists():
        import keras

        return keras.models.load_model(path / KERAS_FILE)
    log.info("the deployed version has no %s: ctx.deployed is None", KERAS_FILE)
    return None


def context(
    tables: tuple[pa.Table, pa.Table],
    kinds: FeatureKinds,
    task: str,
    classes: list[str],
    seed: int,
    deployed: VerifiedDir | None,
) -> dict[str, Any]:
    """The :class:`TrainContext` fields other than ``params``.

    Args:
        tables: The training rows and the held-out rows.
        kinds: Label and feature kinds.
        task: ``classification`` or ``regression``.
        classes: Sorted class names (empty for regression).
        seed: The training seed.
        deployed: The verified deployed version, or None.
    """
    label = kinds.label or ""
    return {
        "train": frame(tables[0], kinds, label, task),
        "eval": frame(tables[1], kinds, label, task),
        "label": label,
        "features": list(kinds.features),
        "kinds": {
            **dict.fromkeys(kinds.numeric, NUMERIC),
            **dict.fromkeys(kinds.categorical, CATEGORICAL),
        },
        "task": task,
        "classes": classes,
        "seed": seed,
        "output_dir": Path(tempfile.mkdtemp(prefix="driftgate-custom-")),
        "load_deployed": (
            (lambda: load_model(deployed.path, deployed.metadata["format"])) if deployed else None
        ),
    }


def train_custom(
    settings: CustomSettings, fields: dict[str, Any], model_dir: Path, tensorboard_dir: Path
) -> tuple[dict, dict, str]:
    """Calls the entry point and saves what it returns.

    Args:
        settings: The entry point and its parameters.
        fields: The :class:`TrainContext` fields other than ``params`` (see :func:`context`).
        model_dir: Where the model is written (only once every check passed).
        tensorboard_dir: Where the entry point writes TensorBoard logs.

    Returns:
        Training summary, hyperparameters and the model format.

    Raises:
        EntryPointError: The entry point is missing, fails, or returns an unusable model.
    """
    entrypoint = settings.entrypoint
    if not entrypoint:
        raise EntryPointError(
            "training.family is custom but training.custom.entrypoint is empty",
            hint="set it to module:function or file.py:function",
        )
    function = load_entrypoint(entrypoint)
    ctx = TrainContext(params=dict(settings.params), tensorboard_dir=tensorboard_dir, **fields)
    log.info("calling %s on %s training rows", entrypoint, f"{len(ctx.train):,}")
    try:
        model = function(ctx)
    except Exception as exc:
        log.exception("%s failed", entrypoint)
        raise _fail(entrypoint, f"raised {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if model is None:
        raise _fail(entrypoint, "returned None; return the fitted model")
    fmt = save_model(model, ctx, settings, model_dir)
    return {}, {"entrypoint": entrypoint, "params": settings.params}, fmt
