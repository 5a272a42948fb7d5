import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftgate.components.evaluate.core import evaluate
from driftgate.components.evaluate.record import record_markdown
from driftgate.components.train.core import TrainOutputs, train
from driftgate.components.validate.core import validate
from driftgate.data.dataspec import DataSettings
from driftgate.registry.integrity import verify
from driftgate.registry.store import Registry
from driftgate.settings.evaluation import EvaluationSettings
from driftgate.settings.training import TrainingSettings
from driftgate.settings.validation import ValidationSettings
from driftgate.stats import DriftSettings

pytestmark = pytest.mark.slow
DATA = DataSettings(label="species", exclude=["year"])


def sklearn(estimator: str, **params) -> TrainingSettings:
    return TrainingSettings(
        family="sklearn", sklearn={"estimator": estimator, "params": params}, eval_fraction=0.4
    )


FOREST = sklearn("random_forest")


def train_on(root, frame, training=FOREST, data=DATA):
    root.mkdir()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), root / "batch.parquet")
    result = validate(root / "batch.parquet", root / "valid.parquet", data, ValidationSettings())
    outputs = TrainOutputs(
        *(
            root / n
            for n in (
                "model",
                "eval.parquet",
                "w.parquet",
                "s.pb",
                "x.parquet",
                "tb",
                "schema.pbtxt",
            )
        )
    )
    train(
        root / "valid.parquet",
        result.schema,
        Registry(root / "reg", "p"),
        None,
        training,
        DriftSettings(),
        outputs,
    )
    return verify(outputs.model_dir), outputs.eval_data


@pytest.fixture(scope="module")
def models(tmp_path_factory, penguins_frame):
    root = tmp_path_factory.mktemp("eval")
    good = penguins_frame.dropna()
    baseline, eval_data = train_on(root / "baseline", good)
    corrupted = good.assign(species=good["species"].where(good["island"] != "Torgersen", "Gentoo"))
    candidate, _ = train_on(root / "candidate", corrupted)
    return baseline, candidate, eval_data


def test_first_model_is_judged_on_value_thresholds_only(models, tmp_path):
    baseline, _, eval_data = models
    settings = EvaluationSettings(slices=["island", "sex"])
    result = evaluate(baseline, eval_data, None, None, settings, tmp_path / "tfma")
    assert result.blessed
    assert "first model" in result.reason()
    assert result.overall()["example_count"] > 50
    assert {"island=Biscoe", "island=Dream", "sex=female"} <= set(result.metrics)
    assert "baseline" not in result.metrics["overall"]
    assert len(result.confusion["candidate"]) == 3 and result.roc["candidate"]["fpr"][0] == 0.0


def test_a_candidate_that_regresses_on_one_slice_is_rejected_naming_it(models, tmp_path):
    baseline, candidate, eval_data = models
    settings = EvaluationSettings(
        slices=["island"], value_thresholds={"accuracy": 0.5}, change_thresholds={"accuracy": 0.2}
    )
    result = evaluate(candidate, eval_data, baseline, 1, settings, tmp_path / "tfma")
    assert not result.blessed
    failed = {(f.slice, f.kind) for f in result.failures}
    assert failed == {("island=Torgersen", "change"), ("island=Torgersen", "value")}
    assert (
        result.metrics["overall"]["candidate"]["accuracy_diff"] > -0.2
    )  # overall drop is tolerated
    record = record_markdown(result)
    assert "REJECTED" in record and "accuracy on island=Torgersen dropped by" in record
    assert "| island=Torgersen | accuracy |" in record


@pytest.fixture(scope="module")
def rivals(tmp_path_factory, penguins_frame):
    """Two more honest models on the same rows and split: a logistic regression, and a stump."""
    root = tmp_path_factory.mktemp("rivals")
    good = penguins_frame.dropna()
    logistic, _ = train_on(root / "logistic", good, sklearn("logistic_regression"))
    stump, _ = train_on(root / "stump", good, sklearn("random_forest", max_depth=1))
    return logistic, stump


