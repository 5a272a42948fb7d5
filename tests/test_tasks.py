"""Task inference, regression metrics and MLServer settings (no TensorFlow, milliseconds)."""

import math

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics

from driftgate import tasks
from driftgate.metrics import regression_metrics
from driftgate.serving import mlserver_settings, write_server_files


def test_a_numeric_label_with_many_values_is_a_regression_target():
    many = pa.array([f"{v:.2f}" for v in np.linspace(0, 50, 200)])
    assert tasks.infer_task([many]) == "regression"
    assert tasks.infer_task([pa.array(np.arange(100.0))]) == "regression"
    assert tasks.infer_task([pa.array(["0", "1", "1", "0"] * 50)]) == "classification"
    assert tasks.infer_task([pa.array(["Adelie", "Gentoo"] * 50)]) == "classification"
    assert tasks.infer_task([pa.array(["1.5", "two"] * 50)]) == "classification"


def test_regression_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    p = y + rng.normal(scale=0.4, size=300)
    got = regression_metrics(y, p)
    assert got["rmse"] == pytest.approx(math.sqrt(metrics.mean_squared_error(y, p)))
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(y, p))
    assert got["r2"] == pytest.approx(metrics.r2_score(y, p))
    assert math.isnan(regression_metrics(np.ones(5), np.ones(5))["r2"])


def test_error_metrics_are_bounded_from_above():
    assert tasks.violates("rmse", 3.0, 2.0) and not tasks.violates("rmse", 1.0, 2.0)
    assert tasks.violates("r2", 0.1, 0.2) and tasks.violates("accuracy", 0.7, 0.8)
    assert tasks.change_thresholds({"accuracy": 0.0}, "regression") == {"rmse": 0.0}
    assert tasks.applicable({"accuracy": 0.8, "mae": 3.0}, "regression") == {"mae": 3.0}


def test_mlserver_settings_follow_the_model(tmp_path):
    metadata = {
        "format": "sklearn",
        "task": "classification",
        "features": {"numeric": ["mass"], "categorical": ["island"]},
    }
    settings = mlserver_settings("penguins", metadata)
    assert settings["implementation"] == "mlserver_sklearn.SKLearnModel"
    assert settings["parameters"]["extra"]["predict_fn"] == "predict_proba"
    assert [i["datatype"] for i in settings["inputs"]] == ["FP32", "BYTES"]
    assert write_server_files(tmp_path, "penguins", metadata) == ["model-settings.json"]
    assert write_server_files(tmp_path, "penguins", {"format": "saved_model"}) == []
