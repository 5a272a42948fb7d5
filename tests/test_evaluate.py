import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftgate.components.evaluate.core import evaluate
from driftgate.components.evaluate.record import record_markdown
from driftgate.components.train.core import TrainOutputs, train
from driftgate.components.validate.core import validate
from driftgate.dataspec import DataSettings
from driftgate.integrity import verify
from driftgate.registry import Registry
from driftgate.settings.evaluation import EvaluationSettings
from driftgate.settings.training import TrainingSettings
from driftgate.settings.validation import ValidationSettings
from driftgate.stats import DriftSettings

pytestmark = pytest.mark.slow
DATA = DataSettings(label="species", exclude=["year"])
FOREST = TrainingSettings(
    family="sklearn", sklearn={"estimator": "random_forest"}, eval_fraction=0.4
)


def train_on(root, frame):
    root.mkdir()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), root / "batch.parquet")
    result = validate(root / "batch.parquet", root / "valid.parquet", DATA, ValidationSettings())
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
        FOREST,
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
