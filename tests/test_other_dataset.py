"""A dataset the demo never uses, with its own config: binary labels, Parquet batches, column
names with spaces, a derived categorical slice, and the scikit-learn family."""

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from driftgate.pipelines.config import parse_config
from driftgate.pipelines.local_run import run_local
from driftgate.registry.store import Registry

pytestmark = pytest.mark.slow
CONFIG = """
model_name: tumours
data:
  label: diagnosis
performance:
  thresholds: {accuracy: 0.85}
gate:
  retrain_on: [performance, drift]   # this team retrains on drift as well
training:
  family: sklearn
  sklearn: {estimator: logistic_regression}
evaluation:
  slices: [size_band]
  value_thresholds: {accuracy: 0.85, roc_auc: 0.9}
  change_thresholds: {accuracy: 0.03}
"""


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    raw = load_breast_cancer(as_frame=True)
    frame = raw.frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = frame["diagnosis"].map(dict(enumerate(raw.target_names)))
    frame["size_band"] = pd.qcut(frame["mean area"], 3, labels=["small", "medium", "large"]).astype(
        str
    )
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    root = tmp_path_factory.mktemp("tumours")
    parts = {"first": frame[:300], "quiet": frame[300:430], "drifted": frame[430:].copy()}
    parts["drifted"]["mean texture"] *= 1.4  # a scanner recalibration
    paths = {}
    for name, part in parts.items():
        paths[name] = root / f"{name}.parquet"
        part.to_parquet(paths[name], index=False)
    return root, paths


def test_three_paths_on_a_dataset_the_tests_never_saw(batches):
    root, paths = batches
    config = parse_config(CONFIG, "tumours.yaml")
    registry = root / "registry"

    def run(name):
        return run_local(config, str(paths[name]), str(registry), output_root=root / "runs")

    first = run("first")
    assert first.succeeded and first.output("push", "version") == 1, first.error
    quiet = run("quiet")
    assert quiet.succeeded and quiet.skipped() == ["train", "evaluate", "push"], (
        quiet.json_artifact("check", "details")
    )
    drifted = run("drifted")
    assert drifted.succeeded, drifted.error
    assert "mean texture" in drifted.json_artifact("check", "details")["drifted_features"]
    evaluation = drifted.json_artifact("evaluate", "results")
    assert evaluation["baseline_version"] == 1 and evaluation["blessed"]
    assert drifted.output("push", "version") == 2
    meta = Registry(registry, "tumours").verified(1).metadata
    assert meta["format"] == "sklearn" and meta["classes"] == ["benign", "malignant"]
    assert "mean radius" in meta["features"]["numeric"] and meta["features"]["categorical"] == [
        "size_band"
    ]
