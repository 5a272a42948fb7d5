"""Post-training quantisation of the penguins Keras model, judged next to the full model."""

import pyarrow.parquet as pq
import pytest

from driftgate.errors import ConfigError
from driftgate.optimise import evaluate, quantise
from driftgate.registry import TRAINING_DATA, Registry
from driftgate.settings.optimisation import OptimisationSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deployed(demo):
    """The demo's version 1 (trained on 2007-2008), its training window and its registry."""
    registry = Registry(demo[0] / "registry", "penguins")
    version = registry.verified(1)
    return version.path, pq.read_table(version.path / TRAINING_DATA).to_pandas(), registry


@pytest.mark.parametrize("mode", ["float16", "int8"])
def test_a_quantised_model_is_smaller_and_judged_on_the_same_rows(deployed, penguins_frame, mode):
    path, window, registry = deployed
    rows = penguins_frame[penguins_frame.year == 2009]
    settings = OptimisationSettings(quantise=mode, max_accuracy_drop=0.05)
    flatbuffer = quantise(path, settings, window)
    report = evaluate(path, flatbuffer, rows, "species", registry.metadata(1)["classes"], settings)
    assert report.quantised.size_bytes < report.full.size_bytes / 2
    assert report.full.accuracy > 0.9 and -0.05 <= report.accuracy_delta <= 0.05
    assert report.accepted
    assert report.quantised.ms_per_1000_rows > 0 and report.full.ms_per_1000_rows > 0
    text = report.markdown()
    assert f"{report.quantised.size_bytes:,}" in text and f"{report.accuracy_delta:+.4f}" in text
    strict = OptimisationSettings(quantise=mode, max_accuracy_drop=0.0)
    judged = evaluate(path, flatbuffer, rows, "species", registry.metadata(1)["classes"], strict)
    assert judged.accepted is (judged.accuracy_delta >= 0)
    assert ("NOT pushed" in judged.markdown()) is not judged.accepted


def test_quantising_a_scikit_learn_model_names_the_field(tmp_path):
    (tmp_path / "model.joblib").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"optimisation\.quantise"):
        quantise(tmp_path, OptimisationSettings(quantise="int8"), None)
