"""The demo's three paths with every step running inside the built component images.

Run by `make image-test`, which builds the full and the gate image (offline, with podman) and
serves a Docker-compatible socket; containers run with no network, as a non-root user, with a
read-only root filesystem (the manifests' settings). The closed-gate path runs in the gate image
alone (its train image is one that does not exist); the others run the gate's steps in the gate
image and train, evaluate and push in the full image.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

needs_images = pytest.mark.skipif(
    not (
        os.environ.get("DRIFTGATE_IMAGE")
        and os.environ.get("DRIFTGATE_GATE_IMAGE")
        and os.environ.get("DOCKER_HOST")
    ),
    reason="needs the built images and a Docker-compatible socket: run `make image-test`",
)
UID = 10001
ROOT = Path(__file__).parent.parent
ABSENT = "localhost/driftgate-absent:none"  # the closed gate's train image: never pulled or run


def run_container(client, image, command, volumes, **run_args) -> int:
    """kfp's ``run_docker_container`` without ``auto_remove``: wait for the real exit code.

    kfp starts containers with ``auto_remove=True`` and then reads their logs; when a container
    has already exited and been removed, Docker answers 404 (which kfp treats as exit code 0)
    and podman 4.3's compatible API answers 500 (which kfp does not catch). Waiting before
    removing gives the true status and the whole log with either engine.
    """
    STARTED.append((command[command.index("--function_to_execute") + 1], image))
    container = client.containers.run(
        image=image, command=command, detach=True, volumes=volumes, **run_args
    )
    try:
        status = container.wait()["StatusCode"]
        print(container.logs().decode(), end="")
        return status
    finally:
        container.remove(force=True)


STARTED: list[tuple[str, str]] = []  # (step, image) of every container, in order


def test_the_custom_image_example_passes_hadolint():
    dockerfile = ROOT / "examples" / "custom-image" / "Dockerfile"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "hadolint"), str(dockerfile)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_the_gate_requirements_are_the_locks_subset_for_the_gate_steps():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gate_requirements.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


GATE_IMPORTS = """
import importlib, re, sys
from importlib import metadata

def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()

# Every module of a package outside requirements-gate.txt is made absent, as in the gate image
# (kubernetes, urllib3 and scikit-learn import some optional packages when they are there).
held = {canonical(line.split("==")[0]) for line in open(sys.argv[1]) if "==" in line}
absent = {top for top, dists in metadata.packages_distributions().items()
          if not {canonical(d) for d in dists} & (held | {"driftgate"})}

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in absent:
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, Absent())
import kfp.dsl.executor_main
for step in ("ingest", "validate", "check", "decide", "notify"):
    importlib.import_module(f"driftgate.components.{step}.core")
    importlib.import_module(f"driftgate.components.{step}.component")
for module in ("driftgate.observe.logs", "driftgate.observe.kfp_io", "driftgate.observe.report",
               "driftgate.models.scoring", "driftgate.models.metrics", "driftgate.settings.gate",
               "google.protobuf.text_format", "sklearn.metrics", "joblib", "pandas",
               "prometheus_client"):  # what the steps import inside their functions
    importlib.import_module(module)
