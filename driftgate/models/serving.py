"""Which server serves which model format, and what a push writes for it.

- ``saved_model`` (Keras): TF Serving, through the registry's ``models.config``.
- ``sklearn`` (a joblib-pickled estimator with the scikit-learn API: scikit-learn, XGBoost,
  LightGBM, pipelines of them): MLServer with its scikit-learn runtime, the runtime KServe uses
  for this format. A push writes MLServer's ``model-settings.json`` into the version directory,
  so ``mlserver start <registry>/<model>/<version>`` serves it over the V2 inference protocol.

A training family whose model no enabled server can serve is refused when the config is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from driftgate.errors import ConfigError

MODEL_SETTINGS = "model-settings.json"
SERVER_OF = {"saved_model": "tf-serving", "sklearn": "mlserver"}
MLSERVER_RUNTIMES = {"sklearn": "mlserver_sklearn.SKLearnModel"}
Server = Literal["tf-serving", "mlserver"]


class ServingSettings(BaseModel):
    """The inference servers this deployment runs.

    Attributes:
        servers: ``tf-serving`` serves Keras SavedModels, ``mlserver`` scikit-learn-API models.
    """

    model_config = ConfigDict(extra="forbid")

    servers: list[Server] = ["tf-serving", "mlserver"]


def formats_of(family: str, custom_format: str = "auto") -> set[str]:
    """The model formats a training family can produce."""
    if family == "keras":
        return {"saved_model"}
    if family == "sklearn":
        return {"sklearn"}
    return set(SERVER_OF) if custom_format == "auto" else {custom_format}


def check_servable(family: str, custom_format: str, servers: list[str], source: str) -> None:
    """Refuses a training family that produces a format no enabled server serves.

    Raises:
        ConfigError: Names ``training.family`` and the server to enable.
    """
    for fmt in sorted(formats_of(family, custom_format)):
        needed = SERVER_OF[fmt]
        if needed not in servers:
            what = f"custom (format {custom_format})" if family == "custom" else family
            raise ConfigError(
                f"field 'training.family': {what} produces {fmt} models, which only {needed} "
                f"serves, and serving.servers is {servers}",
                file=source,
                hint=f"add {needed} to serving.servers"
                + (" or set training.custom.format" if family == "custom" else ""),
            )


def mlserver_settings(model_name: str, metadata: dict) -> dict:
    """MLServer's ``model-settings.json`` for a version with the given driftgate metadata.

    Requests are decoded as a pandas DataFrame (one input per feature: ``FP32`` numbers,
    ``BYTES`` text), the form the estimator was fitted on. Classifiers answer with
    ``predict_proba`` unless the request asks for ``predict``.
    """
    features = metadata["features"]
    inputs = [{"name": n, "datatype": "FP32", "shape": [-1]} for n in features["numeric"]]
    inputs += [{"name": n, "datatype": "BYTES", "shape": [-1]} for n in features["categorical"]]
    regression = metadata.get("task") == "regression"
    return {
        "name": model_name,
        "implementation": MLSERVER_RUNTIMES[metadata["format"]],
        "inputs": inputs,
        "parameters": {
            "uri": "./model.joblib",
            "content_type": "pd",
            "extra": {"predict_fn": "predict" if regression else "predict_proba"},
        },
    }


def write_server_files(directory: Path, model_name: str, metadata: dict) -> list[str]:
    """Writes what the model's server needs next to it; returns the file names written."""
    if metadata.get("format") not in MLSERVER_RUNTIMES:
        return []  # TF Serving reads the SavedModel and the registry's models.config
    settings = mlserver_settings(model_name, metadata)
    (directory / MODEL_SETTINGS).write_text(json.dumps(settings, indent=2) + "\n")
    return [MODEL_SETTINGS]
