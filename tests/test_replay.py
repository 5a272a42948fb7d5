"""``driftgate replay``: policies over a stream of batches, label delay, outputs and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from driftgate.errors import ConfigError, DataError
from driftgate.pipelines.config import load_config
from driftgate.pipelines.policies import parse_policies
from driftgate.pipelines.replay_cli import replay

pytestmark = pytest.mark.slow
SKLEARN = "data: {label: class}\ntraining: {family: sklearn}\n"


def agrawal_stream(directory: Path, batches: int, rows: int, switch_at: int) -> Path:
    """Agrawal function 0, then function 2 from batch ``switch_at`` (river, fixed seeds)."""
    from river.datasets import synth

    directory.mkdir(parents=True)
    before = synth.Agrawal(classification_function=0, seed=1)
    after = synth.Agrawal(classification_function=2, seed=2)
    stream_before, stream_after = iter(before), iter(after)
    for b in range(batches):
        source = stream_before if b < switch_at else stream_after
        frame = pd.DataFrame(
            [{**x, "class": f"g{y}"} for x, y in (next(source) for _ in range(rows))]
        )
        frame.to_csv(directory / f"batch-{b:02d}.csv", index=False)
    return directory


@pytest.fixture(scope="module")
def stream(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("stream")
    (root / "config.yaml").write_text(SKLEARN)
    return agrawal_stream(root / "batches", 4, 300, 2), root / "config.yaml"


@pytest.fixture(scope="module")
def four_policies(stream, tmp_path_factory) -> dict:
    batches, config_path = stream
    output = tmp_path_factory.mktemp("replay")
    done = subprocess.run(
        [sys.executable, "-m", "driftgate.pipelines.cli", "replay", "--batches", str(batches),
         "--config", str(config_path), "--policy", "never", "--policy", "always",
         "--policy", "every:2", "--policy", "gate", "--output", str(output)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return {"stdout": done.stdout, "output": output}


def test_policies_replayed_side_by_side_give_the_same_results(four_policies, stream, tmp_path):
    batches, config_path = stream
    done = subprocess.run(
        [sys.executable, "-m", "driftgate.pipelines.cli", "replay", "--batches", str(batches),
         "--config", str(config_path), "--policy", "never", "--policy", "always",
         "--policy", "every:2", "--policy", "gate", "--output", str(tmp_path), "--jobs", "2"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "4 policies, 2 at a time" in done.stdout and "[gate] " in done.stdout
    keys = ("decision", "reason", "deployed_version", "metrics", "pushed", "train_mode")
    side_by_side, one_by_one = (
        json.loads((out / "replay.json").read_text())["policies"]
        for out in (tmp_path, four_policies["output"])
    )
    assert list(side_by_side) == list(one_by_one) == ["never", "always", "every:2", "gate"]
    for name, run in one_by_one.items():
        assert [[b[k] for k in keys] for b in side_by_side[name]["batches"]] == [
            [b[k] for k in keys] for b in run["batches"]
        ], name


def test_replay_json_has_the_documented_shape(four_policies, stream):
    accelerators = load_config(stream[1]).platform.gpu.count
    document = json.loads((four_policies["output"] / "replay.json").read_text())
    assert list(document["policies"]) == ["never", "always", "every:2", "gate"]
    for body in document["policies"].values():
        assert set(body["totals"]) == {
            "retrains", "pushes", "mean_accuracy", "min_accuracy", "train_seconds", "gpu_hours",
            "deferred",
        }  # fmt: skip
        assert len(body["batches"]) == 4
        for entry in body["batches"]:
            assert {"batch", "decision", "reason", "deployed_version", "metrics"} <= set(entry)
            assert {"train_seconds", "pushed"} <= set(entry)
            assert entry["decision"] in {"bootstrap", "retrain", "skip", "blocked"}
        first, *later = body["batches"]
        assert first["decision"] == "bootstrap" and first["metrics"] is None
        assert all(0 <= e["metrics"]["accuracy"] <= 1 for e in later)
        scores = [e["metrics"]["accuracy"] for e in later]
        assert body["totals"]["mean_accuracy"] == pytest.approx(sum(scores) / 3, abs=1e-6)
        assert body["totals"]["min_accuracy"] == pytest.approx(min(scores), abs=1e-6)
        seconds = sum(e["train_seconds"] for e in body["batches"])
        assert body["totals"]["gpu_hours"] == pytest.approx(seconds * accelerators / 3600, abs=1e-5)


def test_always_retrains_every_batch_and_never_only_bootstraps(four_policies):
    policies = json.loads((four_policies["output"] / "replay.json").read_text())["policies"]
    decisions = {n: [e["decision"] for e in b["batches"]] for n, b in policies.items()}
    assert decisions["always"] == ["bootstrap", "retrain", "retrain", "retrain"]
    assert decisions["never"] == ["bootstrap", "skip", "skip", "skip"]
    assert decisions["every:2"] == ["bootstrap", "skip", "retrain", "skip"]
    assert policies["always"]["totals"]["retrains"] == 4
    assert policies["never"]["totals"]["retrains"] == 1
    assert all(e["train_seconds"] == 0 for e in policies["never"]["batches"][1:])
    assert [e["train_mode"] for e in policies["always"]["batches"]] == ["scratch"] * 4
    assert policies["never"]["batches"][1]["train_mode"] is None


def test_outputs_are_written_and_progress_is_shown(four_policies):
    output = four_policies["output"]
    page = (output / "replay.html").read_text()
    assert "<svg" in page and "http://" not in page and "https://" not in page
    assert "| gate |" in (output / "replay.md").read_text()
    assert "[gate] 4/4 batch-03.csv" in four_policies["stdout"]


def test_replay_is_deterministic(stream, tmp_path):
    batches, config_path = stream
    config = load_config(config_path)
    files = sorted(str(p) for p in batches.iterdir())
    runs = [
        replay(config, files, parse_policies(["gate"], config, None), tmp_path / str(i), 0,
               lambda line: None)["policies"]["gate"]["batches"]
        for i in range(2)
    ]  # fmt: skip
    keys = ("decision", "reason", "deployed_version", "metrics", "pushed")
    assert [[b[k] for k in keys] for b in runs[0]] == [[b[k] for k in keys] for b in runs[1]]


def test_a_label_delay_hides_labels_until_they_arrive(stream, tmp_path):
    batches, config_path = stream
    config = load_config(config_path)
    files = sorted(str(p) for p in batches.iterdir())
    document = replay(
        config, files, parse_policies(["always"], config, None), tmp_path, 2, lambda line: None
    )
    entries = document["policies"]["always"]["batches"]
    # batches 0 and 1: no labels have arrived, so nothing can train yet
    assert [e["decision"] for e in entries[:2]] == ["skip", "skip"]
    assert "no labels" in entries[0]["reason"]
    # batch 2 sees batch 0's labels and bootstraps from them; batch 3 retrains on batch 1's
    assert entries[2]["decision"] == "bootstrap" and entries[2]["labels_from"] == "batch-00.csv"
    assert entries[3]["decision"] == "retrain" and entries[3]["labels_from"] == "batch-01.csv"
    # no model served batch 2; version 1 served batch 3, whose labels arrive after the stream
    assert entries[2]["served_version"] is None and entries[3]["served_version"] == 1
    assert entries[2]["metrics"] is None and entries[3]["metrics"] is None
    # batches 0 and 1 had no model serving them: nothing to score when their labels arrived
    assert entries[0]["metrics"] is None and entries[1]["served_version"] is None


def test_label_delay_scores_the_model_that_served_the_batch(stream, tmp_path):
    batches, config_path = stream
    config = load_config(config_path)
    files = sorted(str(p) for p in batches.iterdir())
    document = replay(
        config, files, parse_policies(["never"], config, None), tmp_path, 1, lambda line: None
    )
    entries = document["policies"]["never"]["batches"]
    assert entries[1]["decision"] == "bootstrap" and entries[1]["labels_from"] == "batch-00.csv"
    assert entries[2]["served_version"] == 1 and entries[2]["metrics"] is not None
    assert entries[3]["metrics"] is None  # its labels would arrive with a fifth batch


def test_a_batch_that_fails_validation_is_blocked_and_the_replay_goes_on(stream, tmp_path):
    batches, config_path = stream
    mixed = tmp_path / "batches"
    mixed.mkdir()
    for path in sorted(batches.iterdir())[:3]:
        (mixed / path.name).write_text(path.read_text())
    broken = pd.read_csv(batches / "batch-01.csv").drop(columns=["salary"])
    broken.to_csv(mixed / "batch-01.csv", index=False)
    config = load_config(config_path)
    document = replay(
        config,
        sorted(str(p) for p in mixed.iterdir()),
        parse_policies(["never"], config, None),
        tmp_path / "out",
        0,
        lambda line: None,
    )
    entries = document["policies"]["never"]["batches"]
    assert [e["decision"] for e in entries] == ["bootstrap", "blocked", "skip"]
    assert "salary" in entries[1]["reason"] and entries[1]["metrics"] is None
    assert entries[2]["metrics"] is not None


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "driftgate.pipelines.cli", "replay", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--batches", "/nonexistent/*.csv"], "--batches /nonexistent/*.csv: matches no CSV"),
        (["--policy", "sometimes"], "--policy: unknown policy 'sometimes'"),
        (["--policy", "every:0"], "--policy: unknown policy 'every:0'"),
        (["--config", "{config_dir}/other-label.yaml"], "data.label is 'species'"),
        (["--jobs", "0"], "--jobs: 0 is not 1 or more"),
    ],
)
def test_bad_input_gives_one_line(stream, tmp_path, args, expected):
    batches = stream[0]
    (tmp_path / "other-label.yaml").write_text("data: {label: species}\n")
    args = [a.replace("{config_dir}", str(tmp_path)) for a in args]
    if "--batches" not in args:
        args = ["--batches", str(batches), *args]
    done = _cli(*args, "--output", str(tmp_path / "out"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("driftgate: error: "), done.stderr
    assert expected in lines[0]


def test_policy_parsing_refuses_duplicates_and_reads_other_gates(tmp_path, config):
    (tmp_path / "strict.yaml").write_text(
        "data: {label: species}\ndrift: {thresholds: {js: 0.01}}\n"
    )
    policies = parse_policies(["gate", "gate:strict.yaml"], config, tmp_path)
    assert policies[1].gate_config.drift.thresholds.js == 0.01
    assert policies[1].slug == "gate-strict.yaml"
    with pytest.raises(ConfigError, match="given twice"):
        parse_policies(["always", "always"], config, None)
    with pytest.raises(ConfigError):
        parse_policies(["gate:missing.yaml"], config, tmp_path)


def test_batches_are_listed_in_name_order_without_partial_files(tmp_path):
    from driftgate.data.batches import list_batches

    for name in ("b.csv", "a.parquet", ".hidden.csv", "_SUCCESS", "c.csv.tmp", "d.csv.part"):
        (tmp_path / name).write_text("x\n1\n")
    assert [Path(p).name for p in list_batches(str(tmp_path))] == ["a.parquet", "b.csv"]
    assert [Path(p).name for p in list_batches(str(tmp_path / "*.csv"))] == ["b.csv"]
    with pytest.raises(DataError, match="matches no CSV or Parquet"):
        list_batches(str(tmp_path / "*.json"))


def test_a_custom_regressor_replays_with_rmse_as_its_primary_metric(tmp_path):
    from sklearn.datasets import load_diabetes

    examples = Path(__file__).parent.parent / "examples" / "diabetes-regression"
    frame = load_diabetes(as_frame=True, scaled=False).frame
    batches = tmp_path / "batches"
    batches.mkdir()
    for i, part in enumerate((frame.iloc[:220], frame.iloc[220:330], frame.iloc[330:])):
        part.to_csv(batches / f"diabetes-{i}.csv", index=False)
    config = load_config(examples / "config.yaml")
    files = sorted(str(p) for p in batches.iterdir())
    document = replay(
        config, files, parse_policies(["always"], config, None), tmp_path / "out", 0,
        lambda line: None,
    )  # fmt: skip
    assert document["primary_metric"] == "rmse"
    body = document["policies"]["always"]
    assert [e["decision"] for e in body["batches"]] == ["bootstrap", "retrain", "retrain"]
    assert all(e["metrics"]["rmse"] > 0 for e in body["batches"][1:])
    assert body["totals"]["max_rmse"] >= body["totals"]["mean_rmse"] >= body["totals"]["min_rmse"]
