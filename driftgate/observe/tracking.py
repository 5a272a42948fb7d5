"""Optional MLflow tracking and model registry for the runs that train.

With ``tracking.mlflow.uri`` set, the train, evaluate and push steps each log what they know to
one MLflow run per pipeline run (tagged ``driftgate_run``): the training settings and window as
params, the check's drift and performance values and the evaluation per slice as metrics, the
decision record, drift report and evaluation record as artifacts, and the candidate as an MLflow
model with a signature. A push registers a model version (tagged ``driftgate_version``) and the
alias ``champion`` follows driftgate's production pointer through pushes and rollbacks.

MLflow never fails a run: what could not be logged is named in the step's record and kept in an
outbox next to the registry (``<registry>/<model>/mlflow-outbox.jsonl``), which the next call
replays first. Requests the server refuses (4xx) are reported and not kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from driftgate.data.schema import FeatureKinds
from driftgate.observe.mlflow_rest import (
    MlflowRest,
    Rejected,
    Unavailable,
    flat,
    metric_key,
    mlmodel,
)
from driftgate.registry.store import Registry

log = logging.getLogger(__name__)
OUTBOX = "mlflow-outbox.jsonl"
RUN_TAG = "driftgate_run"
VERSION_TAG = "driftgate_version"
ALIAS = "champion"
MODEL_PATH = "model"


class TrainingSummary(Protocol):
    """What a training step reports that tracking logs (the train step's ``TrainResult``)."""

    hyperparameters: dict
    window_rows: int
    train_rows: int
    eval_rows: int
    history: dict[str, float]
    classes: list[str]


class MlflowSettings(BaseModel):
    """Where runs and model versions go.

    Attributes:
        uri: The tracking server (``http://mlflow.mlflow:5000``); unset: no tracking.
        experiment: The experiment runs are logged to.
        registered_model: Name in MLflow's model registry (default: the driftgate model name).
        secret: In the cluster, a Kubernetes Secret whose keys become the environment variables
            in ``secret_keys`` on the tracking steps.
        secret_keys: Secret key to environment variable (MLflow's own variable names).
        timeout_seconds: Per-request timeout.
    """

    model_config = ConfigDict(extra="forbid")

    uri: str | None = None
    experiment: str = "driftgate"
    registered_model: str | None = None
    secret: str | None = None
    secret_keys: dict[str, str] = {
        "username": "MLFLOW_TRACKING_USERNAME",
        "password": "MLFLOW_TRACKING_PASSWORD",
    }
    timeout_seconds: float = Field(10.0, gt=0)


class TrackingSettings(BaseModel):
    """Experiment tracking (``tracking.mlflow``).

    Attributes:
        mlflow: The MLflow server, experiment, registered model and credentials Secret (its
            ``uri`` unset, the default: nothing is tracked).
    """

    model_config = ConfigDict(extra="forbid")

    mlflow: MlflowSettings = MlflowSettings()


def log_training(
    settings: TrackingSettings,
    run: str,
    registry: Registry,
    training: BaseModel,
    result: TrainingSummary,
    check: dict,
    records: dict[str, Path],
    model_dir: Path,
    kinds: FeatureKinds,
) -> list[str]:
    """Logs a training run: settings and window, the check's values, records, the model.

    Args:
        settings: Where to log.
        run: The pipeline run's name (the MLflow run is found by it).
        registry: The model's registry (the outbox lives beside it).
        training: The training settings.
        result: The training summary (window, history, tuned hyperparameters).
        check: The check's findings (``CheckResult.summary()``).
        records: Artifact name to file (decision record, drift report).
        model_dir: The candidate.
        kinds: Its features, for the signature.

    Returns:
        What was and was not logged, one line each.
    """
    params = {
        **flat("training", training.model_dump()),
        **flat("tuned", result.hyperparameters),
        "window.rows": str(result.window_rows),
        "window.train_rows": str(result.train_rows),
        "window.eval_rows": str(result.eval_rows),
        "window.deployed_version": str(check.get("deployed_version")),
    }
    metrics = {
        **{metric_key("drift", "js", f): v for f, v in check.get("feature_js", {}).items()},
        **{metric_key("deployed", m): v for m, v in (check.get("performance") or {}).items()},
        **{metric_key("train", k): v for k, v in result.history.items()},
        "drift/detected": float(bool(check.get("drift_detected"))),
    }
    texts = {name: path.read_text() for name, path in records.items()}
    card = mlmodel(model_dir, MODEL_PATH, kinds, result.classes)
    return _submit(
        settings,
        registry,
        [
            {"op": "log", "run": run, "params": params, "metrics": metrics, "texts": texts},
            {"op": "model", "run": run, "dir": str(model_dir), "mlmodel": card},
        ],
    )


def log_evaluation(
    settings: TrackingSettings, run: str, registry: Registry, evaluation: dict, record: str
) -> list[str]:
    """Logs the candidate's and the baseline's metrics per slice and the evaluation record."""
    metrics = {
        metric_key(model, slice_, name): value
        for slice_, models in evaluation["metrics"].items()
        for model, values in models.items()
        for name, value in values.items()
        if isinstance(value, float | int) and value == value
    }
    metrics["blessed"] = float(evaluation["blessed"])
    texts = {"evaluation.md": record, "evaluation.json": json.dumps(evaluation, indent=2)}
    return _submit(
        settings,
        registry,
        [{"op": "log", "run": run, "params": {}, "metrics": metrics, "texts": texts, "end": True}],
    )


def log_push(settings: TrackingSettings, run: str, registry: Registry, version: int) -> list[str]:
    """Registers a pushed version and moves ``champion`` to the production version."""
    return _submit(settings, registry, [{"op": "register", "run": run, "version": version}])


def follow_production(settings: TrackingSettings, registry: Registry) -> list[str]:
    """Moves ``champion`` to the production version (after a rollback)."""
    return _submit(settings, registry, [{"op": "champion"}])


def markdown(lines: list[str]) -> str:
    """An ``## MLflow`` section for a step's record (empty when tracking is off)."""
    return "\n## MLflow\n\n" + "".join(f"- {line}\n" for line in lines) if lines else ""


@contextlib.contextmanager
def _outbox(registry: Registry) -> Iterator[Path]:
    path = registry.dir / OUTBOX
    registry.dir.mkdir(parents=True, exist_ok=True)
    with open(registry.dir / f".{OUTBOX}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def _submit(settings: TrackingSettings, registry: Registry, ops: list[dict]) -> list[str]:
    """Replays the outbox, then runs ``ops``; keeps what could not reach MLflow."""
    mlflow = settings.mlflow
    if not mlflow.uri:
        return []
    client = MlflowRest(mlflow.uri, mlflow.timeout_seconds)
    notes: list[str] = []
    try:
        with _outbox(registry) as outbox:
            pending = _read(outbox, notes)
            queue = [{**op, "old": True} for op in pending] + ops
            kept = []
            for op in queue:
                if kept:  # the server is down: keep the rest in order
                    kept.append(op)
                    continue
                try:
                    notes.append(_apply(client, mlflow, registry, op))
                except Unavailable as exc:
                    notes.append(f"MLflow NOT logged ({exc})")
                    kept.append(op)
                except (Rejected, OSError, KeyError, ValueError) as exc:  # retrying cannot help
                    notes.append(f"MLflow NOT logged, not retried: {_what(op)}: {exc}")
            if kept:
                text = "".join(
                    json.dumps({k: v for k, v in op.items() if k != "old"}) + "\n" for op in kept
                )
                outbox.write_text(text)
                what = ", ".join(_what(op) for op in kept)
                notes.append(f"MLflow: kept {what} in {outbox} for the next run")
            elif outbox.exists():
                outbox.unlink()
    except OSError as exc:  # the outbox itself cannot be written: say what was lost
        notes.append(
            f"MLflow NOT logged and not kept ({exc}): {', '.join(_what(op) for op in ops)}"
        )
    for note in notes:
        log.info("%s", note)
    return notes


def _read(outbox: Path, notes: list[str]) -> list[dict]:
    """The operations an earlier run kept (an unreadable line is reported and dropped)."""
    pending = []
    for line in outbox.read_text().splitlines() if outbox.exists() else []:
        try:
            pending.append(json.loads(line))
        except ValueError:
            notes.append(f"MLflow: dropped an unreadable line of {outbox}: {line[:80]!r}")
    return pending


def _what(op: dict) -> str:
    names = {
        "log": "params, metrics and records",
        "model": "the candidate model",
        "register": f"model version for driftgate version {op.get('version')}",
        "champion": f"the {ALIAS} alias",
    }
    earlier = " (from an earlier run)" if op.get("old") else ""
    run = f" of run {op['run']}" if "run" in op else ""
    return names[op["op"]] + run + earlier


def _apply(client: MlflowRest, mlflow: MlflowSettings, registry: Registry, op: dict) -> str:
    if op["op"] == "champion":
        return _champion(client, _model_name(mlflow, registry), registry)
    info = client.find_or_create_run(mlflow.experiment, RUN_TAG, op["run"])
    run_id, root = info["run_id"], info["artifact_uri"]
    if op["op"] == "log":
        client.log_batch(run_id, op["params"], op["metrics"])
        for name, text in op["texts"].items():
            client.upload(root, name, text.encode())
        if op.get("end"):
            client.finish(run_id)
        return (
            f"MLflow: logged {len(op['params'])} params, {len(op['metrics'])} metrics and "
            f"{len(op['texts'])} records to run {run_id}{' (earlier run)' if op.get('old') else ''}"
        )
    if op["op"] == "model":
        directory = Path(op["dir"])
        if not directory.is_dir():
            raise Rejected(f"{directory} no longer exists")
        count = client.upload_dir(root, MODEL_PATH, directory)
        client.upload(root, f"{MODEL_PATH}/MLmodel", op["mlmodel"].encode())
        return f"MLflow: logged the model ({count} files and MLmodel) to run {run_id}"
    return _register(client, mlflow, registry, op["version"], run_id, root)


def _model_name(mlflow: MlflowSettings, registry: Registry) -> str:
    return mlflow.registered_model or registry.model


def _register(
    client: MlflowRest,
    mlflow: MlflowSettings,
    registry: Registry,
    version: int,
    run_id: str,
    root: str,
) -> str:
    name = _model_name(mlflow, registry)
    if not client.has_artifact(run_id, f"{MODEL_PATH}/MLmodel"):  # training was not logged
        path, meta = registry.path(version), registry.metadata(version)
        features = meta["features"]
        kinds = FeatureKinds(
            meta["label"], tuple(features["numeric"]), tuple(features["categorical"])
        )
        client.upload_dir(root, MODEL_PATH, path)
        client.upload(
            root,
            f"{MODEL_PATH}/MLmodel",
            mlmodel(path, MODEL_PATH, kinds, meta["classes"]).encode(),
        )
    existing = client.versions_by_tag(name, VERSION_TAG)
    if version not in existing:
        tags = {VERSION_TAG: str(version)}
        existing[version] = client.register(name, run_id, f"{root}/{MODEL_PATH}", tags)
    champion = _champion(client, name, registry, existing)
    return (
        f"MLflow: registered {name} version {existing[version]} "
        f"(driftgate version {version}); {champion}"
    )


def _champion(
    client: MlflowRest, name: str, registry: Registry, known: dict[int, str] | None = None
) -> str:
    production = registry.production()
    versions = known if known is not None else client.versions_by_tag(name, VERSION_TAG)
    if production is None or production not in versions:
        return f"alias {ALIAS} not moved: production version {production} has no MLflow version"
    client.set_alias(name, ALIAS, versions[production])
    return (
        f"alias {ALIAS} -> {name} version {versions[production]} (driftgate version {production})"
    )
