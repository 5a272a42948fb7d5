import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tensorflow_metadata.proto.v0 import statistics_pb2

from driftgate.components.train.core import TrainOutputs, train
from driftgate.components.train.fit import stratified_holdout
from driftgate.components.train.window import (
    BATCH_COLUMN,
    assemble_window,
    labelled_rows,
    window_schema,
)
from driftgate.components.validate.core import validate
from driftgate.data.dataspec import DataSettings
from driftgate.data.schema import feature_kinds
from driftgate.errors import IntegrityError
from driftgate.models.mirror import MIRROR_FILE
from driftgate.models.scoring import SavedModelScorer, load_scorer
from driftgate.registry.integrity import verify
from driftgate.registry.store import Registry
from driftgate.settings.training import TrainingSettings, WindowSettings
from driftgate.settings.validation import ValidationSettings
from driftgate.stats import DriftSettings, from_proto

DATA = DataSettings(label="species", exclude=["year"])


def test_window_appends_labelled_batch_rows_and_keeps_the_newest():
    previous = pa.table({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]})
    batch = labelled_rows(pa.table({"x": [4.0, 5.0, 6.0], "y": ["b", None, "a"]}), "y", "b2")
    window, from_batch = assemble_window(batch, previous, "all", WindowSettings(rows=4))
    assert window.column("x").to_pylist() == [2.0, 3.0, 4.0, 6.0]
    assert window.column(BATCH_COLUMN).to_pylist() == ["", "", "b2", "b2"]
    assert from_batch == 2


def _tagged(rows: dict[str, list[float]]) -> pa.Table:
    return pa.concat_tables(
        labelled_rows(pa.table({"x": xs, "y": ["a"] * len(xs)}), "y", batch)
        for batch, xs in rows.items()
    )


def test_recent_keeps_the_newest_batches_and_since_change_the_episode():
    previous = _tagged({"b0": [0.0], "b1": [1.0, 1.5], "b2": [2.0]})
    batch = labelled_rows(pa.table({"x": [3.0], "y": ["b"]}), "y", "b3")
    recent, _ = assemble_window(batch, previous, "recent", WindowSettings(batches=3))
    assert recent.column("x").to_pylist() == [1.0, 1.5, 2.0, 3.0]
    since, n = assemble_window(batch, previous, "since_change", WindowSettings(), {"b2", "b3"})
    assert since.column("x").to_pylist() == [2.0, 3.0] and n == 1
    alone, _ = assemble_window(batch, previous, "since_change", WindowSettings(), {"b3"})
    assert alone.column("x").to_pylist() == [3.0]
    everything, _ = assemble_window(batch, previous, "since_change", WindowSettings(), None)
    assert everything.num_rows == 5
    assert WindowSettings(strategy="auto").candidates({"b3"}) == ["since_change", "recent", "all"]


def test_the_window_schema_learns_new_classes_and_categories(tmp_path):
    frame = pd.DataFrame({"island": ["a", "b"], "mass": [1.0, 2.0], "species": ["x", "y"]})
    frame.to_parquet(tmp_path / "b.parquet")
    result = validate(
        tmp_path / "b.parquet",
        tmp_path / "v.parquet",
        DataSettings(label="species"),
        ValidationSettings(),
    )
    window = pa.table({"island": ["a", "c"], "mass": [1.0, 3.0], "species": ["x", "fog"]})
    learned = window_schema(result.schema, window, feature_kinds(result.schema))
    domains = {f.name: list(f.string_domain.value) for f in learned.feature}
    assert domains["species"] == ["x", "y", "fog"] and domains["island"] == ["a", "b", "c"]


