"""The demo's three paths end to end through KFP's local runner, and what the registry holds."""

import json
import subprocess
import sys

import pytest

from driftgate.registry.store import Registry

pytestmark = pytest.mark.slow
ALL = ["ingest", "validate", "check", "decide", "train", "evaluate", "push", "notify"]


def test_bootstrap_trains_and_pushes_version_1(demo):
    bootstrap = demo[1][0]
    assert bootstrap.succeeded and bootstrap.ran() == ALL
    assert bootstrap.output("decide", "reason") == "no model is deployed yet"
    assert bootstrap.output("push", "version") == 1


def test_a_batch_without_drift_runs_no_training_task(demo):
    quiet = demo[1][1]
    assert quiet.succeeded
    assert quiet.ran() == ["ingest", "validate", "check", "decide", "notify"]
    assert quiet.skipped() == ["train", "evaluate", "push"]
    assert quiet.output("decide", "Output") is False
    details = quiet.json_artifact("check", "details")
    assert (
        details["deployed_version"] == 1
        and not details["drift_detected"]
        and not details["degraded"]
    )
    assert details["performance"]["accuracy"] > 0.9


def test_drift_that_does_not_hurt_is_reported_not_retrained(demo):
    drifted = demo[1][2]
    assert drifted.succeeded and drifted.skipped() == ["train", "evaluate", "push"]
    details = drifted.json_artifact("check", "details")
    assert details["drifted_features"] == ["body_mass_g"] and not details["degraded"]
    assert drifted.output("decide", "reason") == (
        "drift in body_mass_g without a performance drop: reported, not retrained"
    )
    record = drifted.tasks["decide"].artifact("record").read_text()
    assert "| performance | yes | no |" in record and "| drift | no | **yes** |" in record


def test_a_second_run_of_the_same_batch_is_skipped_as_already_processed(demo):
    first, again = demo[1][2], demo[1][3]
    assert again.succeeded and again.output("decide", "Output") is False
    assert again.output("ingest", "sha256") == first.output("ingest", "sha256")
    reason = again.output("decide", "reason")
    assert reason.startswith("already processed at ") and first.run_dir.name in reason


def test_a_real_drop_in_quality_retrains_and_is_evaluated_against_version_1(demo):
    dropped = demo[1][4]
    assert dropped.succeeded and dropped.ran() == ALL
    details = dropped.json_artifact("check", "details")
    assert details["degraded"] == ["accuracy"] and details["performance"]["accuracy"] < 0.6
    assert dropped.output("decide", "reason").startswith("the deployed model fell under its bound")
    assert dropped.output("decide", "opened_by") == "degraded"
    evaluation = dropped.json_artifact("evaluate", "results")
    assert evaluation["baseline_version"] == 1
    assert dropped.output("evaluate", "Output") is evaluation["blessed"] is True
    assert dropped.output("push", "version") == 2
    window = json.loads((dropped.tasks["train"].directory / "executor_output.json").read_text())[
        "artifacts"
    ]["model"]["artifacts"][0]["metadata"]["window"]
    assert window["strategy"] == "since_change"  # the rows since the change: this batch alone
    assert window["rows"] == dropped.output("validate", "rows")


def test_the_registry_holds_two_verified_versions_with_provenance(demo):
    workdir, runs = demo
    registry = Registry(workdir / "registry", "penguins")
    assert registry.versions() == [1, 2] and registry.production() == 2
    second = registry.verified(2).metadata
    assert second["parent_version"] == 1 and second["format"] == "saved_model"
    assert second["data"]["batch_sha256"] == runs[4].output("ingest", "sha256")
    assert len(second["data"]["training_data_sha256"]) == 64
    assert second["metrics"]["accuracy"] >= 0.8 and "accuracy" in second["baseline_metrics"]
    assert {
        "schema.pbtxt",
        "reference_stats.pb",
        "reference_sample.parquet",
        "training_data.parquet",
        "evaluation.json",
        "saved_model.pb",
        "scoring.npz",
    } <= set(second["files"])
    assert "versions: 2" in (workdir / "registry" / "models.config").read_text()
    assert (
        json.loads((workdir / "registry" / "penguins" / "production.json").read_text())["previous"]
        == 1
    )


def test_the_pushed_version_loads_the_way_tf_serving_loads_it(demo):
    import tensorflow as tf

    signature = tf.saved_model.load(str(demo[0] / "registry" / "penguins" / "2")).signatures[
        "serving_default"
    ]
    assert sorted(signature.structured_input_signature[1]) == [
        "bill_depth_mm",
        "bill_length_mm",
        "body_mass_g",
        "flipper_length_mm",
        "island",
        "sex",
    ]
    outputs = signature(
        island=tf.constant([["Dream"]]),
        sex=tf.constant([["male"]]),
        bill_length_mm=tf.constant([[50.0]]),
        bill_depth_mm=tf.constant([[19.5]]),
        flipper_length_mm=tf.constant([[19.7]]),  # version 2 learned centimetres
        body_mass_g=tf.constant([[3900.0]]),
    )
    assert next(iter(outputs.values())).numpy().argmax() == 1  # Chinstrap


CLOSED_GATE = """
import sys, tempfile
from pathlib import Path
from driftgate.components.ingest.core import ingest
from driftgate.components.validate.core import validate
from driftgate.settings.validation import ValidationSettings
from driftgate.components.check.core import check
from driftgate.settings.performance import PerformanceSettings
from driftgate.components.decide.core import decide
from driftgate.components.decide.gate import Findings
from driftgate.settings.gate import GateSettings
from driftgate.data.dataspec import DataSettings
from driftgate.registry.store import Registry, SCHEMA_FILE
from driftgate.data.schema import load_schema
from driftgate.stats import DriftSettings
registry = Registry(sys.argv[2], "penguins")
tmp = Path(tempfile.mkdtemp())
data = DataSettings(label="species", exclude=["year"])
ingest(sys.argv[1], tmp / "b.parquet", data)
schema = load_schema(registry.verified(registry.production()).path / SCHEMA_FILE)
validated = validate(tmp / "b.parquet", tmp / "v.parquet", data, ValidationSettings(), schema)
found = check(tmp / "v.parquet", registry, DriftSettings(), PerformanceSettings(), "species", True)
assert found.performance is not None  # the deployed Keras model was scored
decide(Findings.from_check(found.summary(), has_labels=True, rows=validated.rows,
                           new_classes=[]), GateSettings())
print("tensorflow" in sys.modules, "tensorflow_model_analysis" in sys.modules)
"""


def test_the_closed_gate_scores_the_deployed_model_without_importing_tensorflow(demo):
    workdir = demo[0]
    batch = workdir / "batches" / "penguins-2009.csv"
    result = subprocess.run(
        [sys.executable, "-c", CLOSED_GATE, str(batch), str(workdir / "registry")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["False", "False"]
