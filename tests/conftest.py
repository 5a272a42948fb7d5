"""Shared fixtures: the penguins data, configs, and one demo run shared by the end-to-end tests."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from driftgate.pipelines.config import Config, load_config
from driftgate.pipelines.demo import penguins
from driftgate.registry.locking import file_lock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))


@pytest.fixture(scope="session")
def penguins_frame() -> pd.DataFrame:
    return penguins()


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(None)


def shared_dir(tmp_path_factory) -> Path:
    """A temporary folder every xdist worker of this session sees (its own one without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo's runs (see ``pipelines/demo.py``) against one registry, run once per session.

    Under xdist the first worker that needs it runs it; the others wait on a lock and read its
    summaries. Tests copy the registry (``deployed_registry``) before changing anything.
    """
    from driftgate.pipelines.demo import run_demo

    root = shared_dir(tmp_path_factory)
    workdir, done = root / "demo", root / "demo-summaries.pickle"
    with file_lock(root / "demo.lock", timeout=1800, holder="another worker's demo"):
        if not done.exists():
            summaries = run_demo(load_config(None), workdir, lambda line: None)
            assert len(summaries) == 5, [s.error for s in summaries]
            done.write_bytes(pickle.dumps(summaries))
    return workdir, pickle.loads(done.read_bytes())


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


def pytest_collection_modifyitems(config, items):
    """Under xdist, slow modules go out first, then the demo's users, so none starts last.

    ``make test`` runs ``--dist loadfile``: a module's tests share one worker, so its
    module-scoped fixtures (a server, a trained model, a pipeline run) are built once.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return

    def rank(item) -> int:
        if "demo" in getattr(item, "fixturenames", ()):
            return 1
        return 0 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)
