"""The one typed configuration of a driftgate pipeline, loaded from YAML.

Every field has a default except ``data.label``. The same object drives local runs and the
compiled cluster pipeline: step settings are compiled into the pipeline as constants, and the
batch location, registry location and ``force`` stay run-time parameters.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import is_typeddict

from driftgate.data.dataspec import DataSettings
from driftgate.errors import ConfigError
from driftgate.models.serving import ServingSettings, check_servable
from driftgate.models.tasks import check_task
from driftgate.observe.alerts import AlertSettings
from driftgate.observe.tracking import TrackingSettings
from driftgate.pipelines.config_checks import (
    check_columns,
    check_data,
    check_domains,
    check_registry_mount,
)
from driftgate.pipelines.platform import PlatformSettings
from driftgate.pipelines.steps import GATE_STEPS, TRAIN_STEPS
from driftgate.registry.retention import RegistrySettings
from driftgate.settings.drift import DriftSettings
from driftgate.settings.evaluation import EvaluationSettings
from driftgate.settings.gate import GateSettings
from driftgate.settings.optimisation import OptimisationSettings, check_optimisable
from driftgate.settings.performance import PerformanceSettings
from driftgate.settings.training import TrainingSettings
from driftgate.settings.validation import ValidationSettings

DEFAULT_CONFIG = "penguins.yaml"


class ImageSettings(BaseModel):
    """Which image each step runs in; unset images fall back to the config's ``image``.

    Attributes:
        gate: Image of ingest, validate, check, decide and notify: the light gate image, which
            holds no TensorFlow, TFMA or Beam (``make image`` builds both).
        train: Image of train, evaluate and push (``training.image`` overrides it for train).
    """

    model_config = ConfigDict(extra="forbid")

    gate: str | None = None
    train: str | None = None


class Config(BaseModel):
    """A driftgate pipeline configuration.

    Attributes:
        model_name: Name of the model in the registry and in TF Serving.
        image: The component image of every step that ``images`` does not set.
        images: The gate and the train images.
        batch_uri: Default batch location (a file, or a directory: its oldest unprocessed batch).
        registry_uri: Default registry directory (a PVC mount in the cluster).
        data: Label, features and CSV parsing.
        validation: Which anomalies block a run.
        drift: Drift metrics, thresholds and the dataset rule.
        performance: Bounds on the deployed model's metrics on labelled batches.
        gate: Which triggers open the gate (performance first; drift is reported).
        registry: Retention of old versions.
        training: Model family, hyperparameters, window and seed.
        evaluation: Slices and blessing thresholds.
        optimisation: Post-training quantisation of Keras models (off by default).
        platform: Cluster resources, GPU placement, volumes and retries.
        alerts: Webhook, file sink and Pushgateway for alerts and metrics.
        serving: The inference servers that serve pushed models.
        tracking: MLflow tracking server, experiment and registered model (optional).
    """

    model_config = ConfigDict(extra="forbid")

    model_name: str = Field("model", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    image: str = "driftgate:0.1.0"
    images: ImageSettings = ImageSettings()
    batch_uri: str = "/data/batches"
    registry_uri: str = "/registry"
    data: DataSettings
    validation: ValidationSettings = ValidationSettings()
    drift: DriftSettings = DriftSettings()
    performance: PerformanceSettings = PerformanceSettings()
    gate: GateSettings = GateSettings()
    registry: RegistrySettings = RegistrySettings()
    training: TrainingSettings = TrainingSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    optimisation: OptimisationSettings = OptimisationSettings()
    platform: PlatformSettings = PlatformSettings()
    alerts: AlertSettings = AlertSettings()
    tracking: TrackingSettings = TrackingSettings()
    serving: ServingSettings = ServingSettings()

    def step_images(self) -> dict[str, str]:
        """The image of every step: ``training.image``, then ``images``, then ``image``."""
        gate = self.images.gate or self.image
        train = self.images.train or self.image
        return {
            **dict.fromkeys(GATE_STEPS, gate),
            **dict.fromkeys(TRAIN_STEPS, train),
            "train": self.training.image or train,
        }


def _field(location: tuple) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def _unwrap(annotation: Any) -> Any:
    """The model, TypedDict or dict type inside Optional and Annotated wrappers."""
    while get_origin(annotation) in (Annotated, Union, UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        annotation = inner[0]
    return annotation


def _known_fields(location: tuple) -> list[str]:
    """The field names allowed where ``location`` names an unknown one (none when unknown)."""
    node: Any = Config
    for part in location[:-1]:
        if get_origin(node) in (dict, list):
            node = _unwrap(get_args(node)[-1])
        elif isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = _unwrap(node.model_fields[part].annotation)
        elif is_typeddict(node) and part in get_type_hints(node):
            node = _unwrap(get_type_hints(node)[part])
        else:
            return []
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return list(get_type_hints(node)) if is_typeddict(node) else []


def parse_config(text: str, source: str, base_dir: Path | None = None) -> Config:
    """Parses YAML text into a config.

    Args:
        text: The YAML.
        source: Where it was read from (named in errors).
        base_dir: The folder relative ``training.custom.entrypoint`` files are resolved in.

    Raises:
        ConfigError: The YAML is malformed, a field is invalid or outside its domain, or names a
            column that is not a feature; the message names the field.
    """
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"is not valid YAML: {exc}".splitlines()[0], file=source) from exc
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping", file=source)
    try:
        config = Config.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden" and (known := _known_fields(first["loc"])):
            message += f" (known: {', '.join(known)})"
        raise ConfigError(f"field {_field(first['loc'])!r}: {message}{more}", file=source) from exc
    check_task(config.data.task, config, source)
    check_servable(
        config.training.family, config.training.custom.format, config.serving.servers, source
    )
    check_optimisable(
        config.optimisation, config.training.family, config.training.custom.format, source
    )
    check_domains(config, source)
    check_data(config, source)
    check_columns(config, source)
    check_registry_mount(config, source)
    return config


def load_config(path: str | Path | None = None) -> Config:
    """Loads a config file, or the embedded example (penguins) when ``path`` is None."""
    if path is None:
        text = resources.files("driftgate.pipelines").joinpath(DEFAULT_CONFIG).read_text()
        return parse_config(text, f"<embedded {DEFAULT_CONFIG}>")
    path = Path(path)
    if not path.is_file():
        raise ConfigError("does not exist", file=str(path), hint="pass --config with a YAML file")
    return parse_config(path.read_text(), str(path), path.parent)
