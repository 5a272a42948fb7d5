"""Pruning and quantisation of the penguins Keras model, judged next to the full model."""

import shutil

import pyarrow.parquet as pq
import pytest

from driftgate.errors import ConfigError
from driftgate.models.mirror import MIRROR_FILE
from driftgate.models.optimise import convert, evaluate
from driftgate.models.pruning import prune
from driftgate.registry.store import TRAINING_DATA, Registry
from driftgate.settings.optimisation import OptimisationSettings, PruningSettings

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
    flatbuffer = convert(path, settings, window)
    report = evaluate(path, flatbuffer, rows, "species", registry.metadata(1)["classes"], settings)
    assert report.optimised.size_bytes < report.full.size_bytes / 2
    assert report.full.accuracy > 0.9 and -0.05 <= report.accuracy_delta <= 0.05
    assert report.accepted
    assert report.optimised.ms_per_1000_rows > 0 and report.full.ms_per_1000_rows > 0
    text = report.markdown()
    assert f"{report.optimised.size_bytes:,}" in text and f"{report.accuracy_delta:+.4f}" in text
    strict = OptimisationSettings(quantise=mode, max_accuracy_drop=0.0)
    judged = evaluate(path, flatbuffer, rows, "species", registry.metadata(1)["classes"], strict)
    assert judged.accepted is (judged.accuracy_delta >= 0)
    assert ("NOT pushed" in judged.markdown()) is not judged.accepted


def test_quantising_a_scikit_learn_model_names_the_field(tmp_path):
    (tmp_path / "model.joblib").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"optimisation\.quantise"):
        convert(tmp_path, OptimisationSettings(quantise="int8"), None)


def test_pruning_zeroes_each_kernel_to_the_target_and_keeps_the_signature(
    deployed, penguins_frame, tmp_path
):
    import numpy as np
    import tensorflow as tf

    path, window, registry = deployed
    settings = OptimisationSettings(
        prune=PruningSettings(sparsity=0.6, epochs=2), max_accuracy_drop=0.05
    )
    pruned = prune(path, window, "species", settings.prune, tmp_path / "pruned")
    loaded = tf.saved_model.load(str(pruned.path))
    kernels = [v.numpy() for v in loaded.variables if v.name.endswith("kernel:0")]
    assert len(kernels) == 3 and pruned.sparsity == pytest.approx(0.6, abs=0.01)
    assert all(np.mean(k == 0) == pytest.approx(0.6, abs=0.02) for k in kernels)
    flatbuffer = convert(pruned.path, settings, None)
    rows = penguins_frame[penguins_frame.year == 2009]
    classes = registry.metadata(1)["classes"]
    report = evaluate(path, flatbuffer, rows, "species", classes, settings, pruned.sparsity)
    assert report.method == "pruned 60%" and report.accepted and report.full.accuracy > 0.9
    assert report.optimised.gzip_bytes < report.full.gzip_bytes
    assert len(flatbuffer) < len(convert(path, settings, None))  # zeros are stored sparse
    assert "60.0% of the Dense weights are zero" in report.markdown()
    registry.verified(1)  # the pruned copy left the version's own files as they were


def test_pruning_a_model_without_its_scoring_mirror_names_the_field(deployed, tmp_path):
    path, window, _ = deployed
    copy = tmp_path / "model"
    shutil.copytree(path, copy, ignore=shutil.ignore_patterns(MIRROR_FILE))
    with pytest.raises(ConfigError, match=r"optimisation\.prune") as raised:
        prune(copy, window, "species", PruningSettings(), tmp_path / "pruned")
    assert str(copy) in raised.value.one_line() and not (tmp_path / "pruned").exists()
