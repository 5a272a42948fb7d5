"""Pruning and quantisation in the pipeline: judged in evaluate, pushed as model.tflite only when
accepted."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from driftgate.components.evaluate import core
from driftgate.components.evaluate.optimised import not_held_out
from driftgate.components.push.core import push
from driftgate.errors import ConfigError, IntegrityError
from driftgate.models.optimise import SIGNATURE, TFLITE_FILE
from driftgate.observe.alerts import AlertSettings
from driftgate.observe.tracking import TrackingSettings
from driftgate.pipelines.config import load_config, parse_config
from driftgate.pipelines.local_run import run_local
from driftgate.registry.integrity import KEY_ENV, verify
from driftgate.registry.store import (
    EVALUATION_FILE,
    REFERENCE_SAMPLE,
    REFERENCE_STATS,
    SCHEMA_FILE,
    TRAINING_DATA,
    Registry,
)
from driftgate.settings.optimisation import OptimisationSettings, PruningSettings

PENGUINS = {"model_name": "penguins", "data": {"label": "species", "exclude": ["year"]}}


def _parse(**extra):
    return parse_config(yaml.safe_dump({**PENGUINS, **extra}), "test.yaml")


def test_quantising_a_scikit_learn_family_fails_at_load_naming_the_field():
    with pytest.raises(ConfigError, match=r"optimisation\.quantise") as raised:
        _parse(training={"family": "sklearn"}, optimisation={"quantise": "int8"})
    assert "\n" not in raised.value.one_line()
    _parse(training={"family": "sklearn"})  # without quantise the family is fine


def test_pruning_a_scikit_learn_family_fails_at_load_naming_the_field():
    with pytest.raises(ConfigError, match=r"optimisation\.prune") as raised:
        _parse(training={"family": "sklearn"}, optimisation={"prune": {"sparsity": 0.5}})
    assert "\n" not in raised.value.one_line()
    parsed = _parse(optimisation={"prune": {"sparsity": 0.8}})
    assert parsed.optimisation.prune == PruningSettings(sparsity=0.8)
    assert parsed.optimisation.method() == "pruned 80%"


@pytest.mark.parametrize("sparsity", [0, 1, 1.5])
def test_a_sparsity_outside_0_to_1_fails_at_load_naming_the_field(sparsity):
    with pytest.raises(ConfigError, match=r"optimisation\.prune\.sparsity"):
        _parse(optimisation={"prune": {"sparsity": sparsity}})


def test_optimisation_is_off_by_default():
    assert load_config(None).optimisation == OptimisationSettings()
    assert OptimisationSettings().quantise is None and OptimisationSettings().prune is None
    assert not OptimisationSettings().enabled


@pytest.fixture(scope="module")
def optimised_run(tmp_path_factory, penguins_frame):
    """A bootstrap run of the penguins pipeline, pruned to 50% and int8-quantised."""
    root = tmp_path_factory.mktemp("optimised")
    batch = root / "first.csv"
    penguins_frame[penguins_frame.year <= 2008].to_csv(batch, index=False)
    config = load_config(None)
    config = config.model_copy(
        update={
            "optimisation": OptimisationSettings(
                quantise="int8", prune=PruningSettings(sparsity=0.5), max_accuracy_drop=0.05
            )
        }
    )
    summary = run_local(config, str(batch), str(root / "registry"), output_root=root / "runs")
    assert summary.succeeded, summary.error
    return summary, Registry(root / "registry", config.model_name)


@pytest.mark.slow
def test_the_record_shows_size_accuracy_delta_and_latency_of_both_models(optimised_run):
    summary, _ = optimised_run
    report = summary.json_artifact("evaluate", "results")["optimisation"]
    full, optimised = report["full"], report["optimised"]
    assert report["method"] == "pruned 50% + int8" and report["accepted"] is True
    assert report["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert optimised["size_bytes"] < full["size_bytes"] / 2
    assert optimised["gzip_bytes"] < full["gzip_bytes"] / 2
    assert report["accuracy_delta"] == pytest.approx(optimised["accuracy"] - full["accuracy"])
    assert abs(report["accuracy_delta"]) <= 0.05 and full["accuracy"] > 0.9
    assert optimised["ms_per_1000_rows"] > 0 and full["ms_per_1000_rows"] > 0
    record = summary.tasks["evaluate"].artifact("record").read_text()
    assert "## Optimisation (pruned 50% + int8)" in record
    assert f"{optimised['size_bytes']:,}" in record and f"{optimised['gzip_bytes']:,}" in record
    assert f"{report['accuracy_delta']:+.4f}" in record and "pushed with the version" in record
    assert f"{report['sparsity']:.1%} of the Dense weights are zero" in record


@pytest.mark.slow
def test_pruning_fine_tunes_on_the_window_less_the_held_out_rows(optimised_run):
    summary, _ = optimised_run
    window = pq.read_table(summary.tasks["train"].artifact("training_data")).to_pandas()
    held_out = pq.read_table(summary.tasks["train"].artifact("eval_data")).to_pandas()
    rows = not_held_out(window, held_out)
    assert len(rows) == len(window) - len(held_out) and len(held_out) > 0
    columns = list(held_out.columns)
    assert rows[columns].merge(held_out, on=columns).empty


@pytest.mark.slow
def test_the_accepted_model_is_in_the_pushed_version_and_verifies(optimised_run):
    import tensorflow as tf

    summary, registry = optimised_run
    assert summary.output("push", "version") == 1
    version = registry.verified(1)  # checksums (and the signature, when signing is on)
    flatbuffer = (version.path / TFLITE_FILE).read_bytes()
    stored = json.loads((version.path / EVALUATION_FILE).read_text())["optimisation"]
    assert TFLITE_FILE in version.metadata["files"] and stored["accepted"]
    assert version.metadata["files"][TFLITE_FILE] == stored["sha256"]
    rows = pq.read_table(summary.tasks["train"].artifact("eval_data")).to_pandas()
    runner = tf.lite.Interpreter(model_content=flatbuffer).get_signature_runner(SIGNATURE)
    first = rows.iloc[:1]
    feeds = {
        name: np.array([[str(first[name].iloc[0]).encode()]], dtype=object)
        if detail["dtype"] is np.bytes_
        else first[[name]].to_numpy(dtype=detail["dtype"])
        for name, detail in runner.get_input_details().items()
    }
    (probabilities,) = runner(**feeds).values()
    assert probabilities.shape == (1, len(version.metadata["classes"]))
    (version.path / TFLITE_FILE).write_bytes(flatbuffer[:-1] + b"\0")
    with pytest.raises(IntegrityError, match=TFLITE_FILE):
        registry.verified(1)
    (version.path / TFLITE_FILE).write_bytes(flatbuffer)


@pytest.mark.slow
def test_a_failed_optimisation_is_recorded_and_the_blessing_stands(optimised_run, tmp_path):
    summary, _ = optimised_run
    window = pq.read_table(summary.tasks["train"].artifact("training_data"))
    broken = tmp_path / "window.parquet"
    pq.write_table(window.drop(["island"]), broken)  # int8 calibration needs every feature
    outcome = core.run(
        summary.tasks["train"].artifact("model"),
        {},
        summary.tasks["train"].artifact("eval_data"),
        broken,
        Registry(tmp_path / "registry", "penguins"),
        None,
        load_config(None).evaluation,
        OptimisationSettings(quantise="int8"),
        AlertSettings(file=str(tmp_path / "alerts.jsonl")),
        TrackingSettings(),
        "test-run",
        tmp_path / "tfma",
    )
    assert outcome.result.blessed and outcome.optimised.flatbuffer is None
    error = outcome.results()["optimisation"]["error"]
    assert error.startswith("failed: KeyError") and "island" in error
    assert "Not optimised: failed: KeyError" in outcome.record
    assert outcome.metrics["accuracy"] > 0.9 and "optimised_accuracy" not in outcome.metrics


@pytest.mark.slow
@pytest.mark.parametrize("tamper", ["rejected", "other bytes"])
def test_push_refuses_an_optimised_model_the_evaluation_did_not_accept(
    optimised_run, tmp_path, tamper
):
    summary, registry = optimised_run
    version = registry.verified(1)
    evaluation = json.loads((version.path / EVALUATION_FILE).read_text())
    flatbuffer = tmp_path / TFLITE_FILE
    flatbuffer.write_bytes((version.path / TFLITE_FILE).read_bytes())
    if tamper == "rejected":
        evaluation["optimisation"]["accepted"] = False
    else:
        flatbuffer.write_bytes(flatbuffer.read_bytes() + b"\0")
    target = Registry(tmp_path / "registry", "penguins")
    sidecars = {
        name: version.path / name
        for name in (SCHEMA_FILE, REFERENCE_STATS, REFERENCE_SAMPLE, TRAINING_DATA)
    }
    candidate = verify(summary.tasks["train"].artifact("model"))
    with pytest.raises(IntegrityError, match="accepted"):
        push(candidate, sidecars, evaluation, target, None, {}, optimised=flatbuffer)
    assert target.versions() == []


@pytest.mark.slow
def test_a_signed_version_covers_the_optimised_model(optimised_run, tmp_path, monkeypatch):
    summary, registry = optimised_run
    version = registry.verified(1)
    candidate = verify(summary.tasks["train"].artifact("model"))
    key = tmp_path / "key"
    key.write_text("signing-key\n")
    monkeypatch.setenv(KEY_ENV, str(key))
    target = Registry(tmp_path / "registry", "penguins")
    sidecars = {
        name: version.path / name
        for name in (SCHEMA_FILE, REFERENCE_STATS, REFERENCE_SAMPLE, TRAINING_DATA)
    }
    evaluation = json.loads((version.path / EVALUATION_FILE).read_text())
    pushed = push(
        candidate, sidecars, evaluation, target, None, {}, optimised=version.path / TFLITE_FILE
    )
    signed = target.verified(pushed.version)
    assert "signature" in signed.metadata and TFLITE_FILE in signed.metadata["files"]
    (signed.path / TFLITE_FILE).write_bytes(b"tampered")
    with pytest.raises(IntegrityError):
        target.verified(pushed.version)


@pytest.mark.slow
def test_without_optimisation_nothing_is_optimised_or_stored(demo):
    version = Registry(demo[0] / "registry", "penguins").verified(2)
    assert TFLITE_FILE not in version.metadata["files"]
    assert json.loads((version.path / EVALUATION_FILE).read_text())["optimisation"] is None
