"""The loop over time: each batch once, concurrent runs apart, a blessing that never keeps a
worse model in production."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from driftgate.components.evaluate.blessing import floor_waiver


def failure(metric: str, kind: str, bound: float) -> SimpleNamespace:
    return SimpleNamespace(metric=metric, kind=kind, bound=bound)


def test_a_candidate_under_the_floor_is_promoted_when_it_beats_a_collapsed_model():
    overall = {"candidate": {"accuracy": 0.72}, "baseline": {"accuracy": 0.50}}
    notes = floor_waiver([failure("accuracy", "value", 0.8)], overall, margin=0.02)
    assert notes and "still under the floor 0.8000" in notes[0] and "+0.2200" in notes[0]


@pytest.mark.parametrize(
    ("failures", "overall"),
    [
        # worse than the deployed model: a change threshold failed too
        ([failure("accuracy", "value", 0.8), failure("accuracy", "change", 0.0)],
         {"candidate": {"accuracy": 0.6}, "baseline": {"accuracy": 0.7}}),
        # the deployed model meets the floor: the floor holds
        ([failure("accuracy", "value", 0.8)],
         {"candidate": {"accuracy": 0.75}, "baseline": {"accuracy": 0.85}}),
        # better, but by less than the margin
        ([failure("accuracy", "value", 0.8)],
         {"candidate": {"accuracy": 0.51}, "baseline": {"accuracy": 0.50}}),
        # no deployed model to compare with
        ([failure("accuracy", "value", 0.8)], {"candidate": {"accuracy": 0.7}}),
    ],
)  # fmt: skip
def test_the_floor_holds_otherwise(failures, overall):
    assert floor_waiver(failures, overall, margin=0.02) is None


@pytest.mark.slow
def test_concurrent_local_runs_keep_their_own_outputs(deployed_registry, tmp_path, penguins_frame):
    batches = []
    for year in (2008, 2009):
        path = tmp_path / f"penguins-{year}.csv"
        penguins_frame[penguins_frame.year == year].to_csv(path, index=False)
        batches.append(path)
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "driftgate.pipelines.cli",
                "run",
                "--local",
                "--batch",
                str(batch),
                "--registry",
                str(deployed_registry),
                "--output-dir",
                str(tmp_path / "runs"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err[-2000:] for _, err in outputs]
    directories = [Path(re.search(r"outputs and log: (\S+)\)", out).group(1)) for out, _ in outputs]
    assert directories[0] != directories[1]
    for directory, batch in zip(directories, batches, strict=True):
        ingest = json.loads((directory / "ingest" / "executor_output.json").read_text())
        assert ingest["parameterValues"]["source"] == str(batch)


def test_a_directory_gives_its_oldest_unprocessed_complete_batch(tmp_path):
    from driftgate.components.ingest.core import pick_batch

    for name in ("2026-11-02.csv", "2026-11-09.csv", "2026-11-16.csv.part", ".2026-11-23.csv"):
        (tmp_path / name).write_text("x,y\n1,a\n")
    first, second = (str(tmp_path / n) for n in ("2026-11-02.csv", "2026-11-09.csv"))
    assert pick_batch(str(tmp_path), set()) == first
    assert pick_batch(str(tmp_path), {first}) == second
    assert pick_batch(str(tmp_path), {first, second}) == second  # all done: the newest, skipped
    assert pick_batch(first, set()) == first


def test_a_window_left_with_one_class_widens_to_every_stored_row():
    import pyarrow as pa

    from driftgate.components.train.window import assemble_window, labelled_rows
    from driftgate.settings.training import WindowSettings

    previous = labelled_rows(pa.table({"x": [1.0, 2.0], "y": ["a", "b"]}), "y", "old")
    batch = labelled_rows(pa.table({"x": [3.0, 4.0], "y": ["a", "a"]}), "y", "new")
    only_new, _ = assemble_window(batch, previous, "since_change", WindowSettings(), {"new"})
    assert set(only_new.column("y").to_pylist()) == {"a"}  # one class: train widens to `all`
    widened, _ = assemble_window(batch, previous, "all", WindowSettings())
    assert set(widened.column("y").to_pylist()) == {"a", "b"}


@pytest.mark.slow
def test_schema_show_and_diff_print_the_deployed_schema_and_a_batchs_changes(
    deployed_registry, tmp_path, penguins_frame
):
    batch = tmp_path / "anvers.csv"
    frame = penguins_frame[penguins_frame.year == 2009].copy()
    frame.loc[frame.index[:3], "island"] = "Anvers"
    frame.to_csv(batch, index=False)
    command = [sys.executable, "-m", "driftgate.pipelines.cli", "schema"]
    where = ["--registry", str(deployed_registry)]
    shown = subprocess.run([*command, "show", *where], capture_output=True, text=True)
    assert shown.returncode == 0 and "species" in shown.stdout and "Adelie" in shown.stdout
    diff = subprocess.run(
        [*command, "diff", "--batch", str(batch), *where], capture_output=True, text=True
    )
    assert diff.returncode == 0, diff.stderr
    assert "island: + Anvers" in diff.stdout and "warns: island" in diff.stdout
