"""Shared fixtures: the penguins data, configs, and one demo run shared by the end-to-end tests."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from driftgate.pipelines.config import Config, load_config
from driftgate.pipelines.demo import penguins

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))


@pytest.fixture(scope="session")
def penguins_frame() -> pd.DataFrame:
    return penguins()


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(None)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo's runs (see ``pipelines/demo.py``) against one registry, run once."""
    from driftgate.pipelines.demo import run_demo

    workdir = tmp_path_factory.mktemp("demo")
    summaries = run_demo(load_config(None), workdir, lambda line: None)
    assert len(summaries) == 5, [s.error for s in summaries]
    return workdir, summaries


@pytest.fixture
def deployed_registry(demo, tmp_path) -> Path:
    """A private copy of the demo's registry (versions 1 and 2, Keras)."""
    target = tmp_path / "registry"
    shutil.copytree(demo[0] / "registry", target)
    return target


def tree_digest(root: Path) -> str:
    """One hash over every path and byte under ``root`` (for byte-for-byte comparisons)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()