def test_holdout_is_stratified_and_never_empties_a_class():
    labels = ["a"] * 50 + ["b"] * 10 + ["c"] * 2 + ["d"]
    held = stratified_holdout(labels, 0.3, seed=1)
    chosen = [labels[i] for i in held]
    assert chosen.count("a") == 15 and chosen.count("b") == 3 and chosen.count("c") == 1
    assert "d" not in chosen
    assert held.tolist() == stratified_holdout(labels, 0.3, seed=1).tolist()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, penguins_frame):
    def run(family):
        root = tmp_path_factory.mktemp(family)
        pq.write_table(
            pa.Table.from_pandas(penguins_frame[penguins_frame.year <= 2008], preserve_index=False),
            root / "batch.parquet",
        )
        result = validate(
            root / "batch.parquet", root / "valid.parquet", DATA, ValidationSettings()
        )
        outputs = TrainOutputs(
            *(
                root / n
                for n in (
                    "model",
                    "eval.parquet",
                    "window.parquet",
                    "stats.pb",
                    "sample.parquet",
                    "tb",
                    "schema.pbtxt",
                )
            )
        )
        summary = train(
            root / "valid.parquet",
            result.schema,
            Registry(root / "reg", "p"),
            None,
            TrainingSettings(family=family),
            DriftSettings(),
            outputs,
        )
        return summary, outputs

    return run


@pytest.mark.slow
def test_keras_export_serves_raw_features_and_matches_its_mirror(trained):
    import tensorflow as tf

    summary, outputs = trained("keras")
    assert summary.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert summary.train_rows + summary.eval_rows == summary.window_rows == 224
    signature = tf.saved_model.load(str(outputs.model_dir)).signatures["serving_default"]
    features = {
        "island": tf.constant([["Biscoe"], ["Torgersen"]]),
        "sex": tf.constant([["female"], [""]]),
        "bill_length_mm": tf.constant([[47.5], [39.1]]),
        "bill_depth_mm": tf.constant([[14.0], [18.7]]),
        "flipper_length_mm": tf.constant([[215.0], [181.0]]),
        "body_mass_g": tf.constant([[5200.0], [float("nan")]]),
    }
    probabilities = next(iter(signature(**features).values())).numpy()
    assert probabilities.shape == (2, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert probabilities.argmax(axis=1).tolist() == [2, 0]  # Gentoo, Adelie
    model = verify(outputs.model_dir)
    assert (outputs.model_dir / MIRROR_FILE).exists()
    evaluation = pq.read_table(outputs.eval_data)
    fast, exported = load_scorer(model, fast=True), SavedModelScorer(model)
    assert np.abs(fast.predict_proba(evaluation) - exported.predict_proba(evaluation)).max() < 1e-4
    assert list(outputs.tensorboard_dir.rglob("events.out.tfevents.*"))
    proto = statistics_pb2.DatasetFeatureStatisticsList.FromString(
        outputs.reference_stats.read_bytes()
    )
    assert from_proto(proto).rows == 224


@pytest.mark.slow
def test_sklearn_family_trains_and_its_pickle_is_only_loaded_after_verification(trained):
    summary, outputs = trained("sklearn")
    model = verify(outputs.model_dir)
    evaluation = pq.read_table(outputs.eval_data)
    probabilities = load_scorer(model).predict_proba(evaluation)
    truth = [summary.classes.index(v) for v in evaluation.column("species").to_pylist()]
    assert (probabilities.argmax(axis=1) == truth).mean() > 0.9
    (outputs.model_dir / "model.joblib").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    with pytest.raises(IntegrityError, match=r"model\.joblib: does not match the checksum"):
        verify(outputs.model_dir)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["keras", "sklearn"])
def test_tuning_is_bounded_and_recorded_in_the_model_metadata(family, tmp_path, penguins_frame):
    pq.write_table(
        pa.Table.from_pandas(penguins_frame, preserve_index=False), tmp_path / "batch.parquet"
    )
    result = validate(
        tmp_path / "batch.parquet", tmp_path / "valid.parquet", DATA, ValidationSettings()
    )
    outputs = TrainOutputs(
        *(
            tmp_path / n
            for n in ("model", "e.parquet", "w.parquet", "s.pb", "x.parquet", "tb", "schema.pbtxt")
        )
    )
    settings = TrainingSettings(
        family=family, tuning={"enabled": True, "max_trials": 2, "epochs": 3}, keras={"epochs": 5}
    )
    train(
        tmp_path / "valid.parquet",
        result.schema,
        Registry(tmp_path / "reg", "p"),
        None,
        settings,
        DriftSettings(),
        outputs,
    )
    metadata = verify(outputs.model_dir).metadata
    assert metadata["tuning"]["trials"] == 2
    best = metadata["tuning"]["best"]
    if family == "keras":
        assert metadata["hyperparameters"] == best
    else:
        assert metadata["hyperparameters"]["params"] == best
