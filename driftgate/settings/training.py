"""How candidates are trained (the ``training`` settings).

Model family, hyperparameters, search, the training window (``components/train/window.py``)
and a team's own entry point (``components/train/custom.py``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ENTRYPOINT = re.compile(r"^(?P<module>[^:]+):(?P<function>[A-Za-z_][A-Za-z0-9_]*)$")
Strategy = Literal["all", "recent", "since_change"]


class WindowSettings(BaseModel):
    """Which stored rows a candidate trains on.

    Attributes:
        strategy: ``all``, ``recent``, ``since_change`` or ``auto`` (see
            ``components/train/window.py``).
        batches: For ``recent``: how many of the newest batches, this one included.
        rows: At most this many of the newest rows, whatever the strategy.
    """

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["all", "recent", "since_change", "auto"] = "since_change"
    batches: int = Field(4, ge=1)
    rows: int = Field(100_000, ge=1)

    def candidates(self, episode: set[str] | None) -> list[Strategy]:
        """The strategies to train with: one, or for ``auto`` every distinct one."""
        if self.strategy != "auto":
            return [self.strategy]
        return ["since_change", "recent", "all"] if episode else ["recent", "all"]


class CustomSettings(BaseModel):
    """A team's own training code.

    Attributes:
        entrypoint: ``package.module:function`` importable in the image, or ``file.py:function``
            (relative paths are resolved against the config file's folder).
        params: Free-form parameters, passed through as ``ctx.params``.
        format: What the entry point returns, when known before training: ``sklearn`` (served
            by MLServer) or ``saved_model`` (a Keras model, served by TF Serving); ``auto``
            accepts either, so both servers must be enabled.
    """

    model_config = ConfigDict(extra="forbid")

    entrypoint: str = ""
    params: dict[str, Any] = {}
    format: Literal["auto", "sklearn", "saved_model"] = "auto"

    @field_validator("entrypoint")
    @classmethod
    def _resolve(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            return value
        match = ENTRYPOINT.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not module:function or file.py:function")
        module = match["module"]
        base = (info.context or {}).get("base_dir")
        if module.endswith(".py") and base is not None and not Path(module).is_absolute():
            return f"{(Path(base) / module).resolve()}:{match['function']}"
        return value


class KerasSettings(BaseModel):
    """A small MLP with preprocessing layers inside the model.

    Attributes:
        hidden_units: Units of each hidden Dense layer, input side first.
        epochs: Most passes over the training rows.
        batch_size: Rows per step; ``auto`` keeps about 40 steps per epoch (at least 32 rows,
            at most 2,048), so a window ten times larger costs about the same number of steps.
        learning_rate: Adam's learning rate.
        dropout: Dropout rate after each hidden layer (0: none).
        patience: Stop when the training loss has not improved by 1e-4 for this many epochs
            (0: always run every epoch).
    """

    model_config = ConfigDict(extra="forbid")

    hidden_units: list[int] = [32, 16]
    epochs: int = Field(60, ge=1)
    batch_size: int | Literal["auto"] = "auto"
    learning_rate: float = Field(0.01, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    patience: int = Field(8, ge=0)

    def rows_per_step(self, rows: int) -> int:
        """The batch size for ``rows`` training rows."""
        return auto_rows_per_step(rows) if self.batch_size == "auto" else self.batch_size


def auto_rows_per_step(rows: int) -> int:
    """About 40 steps per pass over ``rows`` rows, each of 32 to 2,048 rows."""
    return int(min(2048, max(32, -(-rows // 40))))


class SklearnSettings(BaseModel):
    """A scikit-learn estimator behind imputation, scaling and one-hot encoding.

    Attributes:
        estimator: ``logistic_regression``, ``random_forest`` or ``gradient_boosting``
            (HistGradientBoosting); a regression label uses the matching regressor (Ridge for
            ``logistic_regression``).
        params: Estimator parameters, set with ``set_params`` (for example ``{C: 0.5}``).
    """

    model_config = ConfigDict(extra="forbid")

    estimator: Literal["logistic_regression", "random_forest", "gradient_boosting"] = (
        "logistic_regression"
    )
    params: dict[str, float | int | str | bool | None] = {}


class TuningSettings(BaseModel):
    """An optional hyperparameter search before training.

    Keras: keras-tuner's random search over layer sizes, learning rate and dropout, judged on a
    seeded 20 % of the training rows. scikit-learn: a randomized, stratified cross-validated
    search over the estimator's main parameters.

    Attributes:
        enabled: Run the search.
        max_trials: Most candidate settings tried (bounds the cost).
        epochs: Epochs per Keras trial (default: half the training epochs).
        folds: Cross-validation folds for scikit-learn.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    max_trials: int = Field(8, ge=1, le=100)
    epochs: int | None = Field(None, ge=1)
    folds: int = Field(3, ge=2, le=10)


class WarmStartSettings(BaseModel):
    """How much a warm start trains on top of the deployed model (``training.mode: warm_start``).

    Attributes:
        epochs: Keras: epochs of fine-tuning from the deployed weights (early stopping by
            ``keras.patience`` still applies). scikit-learn logistic regression: solver iterations
            from the deployed coefficients. 0 keeps the deployed weights as they are.
        estimators: scikit-learn random forest: trees added, grown on the new window (the
            deployed trees stay).
        learning_rate: Keras fine-tuning learning rate (default: ``keras.learning_rate``).
    """

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(10, ge=0)
    estimators: int = Field(50, ge=0)
    learning_rate: float | None = Field(None, gt=0)


class LearningCurveSettings(BaseModel):
    """The learning curve measured at training time (``components/train/curve.py``).

    Models of the same family are trained on nested, stratified subsets of the training rows
    and scored on the same held-out rows as the candidate; an inverse power law with a floor is
    fitted to the points and stored with the version, where the ``expected_gain`` trigger reads
    it.

    Attributes:
        enabled: Measure the curve (without it, ``expected_gain`` never fires).
        fractions: The subsets, as shares of the training rows (the whole set is the last
            point).
        min_rows: Subsets smaller than this are skipped; fewer than three points in all and
            the curve is not fitted.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    fractions: list[float] = [0.125, 0.25, 0.5]
    min_rows: int = Field(60, ge=2)

    @field_validator("fractions")
    @classmethod
    def _shares(cls, value: list[float]) -> list[float]:
        if any(not 0 < f < 1 for f in value):
            raise ValueError("every fraction must be between 0 and 1 (exclusive)")
        return sorted(set(value))


class TrainingSettings(BaseModel):
    """How candidates are trained.

    Attributes:
        family: ``keras`` (default; TF Serving serves it), ``sklearn`` (MLServer serves it) or
            ``custom``: the team's own entry point (:mod:`driftgate.models.contract`).
        window: Which stored rows join the batch's (see ``components/train/window.py``).
        eval_fraction: Share of the batch held out for evaluation.
        seed: Seed for the split, weight initialisation and shuffling.
        image: The team's own image for the train step (overrides ``images.train``); it must
            hold driftgate (see examples/custom-image).
        mode: ``scratch`` (default) trains a new model on the window; ``warm_start`` continues
            from the deployed model on the window: Keras from its weights, keeping its
            preprocessing constants (new categories extend the lookups and start from the
            out-of-vocabulary weights); scikit-learn through the estimator's ``warm_start``
            (logistic regression, random forest) on the deployed preprocessing. It falls back
            to scratch, and the train result says why, when there is no deployed version, the
            family, features, label classes or Keras layer sizes changed, scikit-learn met new
            categories, the estimator cannot warm-start soundly (ridge, liblinear, gradient
            boosting, whose warm start re-bins) or the family is ``custom`` (its context
            carries the deployed version).
        warm_start: Epochs or estimators a warm start adds.
        learning_curve: Subset trainings that tell the gate what more data is worth.
        keras: The built-in Keras MLP (``family: keras``).
        sklearn: The built-in scikit-learn estimator (``family: sklearn``).
        tuning: An optional hyperparameter search before training.
        custom: The team's own entry point (``family: custom``).
    """

    model_config = ConfigDict(extra="forbid")

    family: Literal["keras", "sklearn", "custom"] = "keras"
    window: WindowSettings = WindowSettings()
    eval_fraction: float = Field(0.3, gt=0, lt=1)
    seed: int = 42
    image: str | None = None
    mode: Literal["scratch", "warm_start"] = "scratch"
    warm_start: WarmStartSettings = WarmStartSettings()
    learning_curve: LearningCurveSettings = LearningCurveSettings()
    keras: KerasSettings = KerasSettings()
    sklearn: SklearnSettings = SklearnSettings()
    tuning: TuningSettings = TuningSettings()
    custom: CustomSettings = CustomSettings()
