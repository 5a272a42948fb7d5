"""Crash safety and concurrency of pushes, and refusal of tampered models, with real processes."""

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from driftgate.registry import POINTER, SERVING_CONFIG, STAGING_PREFIX, Registry

pytestmark = pytest.mark.slow
PUSH = """
import os, shutil, sys, time
from pathlib import Path
from driftgate.registry import Registry
base, source, barrier = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
registry = Registry(base, "m")
parent = registry.production()
while barrier != "-" and not os.path.exists(barrier):
    time.sleep(0.005)
with registry.staging() as staged:
    shutil.copytree(source, staged, dirs_exist_ok=True)
    result = registry.push(staged, {"format": "saved_model"}, parent)
print(result.version, result.promoted, result.message, flush=True)
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A model-sized directory: 48 files, 12 MB."""
    root = tmp_path_factory.mktemp("model")
    (root / "variables").mkdir()
    rng = random.Random(0)
    for i in range(48):
        target = root / "variables" / f"shard-{i:02d}" if i % 2 else root / f"asset-{i:02d}.bin"
        target.write_bytes(rng.randbytes(256 << 10))
    return root


def push(base: Path, source: Path, barrier: str = "-") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PUSH, str(base), str(source), barrier],
        stdout=subprocess.PIPE,
        text=True,
    )


def assert_consistent(base: Path) -> None:
    """Every visible version is complete, and production and TF Serving name complete versions."""
    registry = Registry(base, "m")
    versions = registry.versions()
    for version in versions:
        registry.verified(version)
    production = registry.production()
    assert production is None or production in versions
    config = base / SERVING_CONFIG
    if config.exists():
        served = [int(v) for v in re.findall(r"versions: (\d+)", config.read_text())]
        assert set(served) <= set(versions)
    for path in (base / "m").iterdir():
        assert (
            path.name.isdigit()
            or path.name.startswith((STAGING_PREFIX, f".{POINTER}.", ".lock"))
            or (path.name == POINTER)
        ), path.name


def test_sigkill_at_twenty_random_points_never_exposes_a_partial_version(tmp_path, model):
    base = tmp_path / "registry"
    started = time.monotonic()
    assert push(base, model).wait() == 0
    duration = time.monotonic() - started
    rng = random.Random(20)
    kills = left_staging = completed = 0
    for _ in range(20):
        before = len(Registry(base, "m").versions())
        process = push(base, model)
        time.sleep(rng.uniform(0.2 * duration, 1.1 * duration))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        completed += len(Registry(base, "m").versions()) > before
        left_staging += any(p.name.startswith(STAGING_PREFIX) for p in (base / "m").iterdir())
        assert_consistent(base)
    assert kills >= 10 and left_staging >= 1, (kills, left_staging, completed)
    final = push(base, model)
    assert final.wait() == 0 and "is now production" in final.stdout.read()
    assert_consistent(base)
    assert f"versions: {Registry(base, 'm').production()}" in (base / SERVING_CONFIG).read_text()


def test_two_concurrent_pushes_give_two_versions_and_one_consistent_production(tmp_path, model):
    base = tmp_path / "registry"
    assert push(base, model).wait() == 0
    barrier = tmp_path / "go"
    racers = [push(base, model, str(barrier)) for _ in range(2)]
    time.sleep(1.0)  # both have read production (version 1) as their parent
    barrier.touch()
    results = [racer.communicate()[0].split(" ", 2) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers)
    versions = sorted(int(r[0]) for r in results)
    promoted = [int(r[0]) for r in results if r[1] == "True"]
    assert versions == [2, 3] and len(promoted) == 1
    loser = next(r for r in results if r[1] == "False")
    assert f"production moved from 1 to {promoted[0]}" in loser[2]
    registry = Registry(base, "m")
    assert registry.production() == promoted[0] and registry.versions() == [1, 2, 3]
    assert_consistent(base)


def test_a_tampered_deployed_model_stops_the_next_run(deployed_registry, tmp_path, config, demo):
    from driftgate.pipelines.local_run import run_local

    weights = next((deployed_registry / "penguins" / "2" / "variables").glob("variables.data-*"))
    weights.write_bytes(weights.read_bytes()[:-8] + b"\x00" * 8)
    batch = demo[0] / "batches" / "penguins-2009.csv"
    summary = run_local(config, str(batch), str(deployed_registry), output_root=tmp_path / "runs")
    assert not summary.succeeded and summary.failed_task == "validate"
    assert (
        summary.error
        == f"{weights}: does not match the checksum recorded at push; refusing to load it; "
        "restore the file or roll back to another version"
    )
    assert Registry(deployed_registry, "penguins").production() == 2
