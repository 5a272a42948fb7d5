"""Cluster settings of the pipeline (resources, GPUs, volumes, retries), compiled into its YAML.

Everything a platform engineer changes when moving to another cluster lives here and in the
config file; nothing is hard-coded in the pipeline. KFP's local runner ignores these settings.
"""

from __future__ import annotations

from typing import Literal

from kfp import kubernetes
from kfp.dsl import PipelineTask
from pydantic import BaseModel, ConfigDict, Field, model_validator

from driftgate.observe.alerts import AlertSettings
from driftgate.observe.tracking import TrackingSettings
from driftgate.pipelines.steps import ALERTING, ALWAYS_FRESH, MODEL_STEPS, STEPS, TRACKING
from driftgate.registry.integrity import KEY_ENV

QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"
DURATION = r"^[0-9]+s$"
ABSOLUTE = r"^/"


class Toleration(BaseModel):
    """A Kubernetes toleration for the training pod.

    Attributes:
        key: The taint key it matches (null, with ``Exists``: every taint key).
        operator: ``Exists`` matches the key whatever its value; ``Equal`` only ``value``.
        value: The taint value ``Equal`` compares with (null with ``Exists``: any value).
        effect: The taint effect it tolerates (null: every effect).
        toleration_seconds: With ``NoExecute``, seconds the pod stays on a node after the taint
            appears before it is evicted (null: it stays).
    """

    model_config = ConfigDict(extra="forbid")

    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = "NoSchedule"
    toleration_seconds: int | None = Field(None, ge=0)


