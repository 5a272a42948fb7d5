"""The optimised candidate, judged beside the full one on the same held-out rows.

When ``optimisation`` sets ``prune`` or ``quantise`` and the candidate is a Keras SavedModel
classifier, the evaluate step prunes it (fine-tuning on the training window,
:mod:`driftgate.models.pruning`), converts it to TFLite (int8 calibrated on a seeded sample of
the window), scores both on the held-out rows (:mod:`driftgate.models.optimise`) and keeps the
flatbuffer only when its accuracy is within ``max_accuracy_drop``; push then stores it as
``model.tflite`` in the version. An optimisation that fails is recorded, never raised: the full
model's blessing and push do not depend on it.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from driftgate.models import optimise, pruning
from driftgate.models.tasks import REGRESSION
from driftgate.registry.integrity import VerifiedDir
from driftgate.settings.optimisation import OptimisationSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Optimised:
    """What optimisation gave.

    Attributes:
        summary: Stored in the evaluation under ``optimisation``: the report (sizes, accuracies,
            delta, latencies, sparsity, verdict, the flatbuffer's SHA-256), or why there is none.
        flatbuffer: The optimised model when it was accepted, else None.
        markdown: The record's section.
    """

    summary: dict
    flatbuffer: bytes | None
    markdown: str

    def metrics(self) -> dict[str, float]:
        """The optimised model's figures for the run's Metrics view (none when it failed)."""
        if "optimised" not in self.summary:
            return {}
        optimised, full = self.summary["optimised"], self.summary["full"]
        return {
            "optimised_accuracy": optimised["accuracy"],
            "optimised_accuracy_delta": self.summary["accuracy_delta"],
            "optimised_size_bytes": float(optimised["size_bytes"]),
            "optimised_gzip_bytes": float(optimised["gzip_bytes"]),
            "full_size_bytes": float(full["size_bytes"]),
            "full_gzip_bytes": float(full["gzip_bytes"]),
        }


def _not_optimised(method: str, why: str) -> Optimised:
    return Optimised(
        {"method": method, "error": why},
        None,
        f"## Optimisation ({method})\n\nNot optimised: {why}. The full model is judged and "
        "pushed as usual.\n",
    )


def not_held_out(window: pd.DataFrame, held_out: pd.DataFrame) -> pd.DataFrame:
    """The window's rows that match no held-out row.

    The train step's window includes its held-out rows; pruning must not fine-tune on the rows
    the optimised model is judged on.
    """
    columns = [c for c in held_out.columns if c in window.columns]
    keys = held_out[columns].drop_duplicates()
    matched = window.merge(keys, on=columns, how="left", indicator=True)["_merge"] == "both"
    return window[~matched.to_numpy()]


def optimise_candidate(
    candidate: VerifiedDir,
    eval_path: str | Path,
    training_data: str | Path | None,
    settings: OptimisationSettings,
) -> Optimised | None:
    """Prunes and/or quantises the candidate and judges it; None when neither is set.

    Args:
        candidate: The verified candidate directory.
        eval_path: The held-out rows the full model was judged on.
        training_data: The training window (pruning fine-tunes on it, int8 calibrates on it).
        settings: The optimisation and the allowed accuracy drop.
    """
    if not settings.enabled:
        return None
    method = settings.method()
    if not (candidate.path / "saved_model.pb").is_file():
        return _not_optimised(method, "the candidate is not a SavedModel")
    if candidate.metadata.get("task") == REGRESSION:
        return _not_optimised(method, "a regressor has no accuracy to judge the optimised model by")
    needs_window = settings.prune is not None or settings.quantise == "int8"
    if needs_window and training_data is None:
        return _not_optimised(method, "pruning and int8 need the training window")
    label = candidate.metadata["label"]
    try:
        held_out = pq.read_table(eval_path).to_pandas()
        with tempfile.TemporaryDirectory(prefix="driftgate-pruned-") as scratch:
            window = pq.read_table(training_data).to_pandas() if needs_window else None
            source, sparsity = candidate.path, None
            if settings.prune:
                rows = not_held_out(window, held_out)
                pruned = pruning.prune(source, rows, label, settings.prune, Path(scratch) / "m")
                source, sparsity = pruned.path, pruned.sparsity
            flatbuffer = optimise.convert(source, settings, window)
        report = optimise.evaluate(
            candidate.path,
            flatbuffer,
            held_out,
            label,
            candidate.metadata["classes"],
            settings,
            sparsity,
        )
    except Exception as exc:  # any failure is recorded: the full model must still be pushed
        log.exception("optimisation failed; the full model is judged and pushed as usual")
        return _not_optimised(method, f"failed: {type(exc).__name__}: {exc}".splitlines()[0])
    summary = {**report.to_dict(), "sha256": hashlib.sha256(flatbuffer).hexdigest()}
    log.info(
        "%s model: %s bytes, %s gzipped (full %s, %s), accuracy delta %+.4f: %s",
        method,
        f"{report.optimised.size_bytes:,}",
        f"{report.optimised.gzip_bytes:,}",
        f"{report.full.size_bytes:,}",
        f"{report.full.gzip_bytes:,}",
        report.accuracy_delta,
        "accepted" if report.accepted else "rejected",
    )
    return Optimised(summary, flatbuffer if report.accepted else None, report.markdown())
