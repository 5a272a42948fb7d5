"""Publishes a blessed candidate to the registry with its schema, statistics and provenance."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from driftgate.errors import IntegrityError
from driftgate.models.optimise import TFLITE_FILE
from driftgate.models.serving import write_server_files
from driftgate.registry.integrity import MANIFEST, VerifiedDir, sha256_file
from driftgate.registry.store import (
    EVALUATION_FILE,
    REFERENCE_SAMPLE,
    REFERENCE_STATS,
    SCHEMA_FILE,
    TRAINING_DATA,
    PushResult,
    Registry,
)

log = logging.getLogger(__name__)


def push(
    model: VerifiedDir,
    sidecars: dict[str, Path],
    evaluation: dict,
    registry: Registry,
    parent: int | None,
    provenance: dict,
    parent_generation: int | None = None,
    optimised: Path | None = None,
) -> PushResult:
    """Copies the model, its sidecars and its server's settings into a new version; promotes it.

    Args:
        model: The verified candidate directory (SavedModel or model.joblib, plus mirror).
        sidecars: Files stored beside the model: schema, reference statistics and sample,
            training data (keys are the registry file names).
        evaluation: The evaluation result that blessed it.
        registry: The model's registry.
        parent: The production version the run compared against.
        provenance: Batch hash and source, run id and code version.
        parent_generation: The production pointer's generation when the run read ``parent``
            (compare-and-swap that push, rollback, push cannot fool).
        optimised: The optimised model the evaluation accepted, stored as ``model.tflite``
            (covered by the version's checksums and signature like every other file).

    Returns:
        The new version and whether it became production.

    Raises:
        IntegrityError: ``optimised`` is not the flatbuffer the evaluation accepted.
    """
    required = {SCHEMA_FILE, REFERENCE_STATS, REFERENCE_SAMPLE, TRAINING_DATA}
    missing = required - set(sidecars)
    if missing:
        raise ValueError(f"push needs {sorted(missing)}")
    if optimised is not None:
        _check_accepted(optimised, evaluation.get("optimisation") or {})
    with registry.staging() as staged:
        shutil.copytree(
            model.path, staged, dirs_exist_ok=True, ignore=shutil.ignore_patterns(MANIFEST)
        )
        for name, source in sidecars.items():
            shutil.copyfile(source, staged / name)
        if optimised is not None:
            shutil.copyfile(optimised, staged / TFLITE_FILE)
        (staged / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=2, sort_keys=True))
        write_server_files(staged, registry.model, model.metadata)
        metadata = {k: v for k, v in model.metadata.items() if k != "files"}
        overall = evaluation.get("metrics", {}).get("overall", {})
        metadata.update(
            model_name=registry.model,
            metrics=overall.get("candidate", {}),
            baseline_metrics=overall.get("baseline", {}),
            data={"training_data_sha256": sha256_file(staged / TRAINING_DATA), **provenance},
        )
        result = registry.push(staged, metadata, parent, parent_generation=parent_generation)
    log.info("%s", result.message)
    return result


def _check_accepted(optimised: Path, report: dict) -> None:
    """Refuses an optimised model the evaluation did not accept, byte for byte."""
    if not report.get("accepted") or sha256_file(optimised) != report.get("sha256"):
        raise IntegrityError(
            "is not the optimised model the evaluation accepted; refusing to push it",
            file=str(optimised),
            hint="push the evaluate step's own optimised_model output",
        )
