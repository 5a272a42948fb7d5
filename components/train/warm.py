"""Chooses between a warm start from the deployed model and training from scratch.

``training.mode: warm_start`` continues from the deployed version when its model can take the
new window as it is: the same family, features, label classes and (Keras) layer sizes. Anything
else falls back to scratch, and the reason goes into the log, the train result and the model's
metadata, so a reviewer sees why a retrain cost what it cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from driftgate.data.schema import FeatureKinds
from driftgate.models.mirror import MIRROR_FILE, Mirror
from driftgate.registry.integrity import VerifiedDir
from driftgate.settings.training import TrainingSettings

log = logging.getLogger(__name__)

SCRATCH, WARM_START = "scratch", "warm_start"


@dataclass(frozen=True)
class Mode:
    """How one candidate is trained.

    Attributes:
        used: ``scratch`` or ``warm_start``.
        reason: Why, in one sentence.
        start: What a warm start continues from: the deployed
            :class:`~driftgate.models.mirror.Mirror` (Keras) or fitted pipeline (scikit-learn);
            None for scratch.
    """

    used: str
    reason: str
    start: Any = None


def choose(
    settings: TrainingSettings,
    deployed: VerifiedDir | None,
    kinds: FeatureKinds,
    classes: list[str],
    x: dict[str, np.ndarray],
) -> Mode:
    """The mode for a candidate trained on raw features ``x`` with these classes.

    Args:
        settings: The training settings (``mode``, ``warm_start``, the family's settings).
        deployed: The deployed version (None on the first run).
        kinds: The window's feature kinds.
        classes: The window's classes (empty for regression).
        x: Raw feature arrays of the training rows (new categories are looked up here).

    Returns:
        The mode, logged with its reason.
    """
    mode = _choose(settings, deployed, kinds, classes, x)
    log.info("training mode: %s (%s)", mode.used, mode.reason)
    return mode


def _choose(
    settings: TrainingSettings,
    deployed: VerifiedDir | None,
    kinds: FeatureKinds,
    classes: list[str],
    x: dict[str, np.ndarray],
) -> Mode:
    if settings.mode == SCRATCH:
        return Mode(SCRATCH, "training.mode is scratch")
    if deployed is None:
        return Mode(SCRATCH, "no deployed version to start from (first run)")
    version = f"version {deployed.path.name}"
    if settings.family == "custom":
        return Mode(
            SCRATCH,
            "driftgate does not warm-start custom entry points (their context carries the "
            "deployed version)",
        )
    meta = deployed.metadata
    if meta.get("family") != settings.family:
        return Mode(SCRATCH, f"deployed {version} is a {meta.get('family')} model")
    features = meta.get("features", {})
    old = (tuple(features.get("numeric", [])), tuple(features.get("categorical", [])))
    if old != (kinds.numeric, kinds.categorical) or meta.get("label") != kinds.label:
        added = sorted(set(kinds.features) - set(old[0] + old[1]))
        gone = sorted(set(old[0] + old[1]) - set(kinds.features))
        return Mode(
            SCRATCH,
            f"the schema changed since {version} (features added {added}, removed {gone}, "
            "or a kind or the label changed)",
        )
    if list(meta.get("classes", [])) != list(classes):
        added = sorted(set(classes) - set(meta.get("classes", [])))
        gone = sorted(set(meta.get("classes", [])) - set(classes))
        return Mode(
            SCRATCH,
            f"the label classes changed since {version} (new {added}, gone {gone}): its output "
            f"layer has {len(meta.get('classes', []))} classes",
        )
    if settings.family == "keras":
        return _keras(deployed, kinds, settings, x)
    from driftgate.components.train.sklearn_trainer import warm_start_pipeline

    return warm_start_pipeline(deployed, kinds, settings, x)


def _keras(deployed: VerifiedDir, kinds: FeatureKinds, settings: TrainingSettings, x: dict) -> Mode:
    """A warm start from the deployed weights, or the reason it falls back to scratch.

    Args:
        deployed: The deployed version (same family, features and classes as the window).
        kinds: Feature kinds.
        settings: The training settings.
        x: Raw feature arrays of the training rows.
    """
    version = f"version {deployed.path.name}"
    if not (deployed.path / MIRROR_FILE).is_file():
        return Mode(SCRATCH, f"deployed {version} has no {MIRROR_FILE} with its weights")
    start = Mirror.load(deployed.path / MIRROR_FILE)
    layers = [k.shape[1] for k in start.kernels[:-1]]
    if layers != list(settings.keras.hidden_units):
        return Mode(
            SCRATCH,
            f"deployed {version} has hidden layers {layers}, training.keras.hidden_units "
            f"is {list(settings.keras.hidden_units)}",
        )
    added = new_categories(start.vocabularies, kinds, x)
    epochs = f"{settings.warm_start.epochs} epoch(s)"
    if added:
        return Mode(
            WARM_START,
            f"fine-tuned {version}'s weights for {epochs}; the schema changed (new categories "
            f"{added}), so the lookups were re-adapted with them",
            start,
        )
    return Mode(
        WARM_START,
        f"fine-tuned {version}'s weights for {epochs}; the schema is unchanged, so the "
        "preprocessing keeps its constants",
        start,
    )


def new_categories(known: list[list[str]], kinds: FeatureKinds, x: dict[str, np.ndarray]) -> dict:
    """Categorical values in ``x`` missing from each feature's known values ('' is missing)."""
    found = {}
    for name, values in zip(kinds.categorical, known, strict=True):
        unseen = sorted(set(x[name].tolist()) - set(values) - {""})
        if unseen:
            found[name] = unseen
    return found
