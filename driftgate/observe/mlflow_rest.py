"""A small MLflow client over MLflow's documented REST API, using only the standard library.

driftgate cannot install the ``mlflow`` client next to its own pins, so it speaks the tracking
server's REST API (``/api/2.0/mlflow/...``) and uploads artifacts through the server's artifact
proxy (``/api/2.0/mlflow-artifacts/artifacts/...``, on by default in ``mlflow server``).
Credentials follow MLflow's own environment variables: ``MLFLOW_TRACKING_TOKEN`` (bearer) or
``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD`` (basic).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import yaml

from driftgate.data.schema import FeatureKinds

API = "/api/2.0/mlflow/"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts/"
PROXIED_SCHEME = "mlflow-artifacts:"


class Unavailable(Exception):
    """The server could not be reached or failed (5xx): worth trying again later."""


class Rejected(Exception):
    """The server refused the request (4xx): trying again would not help."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class MlflowRest:
    """Calls to one MLflow tracking server."""

    def __init__(self, uri: str, timeout: float) -> None:
        self.uri = uri.rstrip("/")
        self.timeout = timeout
        self._experiments: dict[str, str] = {}

    def _headers(self) -> dict[str, str]:
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user = os.environ.get("MLFLOW_TRACKING_USERNAME")
        if token:
            return {"Authorization": f"Bearer {token}"}
        if user:
            secret = f"{user}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}".encode()
            return {"Authorization": "Basic " + base64.b64encode(secret).decode()}
        return {}

    def _send(self, method: str, url: str, data: bytes | None, content_type: str) -> bytes:
        headers = {**self._headers(), "Content-Type": content_type}
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            try:
                detail = json.loads(body)
            except ValueError:
                detail = {"message": body[:200]}
            message = f"{method} {url}: HTTP {exc.code}: {detail.get('message', '')}".strip()
            if exc.code >= 500 or exc.code == 429:
                raise Unavailable(message) from exc
            raise Rejected(message, detail.get("error_code", "")) from exc
        except (OSError, urllib.error.URLError) as exc:
            raise Unavailable(f"{self.uri} unreachable: {getattr(exc, 'reason', exc)}") from exc

    def call(self, method: str, endpoint: str, body: dict | None = None) -> dict:
        """One REST call; GET bodies go into the query string."""
        url = self.uri + API + endpoint
        data = None
        if method == "GET" and body:
            url += "?" + urllib.parse.urlencode(body)
        elif body is not None:
            data = json.dumps(body).encode()
        raw = self._send(method, url, data, "application/json")
        return json.loads(raw) if raw.strip() else {}

    def experiment_id(self, name: str) -> str:
        """The id of an experiment, created when missing."""
        if name not in self._experiments:
            try:
                found = self.call("GET", "experiments/get-by-name", {"experiment_name": name})
                self._experiments[name] = found["experiment"]["experiment_id"]
            except Rejected as exc:
                if exc.code != "RESOURCE_DOES_NOT_EXIST":
                    raise
                created = self.call("POST", "experiments/create", {"name": name})
                self._experiments[name] = created["experiment_id"]
        return self._experiments[name]

    def find_or_create_run(self, experiment: str, tag: str, value: str) -> dict:
        """The run of ``experiment`` tagged ``tag=value`` (its ``info``), created when missing."""
        experiment_id = self.experiment_id(experiment)
        found = self.call(
            "POST",
            "runs/search",
            {"experiment_ids": [experiment_id], "filter": f"tags.{tag} = '{value}'"},
        )
        if found.get("runs"):
            return found["runs"][0]["info"]
        created = self.call(
            "POST",
            "runs/create",
            {
                "experiment_id": experiment_id,
                "run_name": value,
                "start_time": int(time.time() * 1000),
                "tags": [{"key": tag, "value": value}],
            },
        )
        return created["run"]["info"]

    def log_batch(self, run_id: str, params: dict[str, str], metrics: dict[str, float]) -> None:
        """Logs params and metrics in batches within the server's limits."""
        now = int(time.time() * 1000)
        items = [("params", {"key": k, "value": v}) for k, v in params.items()]
        items += [
            ("metrics", {"key": k, "value": v, "timestamp": now, "step": 0})
            for k, v in metrics.items()
        ]
        for start in range(0, len(items), 100):
            body: dict = {"run_id": run_id, "params": [], "metrics": []}
            for kind, item in items[start : start + 100]:
                body[kind].append(item)
            self.call("POST", "runs/log-batch", body)

    def finish(self, run_id: str) -> None:
        """Marks a run finished."""
        end = int(time.time() * 1000)
        self.call("POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": end})

    def upload(self, artifact_uri: str, path: str, data: bytes) -> None:
        """Uploads one file under a run's artifact root through the server's artifact proxy."""
        if not artifact_uri.startswith(PROXIED_SCHEME):
            raise Rejected(
                f"the run's artifact root {artifact_uri} is not proxied by the server: start "
                "mlflow server with --serve-artifacts"
            )
        root = urllib.parse.urlparse(artifact_uri).path.lstrip("/")
        url = self.uri + ARTIFACTS_API + urllib.parse.quote(f"{root}/{path}")
        self._send("PUT", url, data, "application/octet-stream")

    def upload_dir(self, artifact_uri: str, prefix: str, directory: Path) -> int:
        """Uploads every file under ``directory`` to ``prefix``; returns the number of files."""
        files = sorted(p for p in directory.rglob("*") if p.is_file())
        for file in files:
            self.upload(artifact_uri, f"{prefix}/{file.relative_to(directory)}", file.read_bytes())
        return len(files)

    def has_artifact(self, run_id: str, path: str) -> bool:
        """Whether the run has an artifact at ``path``."""
        listed = self.call(
            "GET", "artifacts/list", {"run_id": run_id, "path": path.rsplit("/", 1)[0]}
        )
        return any(f.get("path") == path for f in listed.get("files", []))

    def register(self, name: str, run_id: str, source: str, tags: dict[str, str]) -> str:
        """Creates a model version of ``name`` (and the registered model); returns its number."""
        with contextlib.suppress(Rejected):  # the registered model exists already
            self.call("POST", "registered-models/create", {"name": name})
        tag_list = [{"key": k, "value": v} for k, v in tags.items()]
        body = {"name": name, "source": source, "run_id": run_id, "tags": tag_list}
        return self.call("POST", "model-versions/create", body)["model_version"]["version"]

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Points ``alias`` of the registered model ``name`` at ``version``."""
        body = {"name": name, "alias": alias, "version": version}
        self.call("POST", "registered-models/alias", body)

    def versions_by_tag(self, name: str, tag: str) -> dict[int, str]:
        """Registered model versions of ``name`` by the integer value of their ``tag``."""
        found = self.call(
            "GET", "model-versions/search", {"filter": f"name='{name}'", "max_results": 10000}
        )
        return {
            int(t["value"]): mv["version"]
            for mv in found.get("model_versions", [])
            for t in mv.get("tags", [])
            if t["key"] == tag
        }


def signature(kinds: FeatureKinds, classes: list[str]) -> dict[str, str]:
    """An MLflow model signature: raw feature columns in, one probability per class out."""
    inputs = [{"type": "double", "name": n, "required": True} for n in kinds.numeric]
    inputs += [{"type": "string", "name": n, "required": True} for n in kinds.categorical]
    outputs = [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, len(classes)]}}]
    return {"inputs": json.dumps(inputs), "outputs": json.dumps(outputs), "params": None}


def mlmodel(model_dir: Path, artifact_path: str, kinds: FeatureKinds, classes: list[str]) -> str:
    """The ``MLmodel`` file describing a driftgate model directory."""
    keras = (model_dir / "saved_model.pb").exists()
    return yaml.safe_dump(
        {
            "artifact_path": artifact_path,
            "model_uuid": uuid.uuid4().hex,
            "flavors": {
                "driftgate": {
                    "format": "saved_model" if keras else "joblib",
                    "serving_signature": "serving_default" if keras else None,
                    "classes": list(classes),
                }
            },
            "signature": signature(kinds, classes),
        },
        sort_keys=False,
    )


def flat(prefix: str, value: object) -> dict[str, str]:
    """Nested settings as ``a.b.c`` params."""
    if isinstance(value, dict):
        return {
            k: v for key, item in value.items() for k, v in flat(f"{prefix}.{key}", item).items()
        }
    return {prefix: json.dumps(value) if isinstance(value, list) else str(value)}


def metric_key(*parts: str) -> str:
    """A metric name MLflow accepts (``candidate/island:Torgersen/accuracy``)."""
    return "/".join(re.sub(r"[^\w.\- :]", ":", str(p)) for p in parts)
