"""The one typed configuration of a driftgate pipeline, loaded from YAML.

Every field has a default except ``data.label``. The same object drives local runs and the
compiled cluster pipeline: step settings are compiled into the pipeline as constants, and the
batch location, registry location and ``force`` stay run-time parameters.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from driftgate.alerts import AlertSettings
from driftgate.components.check.core import PerformanceSettings
from driftgate.components.evaluate.core import EvaluationSettings
from driftgate.components.train.core import TrainingSettings
from driftgate.components.validate.core import ValidationSettings
from driftgate.dataspec import DataSettings
from driftgate.errors import ConfigError
from driftgate.pipelines.platform import PlatformSettings
from driftgate.stats import DriftSettings
from driftgate.tracking import TrackingSettings

DEFAULT_CONFIG = "penguins.yaml"


class Config(BaseModel):
    """A driftgate pipeline configuration.

    Attributes:
        model_name: Name of the model in the registry and in TF Serving.
        image: The component image every step runs in.
        batch_uri: Default batch location (a file, or a directory whose newest file is taken).
        registry_uri: Default registry directory (a PVC mount in the cluster).
        data: Label, features and CSV parsing.
        validation: Which anomalies block a run.
        drift: Drift metrics, thresholds and the dataset rule.
        performance: Bounds on the deployed model's metrics on labelled batches.
        training: Model family, hyperparameters, window and seed.
        evaluation: Slices and blessing thresholds.
        platform: Cluster resources, GPU placement, volumes and retries.
        alerts: Webhook, file sink and Pushgateway for alerts and metrics.
        tracking: MLflow tracking server, experiment and registered model (optional).
    """

    model_config = ConfigDict(extra="forbid")

    model_name: str = Field("model", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    image: str = "driftgate:0.1.0"
    batch_uri: str = "/data/batches"
    registry_uri: str = "/registry"
    data: DataSettings
    validation: ValidationSettings = ValidationSettings()
    drift: DriftSettings = DriftSettings()
    performance: PerformanceSettings = PerformanceSettings()
    training: TrainingSettings = TrainingSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    platform: PlatformSettings = PlatformSettings()
    alerts: AlertSettings = AlertSettings()
    tracking: TrackingSettings = TrackingSettings()


def _field(location: tuple) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def parse_config(text: str, source: str) -> Config:
    """Parses YAML text into a config.

    Raises:
        ConfigError: The YAML is malformed or a field is invalid; the message names the field.
    """
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"is not valid YAML: {exc}".splitlines()[0], file=source) from exc
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping", file=source)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(
            f"field {_field(first['loc'])!r}: {first['msg']}{more}", file=source
        ) from exc


def load_config(path: str | Path | None = None) -> Config:
    """Loads a config file, or the embedded example (penguins) when ``path`` is None."""
    if path is None:
        text = resources.files("driftgate.pipelines").joinpath(DEFAULT_CONFIG).read_text()
        return parse_config(text, f"<embedded {DEFAULT_CONFIG}>")
    path = Path(path)
    if not path.is_file():
        raise ConfigError("does not exist", file=str(path), hint="pass --config with a YAML file")
    return parse_config(path.read_text(), str(path))
