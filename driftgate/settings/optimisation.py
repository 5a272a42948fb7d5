"""Settings of model optimisation (``optimisation``): pruning and post-training quantisation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from driftgate.errors import ConfigError
from driftgate.models.serving import formats_of


class PruningSettings(BaseModel):
    """Magnitude pruning of the ``Dense`` kernels (``optimisation.prune``).

    Attributes:
        sparsity: Fraction of each kernel's weights set to zero, the smallest first.
        epochs: Fine-tuning passes over the training window: the sparsity rises from 0 during
            all but the last, which fine-tunes at the final sparsity.
        learning_rate: Adam's learning rate while fine-tuning.
    """

    model_config = ConfigDict(extra="forbid")

    sparsity: float = Field(0.5, gt=0, lt=1)
    epochs: int = Field(4, ge=1)
    learning_rate: float = Field(0.001, gt=0)


class OptimisationSettings(BaseModel):
    """Smaller models.

    Attributes:
        quantise: ``float16`` or ``int8`` post-training quantisation to TFLite (Keras models
            only); unset: none.
        prune: Magnitude pruning before the conversion to TFLite (driftgate's Keras model
            only); unset: none.
        max_accuracy_drop: Largest accuracy loss against the full model on held-out rows for the
            optimised model to be pushed with the version.
        calibration_rows: Rows of the training window int8 calibrates on (a seeded sample).
    """

    model_config = ConfigDict(extra="forbid")

    quantise: Literal["float16", "int8"] | None = None
    prune: PruningSettings | None = None
    max_accuracy_drop: float = Field(0.01, ge=0, le=1)
    calibration_rows: int = Field(200, ge=1)

    @property
    def enabled(self) -> bool:
        """Whether anything is to be optimised."""
        return self.quantise is not None or self.prune is not None

    def method(self) -> str:
        """What is done, for the record: ``int8``, ``pruned 50%``, ``pruned 50% + int8``."""
        parts = [f"pruned {self.prune.sparsity:.0%}" if self.prune else None, self.quantise]
        return " + ".join(part for part in parts if part)


def check_optimisable(
    settings: OptimisationSettings, family: str, custom_format: str, source: str
) -> None:
    """Refuses optimisation a training family's models cannot take.

    Raises:
        ConfigError: Names ``optimisation.quantise`` or ``optimisation.prune`` and what to change.
    """
    if settings.quantise and "saved_model" not in formats_of(family, custom_format):
        raise ConfigError(
            f"field 'optimisation.quantise': {family} models are not quantised (TFLite "
            "quantisation applies to Keras SavedModels only)",
            file=source,
            hint="set training.family to keras or remove optimisation.quantise",
        )
    if settings.prune and family != "keras":
        raise ConfigError(
            f"field 'optimisation.prune': {family} models are not pruned (pruning applies to "
            "the Dense layers of driftgate's own Keras model)",
            file=source,
            hint="set training.family to keras or remove optimisation.prune",
        )
