"""The committed pipeline YAML is what `driftgate compile` writes, and it runs as it is."""

from pathlib import Path

import pytest
import yaml
from kfp import components, local

from driftgate.pipelines.local_run import read_task
from driftgate.pipelines.platform import ALWAYS_FRESH
from driftgate.pipelines.retrain import compile_pipeline

COMMITTED = Path(__file__).parent.parent / "pipelines" / "retrain.yaml"


def test_committed_yaml_is_identical_to_a_fresh_compile(config, tmp_path):
    fresh = compile_pipeline(config, tmp_path / "retrain.yaml")
    assert fresh.read_text() == COMMITTED.read_text(), (
        "run `make compile` and commit pipelines/retrain.yaml"
    )


def test_compiled_pipeline_shape():
    spec, _platform = yaml.safe_load_all(COMMITTED.read_text())
    root = spec["root"]["dag"]["tasks"]
    assert set(root) == {"exit-handler-1", "notify"}
    assert root["notify"]["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    tasks = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    for name in ALWAYS_FRESH:
        assert tasks[name]["cachingOptions"] == {}, f"{name} must not be cached"
    conditions = [t["triggerPolicy"]["condition"] for t in tasks.values() if "triggerPolicy" in t]
    assert conditions == ["inputs.parameter_values['pipelinechannel--decide-Output'] == true"]
    images = {}
    for name, executor in spec["deploymentSpec"]["executors"].items():
        container = executor["container"]
        images[name.removeprefix("exec-")] = container["image"]
        assert "pip install" not in " ".join(container["command"] + container["args"])
    assert images == {
        **dict.fromkeys(
            ("ingest", "validate", "check", "decide", "notify"), "driftgate:0.1.0-gate"
        ),
        **dict.fromkeys(("train", "evaluate", "push"), "driftgate:0.1.0"),
    }


def test_a_teams_training_image_runs_train_and_nothing_else(config, tmp_path):
    training = config.training.model_copy(update={"image": "registry.example/team/train:3"})
    path = compile_pipeline(config.model_copy(update={"training": training}), tmp_path / "p.yaml")
    spec, _platform = yaml.safe_load_all(path.read_text())
    images = {
        name.removeprefix("exec-"): executor["container"]["image"]
        for name, executor in spec["deploymentSpec"]["executors"].items()
    }
    assert images.pop("train") == "registry.example/team/train:3"
    assert images == {
        **dict.fromkeys(
            ("ingest", "validate", "check", "decide", "notify"), "driftgate:0.1.0-gate"
        ),
        **dict.fromkeys(("evaluate", "push"), "driftgate:0.1.0"),
    }


@pytest.mark.slow
def test_the_committed_yaml_runs_under_the_local_runner(tmp_path, penguins_frame):
    pipeline = components.load_component_from_file(str(COMMITTED))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "out"))
    batch = tmp_path / "first.csv"
    penguins_frame[penguins_frame.year <= 2008].to_csv(batch, index=False)
    pipeline(batch_uri=str(batch), registry_uri=str(tmp_path / "registry"), force=False)
    (run_dir,) = (tmp_path / "out").iterdir()
    assert read_task(run_dir, "push").outputs == {"version": 1, "promoted": True}
    assert (tmp_path / "registry" / "penguins" / "1" / "saved_model.pb").exists()


def test_image_is_the_default_of_both_the_gate_and_the_train_images(config):
    plain = config.model_copy(update={"image": "registry.example/driftgate:1"})
    plain = plain.model_copy(update={"images": type(config.images)()})
    assert set(plain.step_images().values()) == {"registry.example/driftgate:1"}
    assert set(plain.step_images()) == {
        "ingest", "validate", "check", "decide", "train", "evaluate", "push", "notify"
    }  # fmt: skip
