"""The demo's three paths with every step running inside the built component image.

Run by `make image-test`, which builds the image (offline, with podman) and serves a
Docker-compatible socket; containers run with no network, as a non-root user, with a read-only
root filesystem (the manifests' settings).
"""

import os
import re
import shutil
import time

import pytest

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(
        not (os.environ.get("DRIFTGATE_IMAGE") and os.environ.get("DOCKER_HOST")),
        reason="needs a built image and a Docker-compatible socket: run `make image-test`",
    ),
]
UID = 10001


def run_container(client, image, command, volumes, **run_args) -> int:
    """kfp's ``run_docker_container`` without ``auto_remove``: wait for the real exit code.

    kfp starts containers with ``auto_remove=True`` and then reads their logs; when a container
    has already exited and been removed, Docker answers 404 (which kfp treats as exit code 0)
    and podman 4.3's compatible API answers 500 (which kfp does not catch). Waiting before
    removing gives the true status and the whole log with either engine.
    """
    container = client.containers.run(
        image=image, command=command, detach=True, volumes=volumes, **run_args
    )
    try:
        status = container.wait()["StatusCode"]
        print(container.logs().decode(), end="")
        return status
    finally:
        container.remove(force=True)


def test_the_three_demo_paths_run_inside_the_image(tmp_path, config, monkeypatch):
    from kfp import local
    from kfp.local import docker_task_handler

    from driftgate.pipelines.demo import prepare
    from driftgate.pipelines.local_run import run_local

    # DockerRunner mounts only the pipeline root, at the same path: batches and registry live in it.
    work = tmp_path / "work"
    work.mkdir()
    steps = prepare(work)
    shutil.chown(work, UID, UID)
    for path in work.rglob("*"):
        shutil.chown(path, UID, UID)
    monkeypatch.setattr(docker_task_handler, "run_docker_container", run_container)
    image_config = config.model_copy(update={"image": os.environ["DRIFTGATE_IMAGE"]})
    runner = local.DockerRunner(
        network_mode="none", user=f"{UID}:{UID}", read_only=True, tmpfs={"/tmp": "rw,size=2g"}
    )
    registry = work / "registry"
    registry.mkdir()
    shutil.chown(registry, UID, UID)
    summaries = []
    for step in steps:
        started = time.monotonic()
        summary = run_local(
            image_config, str(step.batch), str(registry), output_root=work, runner=runner
        )
        summaries.append(summary)
        print(f"{step.title}: {time.monotonic() - started:.1f} s in containers")
        assert summary.succeeded, summary.error
    bootstrap, quiet, drifted = summaries
    assert bootstrap.output("push", "version") == 1
    assert quiet.skipped() == ["train", "evaluate", "push"]
    assert drifted.output("decide", "reason") == "drift in body_mass_g"
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
