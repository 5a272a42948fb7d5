"""The candidate's learning curve: the same family trained on nested subsets of its rows.

Each subset is a stratified (classification) or random (regression) share of the candidate's
training rows, nested so that every larger subset holds the smaller ones. Each model trains from
scratch with the candidate's own settings (a hyperparameter search's choice included, without
searching again, and without TensorBoard logs) and is scored on the candidate's held-out rows,
so every point of the curve is judged on the same rows. The fit and its uncertainty are
:mod:`driftgate.models.learning_curve`'s.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from driftgate.components.train import warm
from driftgate.components.train.family import Trained, model_metadata, outcomes, train_model
from driftgate.data.schema import FeatureKinds
from driftgate.models.learning_curve import MIN_POINTS, fit_curve
from driftgate.models.scoring import load_scorer
from driftgate.registry.integrity import verify, write_manifest
from driftgate.settings.training import TrainingSettings

log = logging.getLogger(__name__)


@dataclass
class CurveOutcome:
    """The fitted curve (as stored in the version's metadata), or why there is none."""

    curve: dict | None
    note: str


def nested_subsets(
    labels: list | None, rows: int, fractions: list[float], seed: int
) -> list[np.ndarray]:
    """Row indices of nested subsets, one per fraction (ascending), stratified when labelled.

    Every class keeps at least one row in every subset.
    """
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(rows)
        return [np.sort(order[: max(1, round(rows * f))]) for f in fractions]
    array = np.asarray(labels, dtype=object)
    orders = [rng.permutation(np.flatnonzero(array == c)) for c in sorted(set(labels))]
    return [
        np.sort(np.concatenate([o[: max(1, round(o.size * f))] for o in orders])) for f in fractions
    ]


def measure(
    train_table: pa.Table,
    eval_table: pa.Table,
    kinds: FeatureKinds,
    task: str,
    classes: list[str],
    trained: Trained,
    full_outcomes: np.ndarray,
    mode: warm.Mode,
    max_rows: int,
) -> CurveOutcome:
    """Trains the subsets, scores them and fits the curve.

    Args:
        train_table: The candidate's training rows.
        eval_table: Its held-out rows.
        kinds: Feature kinds and label.
        task: ``classification`` or ``regression``.
        classes: The label classes (empty for regression).
        trained: The candidate's training (its effective settings train the subsets).
        full_outcomes: The candidate's per-row outcomes on the held-out rows.
        mode: How the candidate was trained: a warm start has no comparable curve.
        max_rows: Most training rows the window allows.

    Returns:
        The curve, or a note on why it was not fitted.
    """
    settings: TrainingSettings = trained.settings
    wanted = settings.learning_curve
    if not wanted.enabled:
        return CurveOutcome(None, "training.learning_curve.enabled is false")
    if mode.start is not None:
        return CurveOutcome(None, "the candidate was warm-started: subsets from scratch would "
                                  "not be comparable")  # fmt: skip
    labels = train_table.column(kinds.label).to_pylist() if classes else None
    rows = train_table.num_rows
    subsets = [
        s
        for s in nested_subsets(labels, rows, wanted.fractions, settings.seed)
        if wanted.min_rows <= s.size < rows
    ]
    if len(subsets) + 1 < MIN_POINTS:
        return CurveOutcome(
            None,
            f"{rows:,} training rows give {len(subsets)} subset(s) of at least "
            f"training.learning_curve.min_rows={wanted.min_rows}: too few points to fit",
        )
    started = time.monotonic()
    points: list[tuple[int, np.ndarray]] = []
    work = Path(tempfile.mkdtemp(prefix="driftgate-curve-"))
    try:
        for index, subset in enumerate(subsets):
            table = train_table.take(pa.array(subset, pa.int64()))
            model_dir = work / f"model-{index}"
            model_dir.mkdir()
            log.info("learning curve: training on %s of %s rows", f"{subset.size:,}", f"{rows:,}")
            done = train_model(
                table, eval_table, kinds, task, classes, settings, model_dir, None,
                warm.Mode(warm.SCRATCH, "learning-curve subset"), None,
            )  # fmt: skip
            write_manifest(
                model_dir,
                model_metadata(kinds, classes, settings, done, table, eval_table, task),
            )
            scorer = load_scorer(verify(model_dir), fast=True)
            points.append((int(subset.size), outcomes(scorer, eval_table, kinds.label, classes)))
    except Exception as exc:  # a team's trainer may fail on few rows in its own way
        return CurveOutcome(None, f"a subset training failed: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    points.append((rows, full_outcomes))
    curve = fit_curve(
        [r for r, _ in points],
        [o for _, o in points],
        "rmse" if not classes else "accuracy",
        seed=settings.seed,
    )
    curve.train_share = 1 - settings.eval_fraction
    curve.max_rows = max_rows
    curve.seconds = time.monotonic() - started
    log.info(
        "learning curve: %s; fitted a=%.4f b=%.3f c=%.3f in %.1f s",
        ", ".join(f"{r:,} rows {s:.4f}" for r, s in zip(curve.rows, curve.scores, strict=True)),
        *curve.params,
        curve.seconds,
    )
    return CurveOutcome(curve.to_dict(), "")
