"""Crash safety and concurrency of pushes, and refusal of tampered models, with real processes.

Every test here is deterministic: a crash happens at a named point of the push protocol
(``DRIFTGATE_CRASH_AT``), and racers synchronise on files, never on wall-clock sleeps.
"""

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from driftgate.registry.crashpoints import POINTS
from driftgate.registry.store import POINTER, SERVING_CONFIG, STAGING_PREFIX, Registry

pytestmark = pytest.mark.slow
PUSH = """
import os, shutil, sys, time
from pathlib import Path
from driftgate.registry.store import Registry
base, source, barrier = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
registry = Registry(base, "m")
parent = registry.production()
if barrier != "-":
    Path(f"{barrier}.ready-{os.getpid()}").touch()  # parent read: ready to race
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


def push(base: Path, source: Path, barrier: str = "-", crash_at: str = "") -> subprocess.Popen:
    env = {**os.environ, "DRIFTGATE_CRASH_AT": crash_at}
    return subprocess.Popen(
        [sys.executable, "-c", PUSH, str(base), str(source), barrier],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
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
            or path.name.startswith((STAGING_PREFIX, f".{POINTER}.", ".lock", ".pointer.lock"))
            or (path.name == POINTER)
        ), path.name


EXPECTED = {  # versions and production right after the crash, from versions [1], production 1
    "after-staging": ([1], 1),
    "after-fsync": ([1], 1),
    "after-rename": ([1, 2], 1),
    "before-pointer": ([1, 2], 1),
    "after-pointer": ([1, 2], 2),
    "during-serving-config": ([1, 2], 2),
}


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_each_point_of_the_push_leaves_a_registry_that_verifies(tmp_path, model, point):
    base = tmp_path / "registry"
    assert push(base, model).wait() == 0
    crashed = push(base, model, crash_at=point)
    assert crashed.wait() == -signal.SIGKILL
    assert crashed.stdout.read() == ""
    assert_consistent(base)
    registry = Registry(base, "m")
    assert (registry.versions(), registry.production()) == EXPECTED[point]
    served = re.findall(r"versions: (\d+)", (base / SERVING_CONFIG).read_text())
    assert served == ["1"]  # TF Serving still serves a complete version: the previous one
    final = push(base, model)
    assert final.wait() == 0
    version, promoted, message = final.stdout.read().split(" ", 2)
    assert promoted == "True" and "is now production" in message
    assert registry.production() == int(version) == max(registry.versions())
    assert_consistent(base)
    assert re.findall(r"versions: (\d+)", (base / SERVING_CONFIG).read_text()) == [version]


def test_every_crash_point_is_on_the_push_path():
    import inspect

    from driftgate.registry import pointer
    from driftgate.registry import store as registry

    source = inspect.getsource(registry) + inspect.getsource(pointer)
    for point in POINTS:
        assert f'crash_point("{point}")' in source, point


def test_two_concurrent_pushes_give_two_versions_and_one_consistent_production(tmp_path, model):
    base = tmp_path / "registry"
    assert push(base, model).wait() == 0
    barrier = tmp_path / "go"
    racers = [push(base, model, str(barrier)) for _ in range(2)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready-*"))) < 2:  # both have read production (version 1)
        assert time.monotonic() < deadline and all(r.poll() is None for r in racers)
        time.sleep(0.01)
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
