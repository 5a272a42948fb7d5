"""MLflow tracking against a real MLflow tracking server on loopback.

The server (``mlflow server``, SQLite backend, local artifact root) runs from its own virtual
environment, ``.venv-mlflow``, created here from ``requirements-mlflow.lock`` when missing (its
pins clash with driftgate's), and is stopped by its PID. Everything is read back through
``MlflowClient`` in that environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from side_env import ensure_env

from driftgate.observe.tracking import OUTBOX, MlflowSettings, TrackingSettings, log_push
from driftgate.pipelines.cli import main
from driftgate.pipelines.config import Config, load_config, parse_config
from driftgate.pipelines.demo import PATHS, prepare
from driftgate.pipelines.local_run import run_local
from driftgate.pipelines.retrain import compile_pipeline
from driftgate.registry.store import Registry

ROOT = Path(__file__).parent.parent
VENV = ROOT / ".venv-mlflow"
LOCK = ROOT / "requirements-mlflow.lock"
pytestmark = pytest.mark.slow
READ_BACK = """
import json, sys
import mlflow
from mlflow import MlflowClient
from mlflow.models import Model

uri, name = sys.argv[1:3]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
experiment = client.get_experiment_by_name("driftgate")
out = {"runs": {}, "versions": {}}
for run in client.search_runs([experiment.experiment_id]):
    artifacts = [a.path for a in client.list_artifacts(run.info.run_id)]
    artifacts += [a.path for a in client.list_artifacts(run.info.run_id, "model")]
    out["runs"][run.data.tags["driftgate_run"]] = {
        "id": run.info.run_id, "params": run.data.params, "metrics": run.data.metrics,
        "artifacts": artifacts, "status": run.info.status,
    }
for version in client.search_model_versions(f"name='{name}'"):
    out["versions"][version.tags["driftgate_version"]] = {
        "version": version.version, "run_id": version.run_id
    }
