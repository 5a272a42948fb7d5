"""Replay on a stable stream: ``expected_gain`` retrains while more data pays, then stops."""

from __future__ import annotations

import pandas as pd
import pytest

from driftgate.pipelines.config import load_config
from driftgate.pipelines.policies import parse_policies
from driftgate.pipelines.replay_cli import replay

pytestmark = pytest.mark.slow
CONFIG = """\
data: {label: class}
training: {family: sklearn, sklearn: {estimator: random_forest}, learning_curve: {min_rows: 20}}
"""


def sea_stream(directory, sizes: list[int]):
    """SEA variant 0 (river, 10 % label noise): one concept, no drift, growing data."""
    from river.datasets import synth

    directory.mkdir(parents=True)
    rows = iter(synth.SEA(variant=0, seed=3, noise=0.1))
    for b, size in enumerate(sizes):
        frame = pd.DataFrame(
            [{"x0": x[0], "x1": x[1], "x2": x[2], "class": f"c{y}"} for x, y in
             (next(rows) for _ in range(size))]
        )  # fmt: skip
        frame.to_csv(directory / f"batch-{b:02d}.csv", index=False)
    return directory


def test_expected_gain_fires_early_and_then_not_at_all(tmp_path):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(CONFIG)
    batches = sea_stream(tmp_path / "batches", [300] + [600] * 9)
    config = load_config(config_path)
    document = replay(
        config,
        sorted(str(p) for p in batches.iterdir()),
        parse_policies(["gate"], config, tmp_path),
        tmp_path / "out",
        say=lambda line: None,
    )
    records = document["policies"]["gate"]["batches"]
    fired = [i for i, r in enumerate(records) if "more data is worth it" in r["reason"]]
    assert fired and fired[0] <= 2, [r["reason"] for r in records]
    assert not fired or max(fired) <= 6, [r["reason"] for r in records]
    quiet = records[-3:]
    assert all(r["decision"] == "skip" for r in quiet)
    assert all(r["expected_gain"] is not None and r["expected_gain"][1] < 0.005 for r in quiet)
