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