def test_a_one_row_drop_is_no_significant_change_and_the_candidate_is_blessed(
    models, rivals, tmp_path
):
    forest, _, eval_data = models
    logistic, _ = rivals
    settings = EvaluationSettings(slices=["island"])  # the default: accuracy may not drop at all
    result = evaluate(forest, eval_data, logistic, 1, settings, tmp_path / "tfma")
    overall = next(t for t in result.change_tests if t.slice == "overall")
    n = int(result.overall()["example_count"])
    assert (overall.test.b, overall.test.c, overall.test.n) == (1, 0, n)  # one row worse
    assert result.overall()["accuracy_diff"] == pytest.approx(-1 / n, abs=1e-6)  # float32
    assert overall.test.change == pytest.approx(result.overall()["accuracy_diff"], abs=1e-6)
    assert overall.tfma_failed and overall.cleared  # TFMA alone would refuse it
    assert overall.test.p_value == pytest.approx(0.5) and not overall.test.significant
    assert result.blessed and result.failures == []
    assert "no significant regression" in result.reason() and "p = 0.5" in result.reason()
    assert {t.slice for t in result.change_tests} == {"overall"} | {
        s for s in result.metrics if s.startswith("island=")
    }
    assert sum(t.tfma_failed for t in result.change_tests) == 2  # overall and one island
    record = record_markdown(result)
    assert "BLESSED" in record and "## Change thresholds, paired test" in record
    assert (
        f"| accuracy | overall | 0.0000 | {-1 / n:+.4f} | b=1, c=0, n={n} | exact McNemar | 0.5 |"
        " failed | no significant change |"
    ) in record
    stored = result.to_dict()["change_tests"]
    assert stored[0]["verdict"] == "no significant change" and stored[0]["b"] == 1


def test_a_large_drop_is_rejected_naming_the_p_value(models, rivals, tmp_path):
    forest, _, eval_data = models
    _, stump = rivals
    result = evaluate(stump, eval_data, forest, 1, EvaluationSettings(), tmp_path / "tfma")
    assert not result.blessed
    (failure,) = result.failures
    assert (failure.metric, failure.slice, failure.kind) == ("accuracy", "overall", "change")
    (test,) = result.change_tests
    assert test.test.significant and test.test.b - test.test.c >= 20
    assert failure.p_value == test.test.p_value < 1e-5
    assert "exact McNemar p = " in result.reason()
    assert f"| {failure.p_value:.3g} |" in record_markdown(result)


def test_a_regressor_is_judged_by_a_paired_test_on_rmse_and_mae(tmp_path):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame  # shipped with scikit-learn
    data = DataSettings(label="target")
    trained = {
        name: train_on(tmp_path / name, frame, sklearn(name), data)
        for name in ("logistic_regression", "random_forest", "gradient_boosting")
    }
    ridge, eval_data = trained["logistic_regression"]  # a Ridge regressor for a numeric label
    settings = EvaluationSettings(slices=["sex"], change_thresholds={"rmse": 0.0, "mae": 0.0})
    forest = evaluate(trained["random_forest"][0], eval_data, ridge, 1, settings, tmp_path / "a")
    assert {(t.metric, t.slice) for t in forest.change_tests} == {
        (m, s) for m in ("rmse", "mae") for s in ("overall", "sex=1.0", "sex=2.0")
    }
    assert all(t.cleared for t in forest.change_tests)  # worse on every slice, none significantly
    assert forest.blessed and forest.failures == []
    rmse = next(t.test for t in forest.change_tests if t.metric == "rmse" and t.slice == "overall")
    assert rmse.change == pytest.approx(forest.overall()["rmse_diff"], abs=1e-4)  # float32
    assert rmse.method == "paired t" and 0.05 <= rmse.p_value < 0.5
    boosted = evaluate(
        trained["gradient_boosting"][0], eval_data, ridge, 1, settings, tmp_path / "b"
    )
    assert not boosted.blessed
    assert [(f.metric, f.slice, f.kind) for f in boosted.failures] == [
        ("rmse", "overall", "increase")
    ]
    assert boosted.failures[0].p_value < 0.05 and "paired t p = " in boosted.reason()
    cleared = {(t.metric, t.slice) for t in boosted.change_tests if t.cleared}
    assert len(cleared) == 5 and np.isfinite([t.test.p_value for t in boosted.change_tests]).all()