print(sorted(absent & {"tensorflow", "tensorflow_model_analysis", "apache_beam", "keras"}))
"""


def test_the_gate_steps_import_with_only_the_gate_images_packages():
    result = subprocess.run(
        [sys.executable, "-c", GATE_IMPORTS, str(ROOT / "requirements-gate.txt")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        result.stdout.strip()
        == "['apache_beam', 'keras', 'tensorflow', 'tensorflow_model_analysis']"
    )


@pytest.mark.image
@needs_images
def test_the_three_demo_paths_run_inside_the_images(tmp_path, config, monkeypatch):
    from kfp import local
    from kfp.local import docker_task_handler

    from driftgate.pipelines.config import ImageSettings
    from driftgate.pipelines.demo import PATHS, prepare
    from driftgate.pipelines.local_run import run_local

    # DockerRunner mounts only the pipeline root, at the same path: batches and registry live in it.
    work = tmp_path / "work"
    work.mkdir()
    story = prepare(work)
    steps = [next(s for s in story if s.path == path) for path in PATHS]
    shutil.chown(work, UID, UID)
    for path in work.rglob("*"):
        shutil.chown(path, UID, UID)
    monkeypatch.setattr(docker_task_handler, "run_docker_container", run_container)
    full, gate = os.environ["DRIFTGATE_IMAGE"], os.environ["DRIFTGATE_GATE_IMAGE"]
    both = config.model_copy(update={"image": full, "images": ImageSettings(gate=gate)})
    gate_only = config.model_copy(update={"image": ABSENT, "images": ImageSettings(gate=gate)})
    runner = local.DockerRunner(
        network_mode="none", user=f"{UID}:{UID}", read_only=True, tmpfs={"/tmp": "rw,size=2g"}
    )
    registry = work / "registry"
    registry.mkdir()
    shutil.chown(registry, UID, UID)
    # The closed gate once more, every step in the full image, on a copy of the registry as the
    # quiet run found it: the same work under the same machine load, for the comparison.
    all_full = config.model_copy(update={"image": full, "images": ImageSettings()})
    as_before = work / "registry-as-before"
    summaries, seconds, images = [], {}, []
    for step, image_config in zip(steps, (both, gate_only, both), strict=True):
        if image_config is gate_only:
            shutil.copytree(registry, as_before)
        STARTED.clear()
        started = time.monotonic()
        summary = run_local(
            image_config, str(step.batch), str(registry), output_root=work, runner=runner
        )
        seconds[step.title] = round(time.monotonic() - started, 1)
        summaries.append(summary)
        images.append(dict(STARTED))
        print(f"{step.title}: {seconds[step.title]} s in containers")
        assert summary.succeeded, summary.error
    bootstrap, quiet, drifted = summaries
    for path in [as_before, *as_before.rglob("*")]:
        shutil.chown(path, UID, UID)
    started = time.monotonic()
    again = run_local(
        all_full, str(steps[1].batch), str(as_before), output_root=work, runner=runner
    )
    in_full = "closed gate, every step in the full image"
    seconds[in_full] = round(time.monotonic() - started, 1)
    assert again.succeeded and again.skipped() == ["train", "evaluate", "push"], again.error
    print(f"{in_full}: {seconds[in_full]} s in containers")
    assert set(images[1].values()) == {gate}  # the closed gate: the gate image alone
    for ran in (images[0], images[2]):
        assert {s for s, i in ran.items() if i == gate} == {
            "ingest",
            "validate",
            "check",
            "decide",
            "notify",
        }
        assert {s for s, i in ran.items() if i == full} == {"train", "evaluate", "push"}
    assert bootstrap.output("push", "version") == 1
    assert quiet.skipped() == ["train", "evaluate", "push"]
    assert drifted.output("decide", "reason").startswith("the deployed model fell under its bound")
    assert drifted.output("push", "version") == 2
    for summary in summaries:
        where = re.findall(
            r"driftgate \S+, Python (\S+) at (\S+), uid (\d+)",
            (summary.run_dir / "run.log").read_text(),
        )
        assert len(where) == len(summary.ran())  # every step that ran says where it ran
        assert all(
            exe.startswith("/opt/driftgate/bin/python") for _, exe, _ in where
        )  # the image's venv
        assert {uid for _, _, uid in where} == {str(UID)}
        assert all(python.startswith("3.11.") for python, _, _ in where)
    record = Path(os.environ.get("DRIFTGATE_IMAGE_RECORD", tmp_path / "images.json"))
    written = json.loads(record.read_text()) if record.exists() else {}
    record.write_text(
        json.dumps({**written, "demo_seconds_in_containers": seconds}, indent=2) + "\n"
    )
