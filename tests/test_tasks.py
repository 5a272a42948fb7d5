"""Task inference, regression metrics and MLServer settings (no TensorFlow, milliseconds)."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate.models import tasks
from driftgate.models.metrics import regression_metrics
from driftgate.models.serving import mlserver_settings, write_server_files


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


MPG = [18.5, 15.0, 18.0, 16.5, 17.0, 15.5, 14.5, 24.0, 22.5, 18.5]  # 8 distinct, some decimal


def test_a_decimal_label_is_a_regression_target_however_few_its_values():
    choice = tasks.explain_task([pa.array(MPG)])
    assert choice == ("regression", "has non-integer values such as 18.5")
    assert tasks.infer_task([pa.array([str(v) for v in MPG])]) == "regression"  # decimal text
    nan = pa.array([1.0, float("nan"), 2.0] * 10)  # NaN is no decimal value
    assert tasks.infer_task([nan]) == "classification"


def test_integer_valued_labels_keep_the_distinct_value_rule():
    assert tasks.infer_task([pa.array([0, 1, 2, 3, 4] * 2)]) == "classification"
    assert tasks.infer_task([pa.array([0.0, 1.0, 2.0, 3.0, 4.0] * 20)]) == "classification"
    integral_text = pa.array([f"{v}.0" for v in range(18, 28)] * 5)  # "18.0" style, 10 distinct
    choice = tasks.explain_task([integral_text])
    assert (
        choice.task == "classification" and "10 distinct integer values in 50 rows" in choice.reason
    )
    assert tasks.infer_task([pa.array([f"{v}.0" for v in range(100)])]) == "regression"


def test_the_first_batch_task_says_why_and_the_schema_keeps_the_reason(tmp_path):
    from driftgate.components.validate.core import validate
    from driftgate.data.dataspec import DataSettings
    from driftgate.settings.validation import ValidationSettings

    batch = tmp_path / "cars.parquet"
    pq.write_table(
        pa.table({"weight": [float(3000 + 90 * i) for i in range(10)], "mpg": MPG}), batch
    )
    columns = ["weight", "mpg"]
    choice = tasks.first_batch_task("auto", str(batch), "mpg", columns)
    assert choice.task == "regression"
    assert choice.reason == (
        "data.task is auto and label 'mpg' in the first batch has non-integer values such as 18.5"
    )
    assert tasks.first_batch_task("classification", str(batch), "mpg", columns) == (
        "classification",
        "data.task is classification",
    )
    result = validate(
        batch, tmp_path / "v.parquet", DataSettings(label="mpg"), ValidationSettings()
    )
    assert tasks.task_of(result.schema) == "regression"
    assert tasks.reason_of(result.schema) == choice.reason
    assert tasks.reason_of(schema_pb2.Schema()) is None
