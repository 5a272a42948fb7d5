"""Bring your own model: custom entry points, regression, and MLServer serving a pushed version."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from sklearn.datasets import load_diabetes

from driftgate.components.train import custom
from driftgate.errors import ConfigError, EntryPointError
from driftgate.models.scoring import load_scorer
from driftgate.models.serving import MODEL_SETTINGS
from driftgate.pipelines.config import load_config, parse_config
from driftgate.pipelines.local_run import run_local
from driftgate.registry.store import Registry
from driftgate.settings.training import CustomSettings

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parent.parent / "examples"
ALL = ["ingest", "validate", "check", "decide", "train", "evaluate", "push", "notify"]


def _config(training: dict, **extra):
    raw = {"model_name": "custom", "data": {"label": "species", "exclude": ["year"]}}
    raw.update(training=training, **extra)
    return parse_config(yaml.safe_dump(raw), "test.yaml", DATA)


def _run(config, batch: Path, root: Path):
    return run_local(config, str(batch), str(root / "registry"), output_root=root / "runs")


# --- config load ----------------------------------------------------------------------------


def test_a_relative_entrypoint_file_resolves_against_the_config_folder():
    config = _config({"family": "custom", "custom": {"entrypoint": "hgb_pipeline.py:train"}})
    assert config.training.custom.entrypoint == f"{DATA / 'hgb_pipeline.py'}:train"


def test_a_family_no_enabled_server_serves_is_refused_at_config_load():
    with pytest.raises(
        ConfigError, match=r"test.yaml: field 'training.family': sklearn .*mlserver"
    ):
        _config({"family": "sklearn"}, serving={"servers": ["tf-serving"]})
    with pytest.raises(ConfigError, match=r"or set training\.custom\.format"):
        _config({"family": "custom"}, serving={"servers": ["mlserver"]})
    custom_sklearn = {"family": "custom", "custom": {"format": "sklearn"}}
    assert _config(custom_sklearn, serving={"servers": ["mlserver"]}).serving.servers == [
        "mlserver"
    ]


def test_thresholds_of_the_other_task_are_refused_when_the_task_is_explicit():
    raw = {
        "data": {"label": "y", "task": "regression"},
        "training": {"family": "sklearn"},
        "evaluation": {"value_thresholds": {"accuracy": 0.9}},
    }
    with pytest.raises(ConfigError, match=r"'evaluation.value_thresholds' names \['accuracy'\]"):
        parse_config(yaml.safe_dump(raw), "reg.yaml")
    with pytest.raises(ConfigError, match="keras builds a classifier"):
        parse_config(yaml.safe_dump({"data": {"label": "y", "task": "regression"}}), "reg.yaml")


# --- the entry point's errors, one line each, naming it ------------------------------------


@pytest.fixture(scope="module")
def context_fields(penguins_frame):
    import pyarrow as pa

    from driftgate.data.schema import kinds_from_arrow

    frame = penguins_frame.dropna().drop(columns=["year"])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    kinds = kinds_from_arrow(table.schema, label="species")
    classes = sorted(set(frame["species"]))
    return custom.context(
        (table.slice(0, 200), table.slice(200)), kinds, "classification", classes, 0, None
    )


@pytest.mark.parametrize(
    ("entrypoint", "message"),
    [
        ("no_such_module_xyz:train", "cannot be imported: ModuleNotFoundError"),
        ("hgb_pipeline.py:absent", "the module has no function 'absent'"),
        ("hgb_pipeline.py:returns_a_string", "returned str; return a fitted scikit-learn-API"),
        ("hgb_pipeline.py:wrong_classes", "returned a model with classes ['ADELIE'"),
        (
            "hgb_pipeline.py:wrong_shape",
            "predicts shape (133, 2) on the eval rows; expected (133, 3)",
        ),
        ("hgb_pipeline.py:predict_fails", "on the eval rows raised ZeroDivisionError"),
    ],
)
def test_entry_point_errors_are_one_line_naming_it(context_fields, tmp_path, entrypoint, message):
    settings = CustomSettings.model_validate({"entrypoint": entrypoint}, context={"base_dir": DATA})
    with pytest.raises(EntryPointError) as error:
        custom.train_custom(settings, context_fields, tmp_path, tmp_path.parent / "tb")
    text = str(error.value)
    assert message in text and entrypoint.split(":")[1] in text and "\n" not in text
    assert not list(tmp_path.iterdir())  # nothing written, so nothing can be pushed


# --- full local runs -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def penguins_batch(penguins_frame, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "penguins-2007-2008.csv"
    penguins_frame[penguins_frame["year"] <= 2008].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def hgb_run(penguins_batch, tmp_path_factory):
    """An unseen entry point (HistGradientBoosting in a Pipeline) through ``run --local``."""
    root = tmp_path_factory.mktemp("hgb")
    config = _config(
        {
            "family": "custom",
            "custom": {"entrypoint": "hgb_pipeline.py:train", "params": {"max_iter": 50}},
        }
    )
    return root, _run(config, penguins_batch, root)


@pytest.mark.slow
def test_an_unseen_pipeline_entry_point_trains_evaluates_and_pushes(hgb_run):
    root, summary = hgb_run
    assert summary.succeeded, summary.error
    assert summary.ran() == ALL and summary.output("push", "version") == 1
    version = Registry(root / "registry", "custom").verified(1)
    assert version.metadata["format"] == "sklearn" and version.metadata["family"] == "custom"
    assert version.metadata["task"] == "classification"
    settings = json.loads((version.path / MODEL_SETTINGS).read_text())
    assert settings["implementation"] == "mlserver_sklearn.SKLearnModel"
    assert MODEL_SETTINGS in version.metadata["files"]  # checksummed with the version


@pytest.mark.slow
def test_mlserver_serves_the_pushed_version_over_v2_like_the_model(hgb_run, tmp_path):
    from mlserver_fixture import infer, serve

    root, summary = hgb_run
    assert summary.succeeded, summary.error
    version = Registry(root / "registry", "custom").verified(1)
    scorer = load_scorer(version)
    table = pq.read_table(version.path / "training_data.parquet")
    rows = table.drop_null().slice(0, 40)
    inputs = scorer.inputs(rows)
    expected = scorer.predict_proba(rows)
    with serve(version.path, tmp_path / "mlserver.log") as base:
        answer = infer(base, "custom", inputs, scorer.numeric)
    output = answer["outputs"][0]
    assert output["name"] == "predict_proba"
    served = np.asarray(output["data"], dtype=np.float64).reshape(expected.shape)
    assert np.abs(served - expected).max() <= 1e-6


def _diabetes_batches(workdir: Path) -> list[Path]:
    data = load_diabetes(as_frame=True, scaled=False).frame  # shipped with scikit-learn
    later = data.iloc[250:]
    batches = {
        "bootstrap": data.iloc[:250],
        "no-drift": later,
        "drift": later.assign(bmi=later["bmi"] * 1.15),
    }
    paths = []
    for name, frame in batches.items():
        paths.append(workdir / f"diabetes-{name}.csv")
        frame.to_csv(paths[-1], index=False)
    return paths


@pytest.mark.slow
def test_a_regressor_runs_the_three_demo_paths(tmp_path):
    config = load_config(EXAMPLES / "diabetes-regression" / "config.yaml")
    assert config.data.task == "auto"
    bootstrap, quiet, drifted = (
        _run(config, batch, tmp_path) for batch in _diabetes_batches(tmp_path)
    )
    assert bootstrap.succeeded and bootstrap.ran() == ALL, bootstrap.error
    assert quiet.succeeded and "train" in quiet.skipped(), quiet.error
    assert drifted.succeeded and drifted.ran() == ALL, drifted.error
    details = quiet.json_artifact("check", "details")
    assert set(details["performance"]) == {"rmse", "mae", "r2"} and not details["degraded"]
    assert drifted.output("decide", "reason") == "drift in bmi"
    evaluation = drifted.json_artifact("evaluate", "results")
    assert evaluation["task"] == "regression" and evaluation["baseline_version"] == 1
    overall = evaluation["metrics"]["overall"]
    assert {"rmse", "mae", "r2", "rmse_diff"} <= set(overall["candidate"])
    assert set(evaluation["residuals"]) == {"candidate", "baseline"}
    record = (drifted.tasks["evaluate"].artifact("record")).read_text()
    assert "## Residuals" in record
    registry = Registry(tmp_path / "registry", "diabetes")
    assert registry.verified(1).metadata["task"] == "regression"
    schema = (registry.path(1) / "schema.pbtxt").read_text()
    assert 'name: "target"\n  type: FLOAT' in schema


@pytest.mark.slow
@pytest.mark.parametrize("example", ["lightgbm-penguins", "keras-penguins"])
def test_the_worked_examples_run_through_the_local_pipeline(example, penguins_batch, tmp_path):
    config = load_config(EXAMPLES / example / "config.yaml")
    summary = _run(config, penguins_batch, tmp_path)
    assert summary.succeeded and summary.ran() == ALL, summary.error
    version = Registry(tmp_path / "registry", config.model_name).verified(1)
    assert version.metadata["format"] == config.training.custom.format
    assert version.metadata["metrics"]["accuracy"] >= 0.9
    assert (version.path / MODEL_SETTINGS).exists() == (config.training.custom.format == "sklearn")


@pytest.mark.parametrize("component", ["mlserver", "mlserver-kserve"])
def test_the_mlserver_components_render_onto_an_overlay(component, tmp_path):
    import os
    import subprocess

    manifests = Path(os.path.relpath(EXAMPLES.parent / "manifests", tmp_path))
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [str(manifests / "overlays" / "dev")],
                "components": [str(manifests / "components" / component)],
            }
        )
    )
    bin_dir = Path(sys.executable).parent
    out = subprocess.run(
        [str(bin_dir / "kubectl"), "kustomize", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    objects = [o for o in yaml.safe_load_all(out) if o]
    kind = "Deployment" if component == "mlserver" else "InferenceService"
    served = next(
        o for o in objects if o["kind"] == kind and o["metadata"]["name"] == "driftgate-mlserver"
    )
    if component == "mlserver":
        container = served["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "MODEL_NAME", "value": "penguins"} in container["env"]
        strict = [str(bin_dir / "kubernetes-validate"), "--strict", "-k", "1.31.0", "--quiet"]
        (tmp_path / "all.yaml").write_text(out)
        result = subprocess.run([*strict, str(tmp_path / "all.yaml")], capture_output=True)
        assert result.returncode == 0, result.stdout
    else:
        model = served["spec"]["predictor"]["model"]
        assert model["modelFormat"]["name"] == "sklearn" and model["protocolVersion"] == "v2"
        assert model["runtime"] == "kserve-mlserver"
