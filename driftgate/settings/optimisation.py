"""Settings of model optimisation (``optimisation``): post-training quantisation of Keras models.

Pruning is refused at load: tensorflow-model-optimization (0.8.1, the newest release) prunes only
``tf_keras`` (Keras 2) models, and driftgate trains Keras 3 models, whose layers its
``prune_low_magnitude`` rejects.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from driftgate.errors import ConfigError
from driftgate.serving import formats_of


class OptimisationSettings(BaseModel):
    """Smaller models.

    Attributes:
        quantise: ``float16`` or ``int8`` post-training quantisation to TFLite (Keras models
            only); unset: none.
        max_accuracy_drop: Largest accuracy loss against the full model on held-out rows for the
            quantised model to be pushed with the version.
        calibration_rows: Rows of the training window int8 calibrates on (a seeded sample).
        prune: Magnitude pruning; not supported (see the module's docstring), so any value is
            refused.
    """

    model_config = ConfigDict(extra="forbid")

    quantise: Literal["float16", "int8"] | None = None
    max_accuracy_drop: float = Field(0.01, ge=0, le=1)
    calibration_rows: int = Field(200, ge=1)
    prune: Any = None

    @field_validator("prune")
    @classmethod
    def _no_pruning(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError(
                "tensorflow-model-optimization prunes only tf_keras (Keras 2) models and "
                "driftgate trains Keras 3 models; remove it (quantise still works)"
            )
        return value


def check_optimisable(
    settings: OptimisationSettings, family: str, custom_format: str, source: str
) -> None:
    """Refuses quantisation for a training family that cannot produce a SavedModel.

    Raises:
        ConfigError: Names ``optimisation.quantise`` and what to change.
    """
    if settings.quantise and "saved_model" not in formats_of(family, custom_format):
        raise ConfigError(
            f"field 'optimisation.quantise': {family} models are not quantised (TFLite "
            "quantisation applies to Keras SavedModels only)",
            file=source,
            hint="set training.family to keras or remove optimisation.quantise",
        )
