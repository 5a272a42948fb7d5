"""Each component, alone, through KFP's local subprocess runner (the real executor).

kfp.local does not pass input artifacts to a component called on its own, so every component
with artifact inputs runs in a one-task pipeline that brings them in with ``dsl.importer``.
"""

import json
from pathlib import Path

import pytest
from kfp import dsl, local
from kfp.dsl import HTML, Artifact, Dataset, Markdown, Model

from driftgate.pipelines.local_run import read_task
from driftgate.pipelines.retrain import make_components

pytestmark = pytest.mark.slow


def run_alone(root: Path, component, artifacts: dict, **params):
    """Runs ``component`` as the only task of a pipeline; returns its task record."""
    name = component.name.replace("_", "-")

    @dsl.pipeline(name=f"only-{name}")
    def only():
        imported = {
            key: dsl.importer(artifact_uri=str(path), artifact_class=kind, reimport=True).output
            for key, (path, kind) in artifacts.items()
        }
        component(**imported, **params).set_caching_options(False)

    before = set(root.glob(f"only-{name}-*"))
    only()
    (run_dir,) = set(root.glob(f"only-{name}-*")) - before
    record = read_task(run_dir, name)
    assert record.status == "succeeded", run_dir / name
    return record


def test_each_component_runs_under_the_local_runner(tmp_path, config, penguins_frame):
    root = tmp_path / "out"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    ops = make_components(config.image)
    csv = tmp_path / "first.csv"
    penguins_frame[penguins_frame.year <= 2008].to_csv(csv, index=False)
    common = {"registry_uri": str(tmp_path / "registry"), "model_name": config.model_name}
    data = config.data.model_dump_json()
    sink = config.alerts.model_copy(update={"file": str(tmp_path / "alerts.jsonl")})
    alerting = {"alerts": sink.model_dump_json(), "run_id": "local-test"}
    tracking = config.tracking.model_dump_json()

    ingested = ops.ingest(source_uri=str(csv), data=data, **common)  # no input artifacts
    assert ingested.outputs["rows"] == 224 and len(ingested.outputs["sha256"]) == 64

    validate = run_alone(
        root,
        ops.validate,
        {"batch": (ingested.outputs["batch"].path, Dataset)},
        source_uri=str(csv),
        data=data,
        validation=config.validation.model_dump_json(),
        named_columns=json.dumps([["evaluation.slices", "island"]]),
        **alerting,
        **common,
    )
    assert validate.outputs["has_labels"] and validate.outputs["schema_inferred"]
    validated, schema = validate.artifact("validated"), validate.artifact("schema")

    check = run_alone(
        root,
        ops.check,
        {"validated": (validated, Dataset)},
        label="species",
        has_labels=True,
        drift=config.drift.model_dump_json(),
        performance=config.performance.model_dump_json(),
        gate=config.gate.model_dump_json(),
        **common,
    )
    assert check.outputs["has_model"] is False and check.outputs["deployed_version"] == 0

    decide = run_alone(
        root,
        ops.decide,
        {"check_details": (check.artifact("details"), Artifact), "validated": (validated, Dataset)},
        has_labels=True,
        rows=validate.outputs["rows"],
        new_classes=validate.outputs["new_classes"],
        force=False,
        batch_sha256=ingested.outputs["sha256"],
        batch_source=str(csv),
        gate=config.gate.model_dump_json(),
        min_rows=config.drift.min_rows,
        **alerting,
        **common,
    )
    assert decide.outputs["Output"] is True
    assert decide.artifact("reason").read_text() == "no model is deployed yet"

    train = run_alone(
        root,
        ops.train,
        {
            "validated": (validated, Dataset),
            "schema": (schema, Artifact),
            "check_details": (check.artifact("details"), Artifact),
            "decision_record": (decide.artifact("record"), Markdown),
            "drift_report": (check.artifact("drift_report"), HTML),
        },
        source_uri=str(csv),
        deployed_version=0,
        batch_sha256=ingested.outputs["sha256"],
        opened_by=decide.artifact("opened_by").read_text(),
        training=config.training.model_dump_json(),
        drift=config.drift.model_dump_json(),
        run_id="local-test",
        tracking=tracking,
        **common,
    )
    assert train.outputs["train_rows"] + train.outputs["eval_rows"] == 224

    evaluate = run_alone(
        root,
        ops.evaluate,
        {
            "model": (train.artifact("model"), Model),
            "eval_data": (train.artifact("eval_data"), Dataset),
            "training_data": (train.artifact("training_data"), Dataset),
        },
        deployed_version=0,
        evaluation=config.evaluation.model_dump_json(),
        optimisation=config.optimisation.model_dump_json(),
        tracking=tracking,
        **alerting,
        **common,
    )
    assert evaluate.outputs["Output"] is True
    assert json.loads(evaluate.artifact("results").read_text())["baseline_version"] is None

    inputs = {
        "model": (train.artifact("model"), Model),
        "schema": (train.artifact("window_schema"), Artifact),
        "reference_stats": (train.artifact("reference_stats"), Artifact),
        "reference_sample": (train.artifact("reference_sample"), Dataset),
        "training_data": (train.artifact("training_data"), Dataset),
        "evaluation": (evaluate.artifact("results"), Artifact),
        "optimised_model": (evaluate.artifact("optimised_model"), Model),
    }
    push = run_alone(
        root,
        ops.push,
        inputs,
        deployed_version=0,
        deployed_generation=check.outputs["deployed_generation"],
        keep_versions=0,
        batch_sha256=ingested.outputs["sha256"],
        batch_source=str(csv),
        tracking=tracking,
        **alerting,
        **common,
    )
    assert push.outputs == {"version": 1, "promoted": True}
