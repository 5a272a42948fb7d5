"""The quantised candidate, judged beside the full one on the same held-out rows.

When ``optimisation.quantise`` is set and the candidate is a Keras SavedModel classifier, the
evaluate step converts it to TFLite (int8 calibrated on a seeded sample of the training window),
scores both on the held-out rows (:mod:`driftgate.optimise`) and keeps the flatbuffer only when
its accuracy is within ``max_accuracy_drop``; push then stores it as ``model.tflite`` in the
version. A quantisation that fails is recorded, never raised: the full model's blessing and push
do not depend on it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from driftgate import optimise
from driftgate.integrity import VerifiedDir
from driftgate.settings.optimisation import OptimisationSettings
from driftgate.tasks import REGRESSION

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Optimised:
    """What quantisation gave.

    Attributes:
        summary: Stored in the evaluation under ``optimisation``: the report (sizes, accuracies,
            delta, latencies, verdict, the flatbuffer's SHA-256), or why there is none.
        flatbuffer: The quantised model when it was accepted, else None.
        markdown: The record's section.
    """

    summary: dict
    flatbuffer: bytes | None
    markdown: str

    def metrics(self) -> dict[str, float]:
        """The quantised model's figures for the run's Metrics view (none when it failed)."""
        if "quantised" not in self.summary:
            return {}
        quantised = self.summary["quantised"]
        return {
            "quantised_accuracy": quantised["accuracy"],
            "quantised_accuracy_delta": self.summary["accuracy_delta"],
            "quantised_size_bytes": float(quantised["size_bytes"]),
            "full_size_bytes": float(self.summary["full"]["size_bytes"]),
        }


def _not_quantised(mode: str, why: str) -> Optimised:
    return Optimised(
        {"quantise": mode, "error": why},
        None,
        f"## Quantisation ({mode})\n\nNot quantised: {why}. The full model is judged and pushed "
        "as usual.\n",
    )


def optimise_candidate(
    candidate: VerifiedDir,
    eval_path: str | Path,
    training_data: str | Path | None,
    settings: OptimisationSettings,
) -> Optimised | None:
    """Quantises the candidate and judges it; None when ``optimisation.quantise`` is unset.

    Args:
        candidate: The verified candidate directory.
        eval_path: The held-out rows the full model was judged on.
        training_data: The training window (int8 calibration rows are sampled from it).
        settings: The quantisation mode and the allowed accuracy drop.
    """
    mode = settings.quantise
    if mode is None:
        return None
    if not (candidate.path / "saved_model.pb").is_file():
        return _not_quantised(mode, "the candidate is not a SavedModel")
    if candidate.metadata.get("task") == REGRESSION:
        return _not_quantised(mode, "a regressor has no accuracy to judge the quantised model by")
    if mode == "int8" and training_data is None:
        return _not_quantised(mode, "int8 needs the training window to calibrate on")
    try:
        calibration = pq.read_table(training_data).to_pandas() if mode == "int8" else None
        flatbuffer = optimise.quantise(candidate.path, settings, calibration)
        report = optimise.evaluate(
            candidate.path,
            flatbuffer,
            pq.read_table(eval_path).to_pandas(),
            candidate.metadata["label"],
            candidate.metadata["classes"],
            settings,
        )
    except Exception as exc:  # any failure is recorded: the full model must still be pushed
        log.exception("quantisation failed; the full model is judged and pushed as usual")
        return _not_quantised(mode, f"failed: {type(exc).__name__}: {exc}".splitlines()[0])
    summary = {**report.to_dict(), "sha256": hashlib.sha256(flatbuffer).hexdigest()}
    log.info(
        "%s model: %s bytes (full %s), accuracy delta %+.4f: %s",
        mode,
        f"{report.quantised.size_bytes:,}",
        f"{report.full.size_bytes:,}",
        report.accuracy_delta,
        "accepted" if report.accepted else "rejected",
    )
    return Optimised(summary, flatbuffer if report.accepted else None, report.markdown())