class StepSettings(BaseModel):
    """Resources and run policy of one step; unset fields fall back to ``defaults``.

    Attributes:
        cpu_request: CPU the step's pod requests, a Kubernetes quantity (``500m``: half a core;
            null: from ``defaults``, else none requested).
        cpu_limit: The most CPU the pod may use, a Kubernetes quantity (null: from
            ``defaults``, else no limit).
        memory_request: Memory the pod requests, a Kubernetes quantity (``1Gi``; null: from
            ``defaults``, else none requested).
        memory_limit: The most memory the pod may use before it is killed, a Kubernetes
            quantity (``4Gi``; null: from ``defaults``, else no limit).
        timeout_seconds: Seconds the pod may run before Kubernetes stops it and the step fails
            (``activeDeadlineSeconds``; null: from ``defaults``, else no timeout).
        caching: Whether KFP may reuse an earlier run's outputs for the same inputs (null: from
            ``defaults``, else on, except for ingest, validate and check, which stay uncached).
        retries: Times KFP reruns the step after it fails, 0 to 10 (null: from ``defaults``,
            else no retry).
        retry_backoff: Wait before the first retry in seconds (``120s``), doubled for each
            further one (null: from ``defaults``, else retry at once).
    """

    model_config = ConfigDict(extra="forbid")

    cpu_request: str | None = Field(None, pattern=QUANTITY)
    cpu_limit: str | None = Field(None, pattern=QUANTITY)
    memory_request: str | None = Field(None, pattern=QUANTITY)
    memory_limit: str | None = Field(None, pattern=QUANTITY)
    timeout_seconds: int | None = Field(None, ge=1)
    caching: bool | None = None
    retries: int | None = Field(None, ge=0, le=10)
    retry_backoff: str | None = Field(None, pattern=DURATION)

    def over(self, base: StepSettings) -> StepSettings:
        """These settings, with unset fields taken from ``base``."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


class GpuSettings(BaseModel):
    """Where and on what the train step runs when GPUs are enabled.

    The defaults fit the NVIDIA GPU operator: nodes labelled ``nvidia.com/gpu.present=true``
    and tainted ``nvidia.com/gpu:NoSchedule``.

    Attributes:
        enabled: Puts the train step on a GPU node: it requests ``count`` ``accelerator``
            devices, with ``node_selector`` and ``tolerations`` (false: it runs on CPU like the
            other steps and the fields below are not used).
        accelerator: The extended resource the train pod requests (``nvidia.com/gpu``: the
            NVIDIA device plugin's).
        count: Accelerators the train pod requests, its resource limit; ``replay`` counts
            GPU-hours as training seconds × this.
        node_selector: Node labels the train pod must land on, label to value (the default:
            nodes the GPU operator marks as having a GPU).
        tolerations: Taints of the GPU nodes the train pod tolerates (the default: the GPU
            operator's ``nvidia.com/gpu`` taint, any value, effect ``NoSchedule``).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    accelerator: str = "nvidia.com/gpu"
    count: int = Field(1, ge=1)
    node_selector: dict[str, str] = {"nvidia.com/gpu.present": "true"}
    tolerations: list[Toleration] = [Toleration(key="nvidia.com/gpu")]


class PlatformSettings(BaseModel):
    """Cluster settings compiled into the pipeline.

    Attributes:
        service_account: The Kubernetes service account runs use (``driftgate submit`` and
            ``schedule`` send it; manifests/base creates it).
        image_pull_secrets: Secrets for pulling the component image.
        registry_pvc: PVC mounted at ``registry_mount_path`` on every step (each reads or writes
            the registry or its batch ledger; null: the registry is reachable otherwise).
        registry_mount_path: Absolute path where ``registry_pvc`` is mounted in each step's pod;
            while it is set, ``registry_uri`` must lie under this path (checked on loading).
        data_pvc: PVC with incoming batches, mounted at ``data_mount_path`` on ingest.
        data_mount_path: Absolute path where ``data_pvc`` is mounted in the ingest pod; while it
            is set, a local ``batch_uri`` must lie under this path (checked on loading).
        signing_secret: Secret holding the manifest signing key (README, "Tamper evidence"),
            mounted read-only at ``signing_mount_path`` on the steps that verify, load, write
            or sign models, with ``$DRIFTGATE_SIGNING_KEY_FILE`` naming its
            ``signing_secret_key`` file there (null: signing off).
        signing_secret_key: The key in ``signing_secret`` that holds the signing key; it is
            the file name under ``signing_mount_path``.
        signing_mount_path: Absolute path where ``signing_secret`` is mounted, read-only, in
            the pods of the steps that verify, load, write or sign models.
        defaults: Resources, timeout and retries of every step.
        steps: Per-step overrides (``train``, ``evaluate``, …).
        gpu: The train step's accelerator, node selector and tolerations.
    """

    model_config = ConfigDict(extra="forbid")

    service_account: str | None = "driftgate-pipeline"
    image_pull_secrets: list[str] = []
    registry_pvc: str | None = "driftgate-registry"
    registry_mount_path: str = Field("/registry", pattern=ABSOLUTE)
    data_pvc: str | None = None
    data_mount_path: str = Field("/data", pattern=ABSOLUTE)
    signing_secret: str | None = None
    signing_secret_key: str = "key"
    signing_mount_path: str = Field("/var/run/secrets/driftgate-signing", pattern=ABSOLUTE)
    defaults: StepSettings = StepSettings(
        cpu_request="500m",
        memory_request="1Gi",
        memory_limit="4Gi",
        timeout_seconds=1800,
        retries=0,
    )
    steps: dict[Literal[STEPS], StepSettings] = {  # type: ignore[valid-type]
        "train": StepSettings(
            cpu_request="2",
            memory_request="8Gi",
            memory_limit="16Gi",
            timeout_seconds=4 * 3600,
            retries=2,
            retry_backoff="120s",
        ),
        "evaluate": StepSettings(cpu_request="1", memory_request="4Gi", memory_limit="8Gi"),
    }
    gpu: GpuSettings = GpuSettings()

    @model_validator(mode="after")
    def _fresh_gate(self) -> PlatformSettings:
        for step in ALWAYS_FRESH:
            if self.for_step(step).caching:
                raise ValueError(
                    f"caching must stay off for {step}: a recurring run with the same parameters "
                    "over fresh data would reuse an earlier run's answer"
                )
        return self

    def for_step(self, step: str) -> StepSettings:
        """The effective settings of a step."""
        return self.steps.get(step, StepSettings()).over(self.defaults)


def apply_platform(
    tasks: dict[str, PipelineTask],
    platform: PlatformSettings,
    alerts: AlertSettings,
    tracking: TrackingSettings | None = None,
) -> None:
    """Applies resources, caching, timeouts, retries, volumes, secrets and GPU placement.

    Args:
        tasks: The pipeline's tasks by step name.
        platform: The cluster settings.
        alerts: Where the alerting steps find the webhook Secret.
        tracking: Where the tracking steps find the MLflow credentials Secret.
    """
    for step, task in tasks.items():
        settings = platform.for_step(step)
        for value, setter in (
            (settings.cpu_request, task.set_cpu_request),
            (settings.cpu_limit, task.set_cpu_limit),
            (settings.memory_request, task.set_memory_request),
            (settings.memory_limit, task.set_memory_limit),
        ):
            if value is not None:
                setter(value)
        caching = settings.caching if settings.caching is not None else step not in ALWAYS_FRESH
        task.set_caching_options(caching)
        if settings.timeout_seconds:
            kubernetes.set_timeout(task, settings.timeout_seconds)
        if settings.retries:
            task.set_retry(
                settings.retries, backoff_duration=settings.retry_backoff, backoff_factor=2.0
            )
        if platform.image_pull_secrets:
            kubernetes.set_image_pull_secrets(task, list(platform.image_pull_secrets))
        if platform.registry_pvc:  # every step reads or writes the registry or its ledger
            kubernetes.mount_pvc(
                task, pvc_name=platform.registry_pvc, mount_path=platform.registry_mount_path
            )
        if platform.data_pvc and step == "ingest":
            kubernetes.mount_pvc(
                task, pvc_name=platform.data_pvc, mount_path=platform.data_mount_path
            )
        if alerts.webhook_secret and step in ALERTING:
            kubernetes.use_secret_as_env(
                task, alerts.webhook_secret, {alerts.webhook_secret_key: alerts.webhook_url_env}
            )
        if platform.signing_secret and step in MODEL_STEPS:
            kubernetes.use_secret_as_volume(
                task, platform.signing_secret, mount_path=platform.signing_mount_path
            )
            task.set_env_variable(
                KEY_ENV, f"{platform.signing_mount_path}/{platform.signing_secret_key}"
            )
        mlflow = tracking.mlflow if tracking else None
        if mlflow and mlflow.uri and mlflow.secret and step in TRACKING:
            kubernetes.use_secret_as_env(task, mlflow.secret, dict(mlflow.secret_keys))
    if platform.gpu.enabled:
        _place_on_gpu(tasks["train"], platform.gpu)


def _place_on_gpu(task: PipelineTask, gpu: GpuSettings) -> None:
    task.set_accelerator_type(gpu.accelerator).set_accelerator_limit(gpu.count)
    for key, value in gpu.node_selector.items():
        kubernetes.add_node_selector(task, label_key=key, label_value=value)
    for toleration in gpu.tolerations:
        kubernetes.add_toleration(
            task,
            key=toleration.key,
            operator=toleration.operator,
            value=toleration.value,
            effect=toleration.effect,
            toleration_seconds=toleration.toleration_seconds,
        )
