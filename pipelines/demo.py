"""The demo: five scheduled runs on the Palmer penguins data, told as a story.

1. Bootstrap: no model yet, so the first batch (2007–2008) trains and pushes version 1.
2. No drift: the 2009 field season as measured. The gate stays closed; nothing is trained.
3. Drift that does not hurt: the same season after the field scale was recalibrated and reads
   body mass 15 % heavy. body_mass_g drifts, but the deployed model still scores as well as
   before: the drift is reported and alerted, and nothing is retrained.
4. The same batch again: the batch ledger knows it; the run skips it as already processed.
5. A real drop in quality: the 2009 season with flipper length recorded in centimetres by a
   new field protocol. The deployed model's accuracy collapses, the gate opens on performance,
   a candidate is trained on the rows since the change, evaluated against version 1 on
   held-out rows per island and per sex, and pushed as version 2.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import palmerpenguins
import pandas as pd

from driftgate.pipelines.config import Config
from driftgate.pipelines.local_run import RunSummary, run_local

MARKER = ".driftgate-demo"
SCALE_SHIFT = 1.15
PATHS = ("bootstrap", "closed", "retrain")  # the pipeline's three paths


@dataclass(frozen=True)
class Step:
    """One run of the story."""

    title: str
    batch: Path
    story: str
    path: str  # which of the pipeline's PATHS the run takes


def penguins() -> pd.DataFrame:
    """The penguins table shipped with the palmerpenguins package (no network)."""
    return pd.read_csv(Path(palmerpenguins.__file__).parent / "data" / "penguins.csv")


def prepare(workdir: Path) -> list[Step]:
    """Writes the demo's batches into ``workdir/batches`` and describes the runs."""
    data = penguins()
    batches = workdir / "batches"
    batches.mkdir(parents=True)
    bootstrap = data[data["year"] <= 2008]
    season = data[data["year"] == 2009]
    recalibrated = season.assign(body_mass_g=season["body_mass_g"] * SCALE_SHIFT)
    centimetres = season.assign(flipper_length_mm=season["flipper_length_mm"] / 10)
    paths = {}
    for name, frame in (
        ("2007-2008", bootstrap),
        ("2009", season),
        ("2009-recalibrated-scale", recalibrated),
        ("2009-flippers-in-cm", centimetres),
    ):
        paths[name] = batches / f"penguins-{name}.csv"
        frame.to_csv(paths[name], index=False)
    return [
        Step(
            "1. bootstrap",
            paths["2007-2008"],
            f"No model is deployed. The first {len(bootstrap)} rows (2007–2008) train version 1.",
            "bootstrap",
        ),
        Step(
            "2. a batch without drift",
            paths["2009"],
            f"The {len(season)} rows of the 2009 season, as measured. The gate should stay closed.",
            "closed",
        ),
        Step(
            "3. drift that does not hurt",
            paths["2009-recalibrated-scale"],
            f"The same 2009 season after the scale was recalibrated: body_mass_g reads "
            f"{SCALE_SHIFT - 1:.0%} heavy. It drifts, but if the deployed model still scores "
            "well the drift is reported, not retrained on.",
            "closed",
        ),
        Step(
            "4. the same batch again",
            paths["2009-recalibrated-scale"],
            "A rerun on the same bytes: the batch ledger skips it as already processed.",
            "closed",
        ),
        Step(
            "5. a real drop in quality",
            paths["2009-flippers-in-cm"],
            "The 2009 season with flipper length recorded in centimetres by a new field "
            "protocol. The deployed model's accuracy should collapse and the gate open.",
            "retrain",
        ),
    ]


def reset(workdir: Path) -> None:
    """Empties the demo's own working directory (refusing any other non-empty directory)."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            raise SystemExit(
                f"driftgate demo: {workdir} is not empty and is not a demo directory; "
                "pass an empty or new --workdir"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("created by driftgate demo; safe to delete\n")


def run_demo(
    config: Config,
    workdir: Path,
    say: Callable[[str], None],
    verbose: bool = False,
    on_run: Callable[[Step, RunSummary], None] | None = None,
) -> list[RunSummary]:
    """Runs the demo's steps in order against one registry.

    Args:
        config: The penguins configuration.
        workdir: Scratch directory for batches, the registry and run outputs.
        say: Prints a line.
        verbose: Echo task logs.
        on_run: Called after each run (the CLI prints its summary there).

    Returns:
        The runs' outcomes.
    """
    reset(workdir)
    steps = prepare(workdir)
    registry = workdir / "registry"
    summaries = []
    for step in steps:
        say(f"\n== {step.title} ==\n{step.story}\nbatch: {step.batch}")
        summary = run_local(
            config,
            str(step.batch),
            str(registry),
            output_root=workdir / "runs",
            verbose=verbose,
            progress=sys.stdout,
        )
        summaries.append(summary)
        if on_run:
            on_run(step, summary)
        if not summary.succeeded:
            break
    return summaries
