"""``driftgate replay --tune``: selection reads only the fit part; snippet; held-out report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_replay import SKLEARN, agrawal_stream

from driftgate.errors import ConfigError
from driftgate.pipelines.cli import main
from driftgate.pipelines.config import load_config, parse_config
from driftgate.pipelines.replay_record import BatchRecord
from driftgate.pipelines.tune import (
    BUDGET,
    GRID,
    Trial,
    TuneOptions,
    current_settings,
    gpu_limit,
    merged,
    resolve_budget,
    select,
    shuffled_grid,
    with_settings,
)
from driftgate.pipelines.tune_cli import snippet


def _records(metric: str, scores: list[float | None], trained: list[int], seconds=360.0):
    """One record per score (None: the bootstrap), trainings at ``trained`` cost ``seconds``."""
    return [
        BatchRecord(
            f"b{i}",
            "retrain" if i in trained else "skip",
            "",
            1,
            1,
            metrics=None if s is None else {metric: s},
            train_seconds=seconds if i in trained else 0.0,
        )
        for i, s in enumerate(scores)
    ]


def _trial(name: str, scores, trained=(0,), metric="accuracy", seconds=360.0) -> Trial:
    return Trial(name, {}, _records(metric, scores, list(trained), seconds))


def test_selection_never_reads_the_held_out_batches():
    fit = 3  # batches 0-2; 3-4 are held out
    trials = [
        _trial("current", [None, 0.70, 0.70, 0.50, 0.50]),
        _trial("better-on-fit", [None, 0.80, 0.80, 0.10, 0.10], trained=(0, 3, 4)),
        _trial("better-held-out-only", [None, 0.60, 0.60, 1.00, 1.00]),
    ]
    assert select(trials, fit, "accuracy", 1, limit=1.0) == 1
    # whatever happens after the split, the choice stays: rewrite every held-out record
    for trial in trials:
        flipped = [None, None, None, 0.0, 0.0] if trial.name != "current" else [1.0] * 5
        trial.records[fit:] = _records("accuracy", flipped, [3, 4], seconds=3.6e6)[fit:]
    assert select(trials, fit, "accuracy", 1, limit=1.0) == 1
    truncated = [Trial(t.name, {}, t.records[:fit]) for t in trials]
    assert select(truncated, fit, "accuracy", 1, limit=1.0) == 1


def test_the_gpu_limit_excludes_trials_and_ties_keep_the_current_settings():
    current = _trial("current", [None, 0.70, 0.70, 0.7])
    costly = _trial("costly", [None, 0.90, 0.90, 0.9], trained=(0, 1, 2))  # 0.3 GPU-hours
    same = _trial("same", [None, 0.70, 0.70, 0.7])
    more_trainings = _trial("more", [None, 0.70, 0.70, 0.7], trained=(0, 1))
    assert select([current, costly], 3, "accuracy", 1, limit=0.3) == 1
    assert select([current, costly], 3, "accuracy", 1, limit=0.25) == 0
    assert select([current, more_trainings, same], 3, "accuracy", 1, limit=1.0) == 0
    assert select([more_trainings, same], 3, "accuracy", 1, limit=1.0) == 1
    assert select([costly], 3, "accuracy", 1, limit=0.01) == 0  # none within: the current


def test_rmse_is_minimised():
    trials = [
        _trial("current", [None, 5.0, 5.0], metric="rmse"),
        _trial("lower", [None, 4.0, 4.0], metric="rmse"),
    ]
    assert select(trials, 3, "rmse", 1, limit=1.0) == 1


def test_the_default_limit_is_the_current_fit_spend_and_the_flag_is_scaled():
    current = _trial("current", [None, 0.7, 0.7, 0.7, 0.7, 0.7], trained=(0, 4))
    default = gpu_limit(current, 3, 6, TuneOptions(), "accuracy", 2)
    assert default == pytest.approx(2 * 360 / 3600 * 1.1)  # batch 4's training is held out
    assert gpu_limit(current, 3, 6, TuneOptions(max_gpu_hours=4.0), "accuracy", 2) == 2.0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("1", None, None), "--trials: '1' is not an integer of 2 or more"),
        (("many", None, None), "--trials: 'many' is not an integer"),
        ((None, "1.5", None), "--tune-split: '1.5' is not between 0 and 1"),
        ((None, "half", None), "--tune-split: 'half' is not a number"),
        ((None, None, "-2"), "--max-gpu-hours: '-2' is not positive"),
    ],
)
def test_bad_flag_values_name_the_flag(flags, message):
    with pytest.raises(ConfigError) as caught:
        TuneOptions.parse(*flags)
    assert caught.value.one_line().startswith(message)


def test_the_split_needs_two_fit_batches_and_one_held_out():
    assert TuneOptions(split=0.67).fit_batches(16) == 10
    with pytest.raises(ConfigError, match=r"--tune-split: 0\.2 of 5 batch"):
        TuneOptions(split=0.2).fit_batches(5)
    assert TuneOptions(split=0.99).fit_batches(5) == 4
    with pytest.raises(ConfigError, match="gives 1 to fit on and 2 held out"):
        TuneOptions(split=0.5).fit_batches(3)


def test_settings_merge_over_the_config_and_the_snippet_holds_only_changes(config):
    assert snippet(config, with_settings(config, current_settings(config))) == {}
    point = {**current_settings(config), "gate.new_data_ratio": 4.0, "drift.thresholds.js": 0.2}
    point[BUDGET] = 0.5
    changed = snippet(config, with_settings(config, point))
    assert changed == {
        "gate": {"budget": {"gpu_hours": 0.5, "period_days": 30.0}, "new_data_ratio": 4.0},
        "drift": {"thresholds": {"js": 0.2}},
    }
    tuned = with_settings(config, point)
    assert tuned.training == config.training and tuned.gate.retrain_on == config.gate.retrain_on
    with pytest.raises(ValueError):
        with_settings(config, {**point, "gate.new_data_ratio": -1.0})


def test_the_grid_is_shuffled_by_seed_and_budgets_are_trainings_worth():
    size = 1
    for values in GRID.values():
        size *= len(values)
    assert len(shuffled_grid(1)) == size and shuffled_grid(1) == shuffled_grid(1)
    assert shuffled_grid(1) != shuffled_grid(2)
    point = shuffled_grid(1)[0]
    assert resolve_budget({**point, BUDGET: 4.0}, 0.01)[BUDGET] == pytest.approx(0.04)
    assert resolve_budget({**point, BUDGET: None}, 0.01)[BUDGET] is None
    assert resolve_budget({**point, BUDGET: 4.0}, 0.0)[BUDGET] is None


@pytest.fixture(scope="module")
def stream(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tune")
    (root / "config.yaml").write_text(SKLEARN)
    return agrawal_stream(root / "batches", 5, 200, 3), root / "config.yaml"


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["replay", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--tune", "--trials", "1"], "--trials: '1' is not an integer of 2 or more"),
        (["--tune", "--tune-split", "0.2"], "--tune-split: 0.2 of 5 batch(es) gives 1"),
        (["--tune", "--max-gpu-hours", "lots"], "--max-gpu-hours: 'lots' is not a number"),
        (["--trials", "3"], "--trials: needs --tune"),
        (["--tune", "--policy", "always"], "--policy: --tune replays the gate only"),
    ],
)
def test_bad_flags_give_one_line(stream, tmp_path, capsys, args, expected):
    batches, config_path = stream
    code, _, err = _cli(
        capsys, "--batches", str(batches), "--config", str(config_path), *args,
        "--output", str(tmp_path),
    )  # fmt: skip
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("driftgate: error: "), err
    assert expected in lines[0]


def test_help_explains_the_flags(capsys):
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    text = capsys.readouterr().out
    for flag in ("--tune ", "--trials N", "--tune-split F", "--max-gpu-hours H"):
        assert flag in text


@pytest.mark.slow
def test_tune_writes_a_loadable_snippet_and_reports_the_held_out_part(stream, tmp_path, capsys):
    batches, config_path = stream
    output = tmp_path / "out"
    code, out, _ = _cli(
        capsys, "--batches", str(batches), "--config", str(config_path), "--tune",
        "--trials", "2", "--tune-split", "0.6", "--output", str(output),
    )  # fmt: skip
    assert code == 0
    assert "trial 1/2 (current)" in out and "trial 2/2 (trial-1)" in out
    assert "[trial-1] 5/5 batch-04.csv" in out  # the trials replay every batch
    assert "Held out: batches 3-4" in out
    document = json.loads((output / "tune.json").read_text())
    assert document["fit_batches"] == 3 and document["batches"] == 5
    assert [t["name"] for t in document["trials"]] == ["current", "trial-1"]
    for trial in document["trials"]:
        assert trial["held_out"]["mean_accuracy"] is not None
        assert trial["fit"]["retrains"] >= 1  # the bootstrap
    chosen = next(t for t in document["trials"] if t["name"] == document["chosen"])
    changes = yaml.safe_load((output / "tuned-gate.yaml").read_text()) or {}
    assert changes == document["snippet"] and set(changes) <= {"gate", "drift"}
    user = yaml.safe_load(config_path.read_text())
    tuned = parse_config(yaml.safe_dump(merged(user, changes)), "merged")
    expected = with_settings(load_config(config_path), chosen["settings"])
    assert tuned.gate == expected.gate and tuned.drift == expected.drift
    assert load_config(output / "tuned-config.yaml") == tuned
    replayed = json.loads((output / "replay.json").read_text())
    assert list(replayed["policies"]) == ["current", "trial-1"]
