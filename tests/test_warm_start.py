"""training.mode warm_start: continuing from the deployed model, and every fallback to scratch."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftgate.components.train.fit import fit
from driftgate.components.train.warm import choose
from driftgate.components.train.window import labelled_rows
from driftgate.components.validate.core import ValidationSettings, validate
from driftgate.data.dataspec import DataSettings
from driftgate.data.schema import feature_kinds
from driftgate.models.scoring import feature_arrays, load_scorer
from driftgate.registry.integrity import VerifiedDir, verify
from driftgate.settings.training import TrainingSettings

CLASSES = ["Adelie", "Chinstrap", "Gentoo"]


@pytest.fixture(scope="module")
def penguins(tmp_path_factory, penguins_frame):
    """The penguins rows (with their year) and the feature kinds validation finds."""
    root = tmp_path_factory.mktemp("penguins")
    table = pa.Table.from_pandas(penguins_frame, preserve_index=False)
    pq.write_table(table, root / "b.parquet")
    data = DataSettings(label="species", exclude=["year"])
    result = validate(root / "b.parquet", root / "v.parquet", data, ValidationSettings())
    return table, feature_kinds(result.schema)


def _rows(table: pa.Table, years: tuple[int, ...], batch: str) -> pa.Table:
    mask = np.isin(table.column("year").to_numpy(), years)
    return labelled_rows(table.filter(pa.array(mask)), "species", batch)


def _without(table: pa.Table, species: str) -> pa.Table:
    return table.filter(pa.array([v != species for v in table.column("species").to_pylist()]))


def _fit(tmp_path, name, window, kinds, settings, deployed=None):
    return fit(
        window,
        window.num_rows,
        kinds,
        "classification",
        settings,
        tmp_path / name,
        tmp_path / f"{name}-tb",
        deployed,
    )


def _proba(model_dir, table) -> np.ndarray:
    return load_scorer(verify(model_dir), fast=True).predict_proba(table)


@pytest.fixture(scope="module")
def keras_v1(tmp_path_factory, penguins):
    """A Keras model trained from scratch on 2007–2008: the deployed version."""
    table, kinds = penguins
    root = tmp_path_factory.mktemp("keras")
    fitted = _fit(root, "v1", _rows(table, (2007, 2008), "b1"), kinds, TrainingSettings())
    return verify(fitted.model_dir)


WARM = {"mode": "warm_start", "warm_start": {"epochs": 0}}


@pytest.mark.slow
def test_zero_fine_tuning_epochs_reproduce_the_deployed_keras_predictions(
    tmp_path, penguins, keras_v1
):
    table, kinds = penguins
    window = _rows(table, (2009,), "b2")
    fitted = _fit(tmp_path, "v2", window, kinds, TrainingSettings(**WARM), keras_v1)
    assert fitted.mode.used == "warm_start", fitted.mode.reason
    assert "preprocessing keeps its constants" in fitted.mode.reason
    assert np.abs(_proba(fitted.model_dir, window) - _proba(keras_v1.path, window)).max() < 1e-5
    training = verify(fitted.model_dir).metadata["training"]
    assert training["mode"] == "warm_start" and training["epochs_run"] == 0


@pytest.mark.slow
def test_a_keras_warm_start_starts_from_the_deployed_weights(tmp_path, penguins, keras_v1):
    table, kinds = penguins
    window = _rows(table, (2009,), "b2")
    one_epoch = {"keras": {"epochs": 1, "patience": 0}, "warm_start": {"epochs": 1}}
    warm = _fit(tmp_path, "w", window, kinds, TrainingSettings(mode="warm_start", **one_epoch))
    assert warm.mode.reason == "no deployed version to start from (first run)"
    scratch_loss = warm.history["final_loss"]
    warm = _fit(
        tmp_path, "w2", window, kinds, TrainingSettings(mode="warm_start", **one_epoch), keras_v1
    )
    assert warm.mode.used == "warm_start"
    assert warm.history["final_loss"] < scratch_loss / 3, (warm.history, scratch_loss)


@pytest.mark.slow
def test_new_categories_re_adapt_the_lookups_and_start_from_the_unknown_weights(
    tmp_path, penguins, keras_v1
):
    table, kinds = penguins
    window = _rows(table, (2009,), "b2")
    islands = window.column("island").to_pylist()
    renamed = ["Surveyed" if i % 3 == 0 else v for i, v in enumerate(islands)]
    window = window.set_column(window.schema.get_field_index("island"), "island", pa.array(renamed))
    fitted = _fit(tmp_path, "v2", window, kinds, TrainingSettings(**WARM), keras_v1)
    assert fitted.mode.used == "warm_start"
    assert "new categories {'island': ['Surveyed']}" in fitted.mode.reason
    assert "re-adapted" in fitted.mode.reason
    # the deployed model scored 'Surveyed' as unknown; the new row starts from that row
    assert np.abs(_proba(fitted.model_dir, window) - _proba(keras_v1.path, window)).max() < 1e-5


@pytest.mark.slow
def test_a_new_class_or_other_layer_sizes_fall_back_to_scratch(tmp_path, penguins):
    table, kinds = penguins
    two = _without(_rows(table, (2007,), "b1"), "Chinstrap")
    settings = TrainingSettings(keras={"epochs": 2})
    deployed = verify(_fit(tmp_path, "v1", two, kinds, settings).model_dir)
    window = _rows(table, (2008,), "b2")
    warm = settings.model_copy(update={"mode": "warm_start"})
    fitted = _fit(tmp_path, "v2", window, kinds, warm, deployed)
    assert fitted.mode.used == "scratch" and fitted.classes == CLASSES
    assert "label classes changed" in fitted.mode.reason and "['Chinstrap']" in fitted.mode.reason
    assert verify(fitted.model_dir).metadata["training"]["mode_reason"] == fitted.mode.reason
    wider = TrainingSettings(mode="warm_start", keras={"hidden_units": [8]})
    mode = choose(wider, verify(fitted.model_dir), kinds, CLASSES, feature_arrays(window, [], []))
    assert mode.used == "scratch" and "hidden layers [32, 16]" in mode.reason


def test_scratch_custom_other_family_and_other_features_are_recorded(tmp_path, penguins):
    table, kinds = penguins
    x = feature_arrays(table, list(kinds.numeric), list(kinds.categorical))
    keras = VerifiedDir(
        tmp_path / "3",
        {
            "family": "keras",
            "label": "species",
            "classes": CLASSES,
            "features": {"numeric": list(kinds.numeric)[1:], "categorical": []},
        },
    )
    reasons = {
        "scratch": choose(TrainingSettings(), keras, kinds, CLASSES, x).reason,
        "custom": choose(
            TrainingSettings(mode="warm_start", family="custom"), keras, kinds, CLASSES, x
        ).reason,
        "sklearn": choose(
            TrainingSettings(mode="warm_start", family="sklearn"), keras, kinds, CLASSES, x
        ).reason,
        "features": choose(TrainingSettings(mode="warm_start"), keras, kinds, CLASSES, x).reason,
    }
    assert reasons["scratch"] == "training.mode is scratch"
    assert "does not warm-start custom entry points" in reasons["custom"]
    assert reasons["sklearn"] == "deployed version 3 is a keras model"
    assert "features added ['bill_length_mm', 'island', 'sex']" in reasons["features"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("estimator", "trees"), [("logistic_regression", False), ("random_forest", True)]
)
def test_sklearn_estimators_continue_with_warm_start(tmp_path, penguins, estimator, trees):
    table, kinds = penguins
    settings = TrainingSettings(family="sklearn", sklearn={"estimator": estimator})
    v1 = verify(_fit(tmp_path, "v1", _rows(table, (2007, 2008), "b1"), kinds, settings).model_dir)
    window = _rows(table, (2009,), "b2")
    warm = settings.model_dump() | {
        "mode": "warm_start",
        "warm_start": {"epochs": 0, "estimators": 0},
    }
    same = _fit(tmp_path, "same", window, kinds, TrainingSettings(**warm), v1)
    assert same.mode.used == "warm_start", same.mode.reason
    assert np.abs(_proba(same.model_dir, window) - _proba(v1.path, window)).max() < 1e-9
    more = warm | {"warm_start": {"epochs": 5, "estimators": 7}}
    grown = _fit(tmp_path, "grown", window, kinds, TrainingSettings(**more), v1)
    assert grown.mode.used == "warm_start" and "warm_start" in grown.mode.reason
    assert grown.primary > 0.9
    if trees:
        import joblib

        before, after = (
            joblib.load(d / "model.joblib")["model"] for d in (v1.path, grown.model_dir)
        )
        assert len(after.estimators_) == len(before.estimators_) + 7


@pytest.mark.slow
def test_sklearn_falls_back_without_warm_start_or_with_new_categories(tmp_path, penguins):
    table, kinds = penguins
    liblinear = TrainingSettings(
        family="sklearn", sklearn={"params": {"solver": "liblinear"}}, mode="warm_start"
    )
    binary = [_without(_rows(table, (y,), f"b{y}"), "Chinstrap") for y in (2007, 2008)]
    v1 = verify(_fit(tmp_path, "v1", binary[0], kinds, liblinear).model_dir)
    fitted = _fit(tmp_path, "v2", binary[1], kinds, liblinear, v1)
    assert fitted.mode.used == "scratch"
    assert (
        fitted.mode.reason
        == "LogisticRegression has no warm_start or partial_fit driftgate can use"
    )
    boosting = TrainingSettings(
        **liblinear.model_dump() | {"sklearn": {"estimator": "gradient_boosting"}}
    )
    window = _rows(table, (2008,), "b2")
    v2 = verify(_fit(tmp_path, "hgb", window, kinds, boosting).model_dir)
    fitted = _fit(tmp_path, "hgb2", _rows(table, (2009,), "b3"), kinds, boosting, v2)
    assert fitted.mode.used == "scratch" and "re-bins the new rows" in fitted.mode.reason
    lbfgs = TrainingSettings(family="sklearn", mode="warm_start")
    v2 = verify(_fit(tmp_path, "v3", window, kinds, lbfgs).model_dir)
    x = feature_arrays(window, list(kinds.numeric), list(kinds.categorical))
    x["sex"] = np.where(x["sex"] == "male", "unknown", x["sex"])
    mode = choose(lbfgs, v2, kinds, CLASSES, x)
    assert mode.used == "scratch" and "new categories {'sex': ['unknown']}" in mode.reason


@pytest.mark.slow
def test_the_local_pipeline_warm_starts_from_the_deployed_version(
    deployed_registry, config, penguins_frame, tmp_path
):
    from driftgate.pipelines.local_run import run_local
    from driftgate.registry.store import Registry

    batch = tmp_path / "penguins-2009.csv"
    penguins_frame[penguins_frame.year == 2009].to_csv(batch, index=False)
    training = config.training.model_copy(update={"mode": "warm_start"})
    warm = config.model_copy(update={"training": training})
    registry = Registry(deployed_registry, config.model_name)
    deployed = registry.production()
    summary = run_local(
        warm, str(batch), str(deployed_registry), force=True, output_root=tmp_path / "runs"
    )
    assert summary.succeeded and "train" in summary.ran(), summary.error
    training = verify(summary.tasks["train"].artifact("model")).metadata["training"]
    assert training["mode"] == "warm_start", training["mode_reason"]
    assert training["mode_reason"].startswith(f"fine-tuned version {deployed}'s weights for 10 ")
    assert training["epochs_run"] <= 10
    assert summary.output("push", "promoted") is True
    pushed = registry.verified(registry.production()).metadata["training"]
    assert registry.production() == deployed + 1 and pushed["mode"] == "warm_start"
