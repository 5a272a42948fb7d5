"""Submitting the pipeline to a Kubeflow Pipelines endpoint: one run, or a recurring run.

The request bodies are built here, field for field as ``kfp.Client.run_pipeline`` and
``create_recurring_run`` build them, so ``--dry-run`` can print exactly what would be sent
without contacting the endpoint. Sending goes through ``kfp.Client``'s public methods.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kfp_server_api
import yaml

from driftgate.errors import ConfigError
from driftgate.pipelines.config import Config
from driftgate.pipelines.cron import Cron
from driftgate.pipelines.retrain import compile_pipeline

PARSERS = {
    "STRING": str,
    "NUMBER_INTEGER": int,
    "NUMBER_DOUBLE": float,
    "BOOLEAN": lambda text: {"true": True, "false": False}[text.lower()],
}


@dataclass
class Submission:
    """A request to send: where, under which experiment, and the exact body."""

    host: str
    namespace: str | None
    experiment: str
    package: Path
    params: dict[str, Any]
    kind: str  # "run" or "recurring_run"
    body: Any  # kfp_server_api.V2beta1Run or V2beta1RecurringRun

    def preview(self) -> dict:
        """The request as JSON, exactly as the KFP client serialises it."""
        endpoint = "runs" if self.kind == "run" else "recurringruns"
        return {
            "request": f"POST {self.host.rstrip('/')}/apis/v2beta1/{endpoint}",
            "experiment": f"{self.experiment} (created if missing; its id fills experiment_id)",
            "namespace": self.namespace,
            "body": kfp_server_api.ApiClient().sanitize_for_serialization(self.body),
        }


def compile_package(config: Config) -> Path:
    """Compiles the pipeline for ``config`` to a temporary YAML package."""
    return compile_pipeline(config, Path(tempfile.mkdtemp(prefix="driftgate-")) / "retrain.yaml")


def parse_params(package: Path, pairs: list[str]) -> dict[str, Any]:
    """Parses ``key=value`` pairs into typed pipeline parameters.

    Raises:
        ConfigError: A pair is malformed, names no parameter of the pipeline, or has the wrong type.
    """
    spec = next(yaml.safe_load_all(package.read_text()))
    declared = spec["root"]["inputDefinitions"]["parameters"]
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise ConfigError(f"{pair!r} is not key=value", file="--param")
        if key not in declared:
            raise ConfigError(
                f"{key!r} is not a pipeline parameter",
                file="--param",
                hint=f"choose from {', '.join(sorted(declared))}",
            )
        kind = declared[key]["parameterType"]
        try:
            params[key] = PARSERS[kind](text)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{key}={text!r} is not a {kind.lower()}", file="--param") from exc
    return params


def _pipeline_spec(package: Path) -> dict:
    """The package as ``kfp.Client`` sends it: pipeline spec plus platform spec."""
    docs = list(yaml.safe_load_all(package.read_text()))
    return {"pipeline_spec": docs[0], "platform_spec": docs[1]} if len(docs) > 1 else docs[0]


def rfc3339(text: str | None, flag: str) -> str | None:
    """Normalises an ISO date or time to RFC 3339 in UTC (dates mean midnight UTC)."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"{text!r} is not an ISO date or time (2026-12-01T03:00)", file=flag
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_request(
    config: Config,
    package: Path,
    params: dict,
    *,
    host: str,
    namespace: str | None,
    experiment: str,
    run_name: str | None,
) -> Submission:
    """A one-off run of the compiled pipeline."""
    name = run_name or f"{config.model_name}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    body = kfp_server_api.V2beta1Run(
        display_name=name,
        pipeline_spec=_pipeline_spec(package),
        runtime_config=kfp_server_api.V2beta1RuntimeConfig(parameters=params),
        service_account=config.platform.service_account,
    )
    return Submission(host, namespace, experiment, package, params, "run", body)


def recurring_request(
    config: Config,
    package: Path,
    params: dict,
    *,
    host: str,
    namespace: str | None,
    experiment: str,
    name: str | None,
    cron: Cron,
    max_concurrency: int,
    no_catchup: bool,
    start: str | None,
    end: str | None,
    enabled: bool,
) -> Submission:
    """A recurring run on a cron schedule."""
    trigger = kfp_server_api.V2beta1Trigger(
        cron_schedule=kfp_server_api.V2beta1CronSchedule(
            start_time=rfc3339(start, "--start"),
            end_time=rfc3339(end, "--end"),
            cron=cron.expression,
        )
    )
    body = kfp_server_api.V2beta1RecurringRun(
        display_name=name or f"{config.model_name}-drift-gate",
        description=f"driftgate: drift-gated retraining of {config.model_name} ({cron.expression})",
        mode=kfp_server_api.RecurringRunMode.ENABLE
        if enabled
        else kfp_server_api.RecurringRunMode.DISABLE,
        pipeline_spec=_pipeline_spec(package),
        runtime_config=kfp_server_api.V2beta1RuntimeConfig(parameters=params),
        trigger=trigger,
        max_concurrency=max_concurrency,
        no_catchup=no_catchup,
        service_account=config.platform.service_account,
    )
    return Submission(host, namespace, experiment, package, params, "recurring_run", body)


def send(submission: Submission) -> str:
    """Sends the request with ``kfp.Client`` and returns the new run's or recurring run's id."""
    import kfp

    client = kfp.Client(host=submission.host, namespace=submission.namespace)
    experiment = client.create_experiment(submission.experiment, namespace=submission.namespace)
    body = submission.body
    if submission.kind == "run":
        run = client.run_pipeline(
            experiment_id=experiment.experiment_id,
            job_name=body.display_name,
            pipeline_package_path=str(submission.package),
            params=submission.params,
            service_account=body.service_account,
        )
        return run.run_id
    schedule = body.trigger.cron_schedule
    recurring = client.create_recurring_run(
        experiment_id=experiment.experiment_id,
        job_name=body.display_name,
        description=body.description,
        start_time=schedule.start_time,
        end_time=schedule.end_time,
        cron_expression=schedule.cron,
        max_concurrency=body.max_concurrency,
        no_catchup=body.no_catchup,
        params=submission.params,
        pipeline_package_path=str(submission.package),
        enabled=body.mode == kfp_server_api.RecurringRunMode.ENABLE,
        service_account=body.service_account,
    )
    return recurring.recurring_run_id


def preview_json(submission: Submission) -> str:
    """The preview, pretty-printed."""
    return json.dumps(submission.preview(), indent=2, sort_keys=True)
