"""In the gate image (no TensorFlow), a deployed Keras model without its NumPy mirror is refused
with one line that says which image to run check in."""

import sys

import pytest

from driftgate.errors import ConfigError
from driftgate.models.scoring import load_scorer
from driftgate.registry.integrity import VerifiedDir


def test_a_model_without_mirror_in_an_image_without_tensorflow_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow now fails
    metadata = {
        "format": "savedmodel",
        "classes": ["a", "b"],
        "features": {"numeric": ["x"], "categorical": []},
    }
    with pytest.raises(ConfigError) as raised:
        load_scorer(VerifiedDir(path=tmp_path, metadata=metadata), fast=True)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path}: the deployed model has no NumPy scoring mirror")
    assert "set images.gate to it" in message and "\n" not in message