out["champion"] = client.get_model_version_by_alias(name, "champion").version
out["signature"] = Model.load(f"models:/{name}@champion").signature.to_dict()
print(json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlflow_venv() -> Path:
    """The server's virtual environment, installed from its lock when missing or stale."""
    return ensure_env(VENV, LOCK, "-r", str(LOCK))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real MLflow tracking server on 127.0.0.1; yields its URI."""
    bin_dir = mlflow_venv()
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    with open(root / "server.log", "w") as log:
        command = [str(bin_dir / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--workers", "1"]
        command += ["--artifacts-destination", str(root / "artifacts")]
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (root / "server.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "mlflow server did not start in 180 s"
                time.sleep(1)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its uvicorn worker
        process.wait(timeout=60)


def read_back(uri: str, name: str) -> dict:
    result = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", READ_BACK, uri, name],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def tracked(uri: str) -> Config:
    """The penguins config, tracking to ``uri``."""
    tracking = TrackingSettings(mlflow=MlflowSettings(uri=uri, timeout_seconds=30))
    return load_config(None).model_copy(update={"tracking": tracking})


@pytest.fixture(scope="module")
def story(server, tmp_path_factory):
    """Bootstrap while MLflow is down, a drifted batch once it is up, then a rollback."""
    work = tmp_path_factory.mktemp("tracked")
    story = prepare(work)  # the pipeline's three paths, picked from the demo's story
    bootstrap, _, drifted = (next(s for s in story if s.path == p) for p in PATHS)
    registry = work / "registry"
    down = run_local(
        tracked(f"http://127.0.0.1:{free_port()}"),
        str(bootstrap.batch),
        str(registry),
        output_root=work / "runs",
    )
    assert down.succeeded, down.error
    outbox = (registry / "penguins" / OUTBOX).read_text()
    up = run_local(tracked(server), str(drifted.batch), str(registry), output_root=work / "runs")
    assert up.succeeded, up.error
    after_up = read_back(server, "penguins")
    config_file = work / "tracked.yaml"
    config_file.write_text(yaml.safe_dump(tracked(server).model_dump(mode="json")))
    return {
        "work": work,
        "registry": registry,
        "down": down,
        "up": up,
        "outbox": outbox,
        "after_up": after_up,
        "config_file": config_file,
    }


def run_name(summary) -> str:
    return summary.run_dir.name


def test_mlflow_down_fails_nothing_loses_no_push_and_says_what_was_kept(story):
    down = story["down"]
    assert down.output("push", "version") == 1 and down.output("push", "promoted") is True
    assert Registry(story["registry"], "penguins").versions() == [1, 2]
    push_record = down.tasks["push"].artifact("record").read_text()
    assert "version 1 is now production" in push_record
    assert "MLflow NOT logged" in push_record and OUTBOX in push_record
    evaluate_record = down.tasks["evaluate"].artifact("record").read_text()
    assert "## MLflow" in evaluate_record and "kept" in evaluate_record
    kinds = [json.loads(line)["op"] for line in story["outbox"].splitlines()]
    assert kinds == ["log", "model", "log", "register"]


def test_the_next_run_logs_what_was_kept_and_its_own_run(story):
    assert not (story["registry"] / "penguins" / OUTBOX).exists()
    runs = story["after_up"]["runs"]
    first, second = runs[run_name(story["down"])], runs[run_name(story["up"])]
    for run in (first, second):
        assert run["params"]["training.family"] == "keras"
        assert int(run["params"]["window.train_rows"]) > 0
        assert run["metrics"]["blessed"] == 1.0
        assert 0.5 < run["metrics"]["candidate/overall/accuracy"] <= 1.0
        assert {"decision.md", "drift_report.html", "evaluation.md", "evaluation.json"} <= set(
            run["artifacts"]
        )
        assert {"model/MLmodel", "model/saved_model.pb"} <= set(run["artifacts"])
    assert second["params"]["window.deployed_version"] == "1"
    assert second["metrics"]["drift/js/flipper_length_mm"] > 0.1  # flippers in centimetres
    assert second["metrics"]["drift/detected"] == 1.0
    assert "deployed/accuracy" in second["metrics"]
    assert "baseline/overall/accuracy" in second["metrics"]
    assert any(k.startswith("candidate/island:") for k in second["metrics"])
    assert (
        "MLflow: registered penguins version"
        in story["up"].tasks["push"].artifact("record").read_text()
    )


def test_pushes_register_versions_and_champion_follows_production(story):
    state = story["after_up"]
    versions = state["versions"]
    assert set(versions) == {"1", "2"}
    runs = state["runs"]
    assert versions["1"]["run_id"] == runs[run_name(story["down"])]["id"]
    assert versions["2"]["run_id"] == runs[run_name(story["up"])]["id"]
    assert state["champion"] == versions["2"]["version"]
    inputs = {c["name"]: c["type"] for c in json.loads(state["signature"]["inputs"])}
    assert inputs["island"] == "string" and inputs["body_mass_g"] == "double"
    (output,) = json.loads(state["signature"]["outputs"])
    assert output["tensor-spec"]["shape"] == [-1, 3]


def test_rollback_moves_champion(story, server, capsys):
    code = main(
        ["rollback", "--registry", str(story["registry"]), "--config", str(story["config_file"])]
    )
    assert code == 0
    assert "alias champion ->" in capsys.readouterr().out
    state = read_back(server, "penguins")
    assert state["champion"] == state["versions"]["1"]["version"]


def test_credentials_come_from_the_secret_on_the_tracking_steps(tmp_path):
    config = parse_config(
        "data: {label: species}\n"
        "tracking: {mlflow: {uri: 'http://mlflow:5000', secret: driftgate-mlflow}}",
        "c.yaml",
    )
    _, platform = yaml.safe_load_all(compile_pipeline(config, tmp_path / "p.yaml").read_text())
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for step in ("train", "evaluate", "push"):
        (secret,) = executors[f"exec-{step}"]["secretAsEnv"]
        assert secret["secretName"] == "driftgate-mlflow" or secret["secretNameParameter"]
        keys = {m["secretKey"]: m["envVar"] for m in secret["keyToEnv"]}
        assert keys == {
            "username": "MLFLOW_TRACKING_USERNAME",
            "password": "MLFLOW_TRACKING_PASSWORD",
        }
    assert "secretAsEnv" not in executors["exec-check"]


def test_a_push_whose_training_was_never_logged_is_registered_from_the_registry(
    story, server, tmp_path
):
    copy = tmp_path / "registry"
    shutil.copytree(story["registry"], copy)
    registry = Registry(copy, "penguins")
    (registry.dir / OUTBOX).write_text("{not json\n")
    settings = TrackingSettings(mlflow=MlflowSettings(uri=server, registered_model="fallback"))
    notes = log_push(settings, "run-never-logged", registry, registry.production())
    assert any("unreadable line" in note for note in notes)
    assert any("registered fallback version 1" in note for note in notes), notes
    assert not (registry.dir / OUTBOX).exists()
    state = read_back(server, "fallback")
    assert state["champion"] == "1"
    assert "model/MLmodel" in state["runs"]["run-never-logged"]["artifacts"]
    inputs = {c["name"]: c["type"] for c in json.loads(state["signature"]["inputs"])}
    assert inputs["island"] == "string" and inputs["flipper_length_mm"] == "double"
