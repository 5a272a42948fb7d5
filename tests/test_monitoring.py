"""After a run: KFP UI artifacts, the performance trigger, alerts, the exit handler."""

import json

import pytest

from driftgate.pipelines.local_run import run_local

pytestmark = pytest.mark.slow


def executor_output(summary, task):
    return json.loads((summary.tasks[task].directory / "executor_output.json").read_text())


def test_a_labelled_run_leaves_curves_records_and_per_slice_tfma_results(demo):
    drifted = demo[1][4]
    artifacts = executor_output(drifted, "evaluate")["artifacts"]
    for name in ("candidate_curves", "baseline_curves"):
        metadata = artifacts[name]["artifacts"][0]["metadata"]
        matrix = metadata["confusionMatrix"]
        assert [spec["displayName"] for spec in matrix["annotationSpecs"]] == [
            "Adelie",
            "Chinstrap",
            "Gentoo",
        ]
        assert len(matrix["rows"]) == 3 and sum(sum(r["row"]) for r in matrix["rows"]) > 0
        curve = metadata["confidenceMetrics"]
        assert curve[0]["falsePositiveRate"] == 0.0 and curve[-1]["recall"] == 1.0
    record = drifted.tasks["decide"].artifact("record").read_text()
    assert (
        record.startswith("# Decision: RETRAIN")
        and "| flipper_length_mm |" in record
        and "deployed version: 1" in record
    )
    results = drifted.json_artifact("evaluate", "results")
    assert {"overall", "island=Biscoe", "island=Dream", "sex=female", "sex=male"} <= set(
        results["metrics"]
    )
    dream = results["metrics"]["island=Dream"]
    assert dream["candidate"]["accuracy"] > dream["baseline"]["accuracy"]
    assert "calibration" in results["metrics"]["overall"]["candidate"]
    assert drifted.tasks["check"].artifact("drift_report").read_text().startswith("<!DOCTYPE html>")
    quiet = demo[1][1]
    assert (
        quiet.tasks["decide"]
        .artifact("record")
        .read_text()
        .startswith("# Decision: skip retraining")
    )
    assert quiet.ran()[-1] == "notify"


def test_a_performance_drop_retrains_and_alerts(
    deployed_registry, tmp_path, config, penguins_frame
):
    season = penguins_frame[penguins_frame.year == 2009]
    swapped = season.assign(
        species=season["species"].replace({"Adelie": "Chinstrap", "Chinstrap": "Adelie"})
    )
    batch = tmp_path / "relabelled.csv"
    swapped.to_csv(batch, index=False)  # a concept shift: same measurements, different truth
    summary = run_local(config, str(batch), str(deployed_registry), output_root=tmp_path / "runs")
    assert summary.succeeded, summary.error
    details = summary.json_artifact("check", "details")
    assert details["degraded"] == ["accuracy"] and details["performance"]["accuracy"] < 0.8
    assert "the deployed model fell under its bound (accuracy" in summary.output("decide", "reason")
    assert summary.ran()[:5] == ["ingest", "validate", "check", "decide", "train"]
    kinds = [a["kind"] for a in summary.alerts]
    assert "degradation" in kinds and "failure" not in kinds
    alert = next(a for a in summary.alerts if a["kind"] == "degradation")
    assert alert["title"] == "penguins: deployed version 2 degraded since batch relabelled.csv"
    assert summary.alert_file.exists()


def test_with_no_alert_sink_configured_nothing_fails(
    deployed_registry, tmp_path, config, penguins_frame
):
    quiet_config = config.model_copy(
        update={"alerts": config.alerts.model_copy(update={"file": ""})}
    )
    season = penguins_frame[penguins_frame.year == 2009]
    batch = tmp_path / "heavy.csv"
    season.assign(flipper_length_mm=season["flipper_length_mm"] * 1.3).to_csv(batch, index=False)
    summary = run_local(
        quiet_config, str(batch), str(deployed_registry), output_root=tmp_path / "runs"
    )
    assert summary.succeeded, summary.error
    assert summary.json_artifact("check", "details")["drift_detected"]
    assert summary.alerts == []
    record = summary.tasks["decide"].artifact("record").read_text()
    assert "- drift alert not sent: no sink configured" in record


def test_a_run_that_fails_mid_way_still_sends_the_failure_alert(
    demo, deployed_registry, tmp_path, config
):
    entrypoint = tmp_path / "oom.py"
    entrypoint.write_text("def train(ctx):\n    raise MemoryError('the node ran out of memory')\n")
    custom = config.training.custom.model_copy(update={"entrypoint": f"{entrypoint}:train"})
    training = config.training.model_copy(update={"family": "custom", "custom": custom})
    once = config.platform.steps["train"].model_copy(update={"retries": 0})  # no retry backoff
    steps = {**config.platform.steps, "train": once}
    platform = config.platform.model_copy(update={"steps": steps})
    broken = config.model_copy(update={"training": training, "platform": platform})
    batch = demo[0] / "batches" / "penguins-2009.csv"
    summary = run_local(
        broken, str(batch), str(deployed_registry), output_root=tmp_path / "runs", force=True
    )
    assert not summary.succeeded and summary.failed_task == "train"
    assert "raised MemoryError: the node ran out of memory" in summary.error
    assert summary.tasks["notify"].status == "succeeded"
    failure = [a for a in summary.alerts if a["kind"] == "failure"]
    assert len(failure) == 1 and failure[0]["title"] == "penguins: retraining run failed"
    assert "# Run FAILED" in summary.tasks["notify"].artifact("record").read_text()
