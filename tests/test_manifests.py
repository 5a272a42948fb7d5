"""Manifests render, validate strictly against a pinned Kubernetes, and meet the security policy;
the Dockerfile lints clean; GPU settings reach the compiled pipeline only when enabled."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from driftgate.pipelines.config import parse_config
from driftgate.pipelines.retrain import compile_pipeline
from driftgate.pipelines.steps import MODEL_STEPS, STEPS
from driftgate.registry.integrity import KEY_ENV

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
KUBERNETES = "1.31.0"
OVERLAYS = ["dev", "gpu", "prod"]
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}
MAY_AUTOMOUNT = {("ServiceAccount", "driftgate-pipeline")}  # KFP's launcher and Argo use the API


def render(overlay: str) -> list[dict]:
    out = subprocess.run(
        [str(BIN / "kubectl"), "kustomize", str(ROOT / "manifests" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request):
    return request.param, render(request.param)


def pod_spec(obj: dict) -> dict:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec if obj["kind"] == "Pod" else spec["template"]["spec"]


def test_every_overlay_passes_strict_schema_validation(rendered, tmp_path):
    overlay, objects = rendered
    path = tmp_path / f"{overlay}.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    result = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "-k", KUBERNETES, "--quiet", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(objects) >= 10


def test_every_namespaced_object_lands_in_the_driftgate_namespace(rendered):
    overlay, objects = rendered
    stray = [
        f"{o['kind']}/{o['metadata']['name']}: {o['metadata'].get('namespace')}"
        for o in objects
        if o["kind"] != "Namespace" and o["metadata"].get("namespace") != "driftgate"
    ]
    assert not stray, f"{overlay}: {stray}"  # an overlay's own objects need its namespace


def test_every_workload_meets_the_restricted_pod_security_fields(rendered):
    overlay, objects = rendered
    workloads = [o for o in objects if o["kind"] in WORKLOADS]
    assert workloads
    for obj in workloads:
        spec = pod_spec(obj)
        pod = spec.get("securityContext", {})
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = (
                f"{overlay}: {obj['kind']}/{obj['metadata']['name']} container {container['name']}"
            )
            ctx = container.get("securityContext", {})
            assert ctx.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, where
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not ctx.get("capabilities", {}).get("add"), where
            seccomp = ctx.get("seccompProfile", pod.get("seccompProfile", {}))
            assert seccomp.get("type") == "RuntimeDefault", where
            assert container.get("resources", {}).get("requests"), f"{where}: no resource requests"


def test_rbac_has_no_wildcards_and_is_namespaced(rendered):
    overlay, objects = rendered
    roles = [o for o in objects if o["kind"] in ("Role", "ClusterRole")]
    assert roles and all(r["kind"] == "Role" for r in roles)
    for role in roles:
        for rule in role["rules"]:
            for field in ("verbs", "resources", "apiGroups"):
                assert "*" not in rule.get(field, []), (
                    f"{overlay}: {role['metadata']['name']} {field}"
                )
            assert set(rule["verbs"]) <= {"get", "list", "watch", "create", "patch"}


def test_api_tokens_are_mounted_only_where_the_api_is_used(rendered):
    overlay, objects = rendered
    for obj in objects:
        if obj["kind"] == "ServiceAccount":
            key = ("ServiceAccount", obj["metadata"]["name"])
            assert obj.get("automountServiceAccountToken") is (key in MAY_AUTOMOUNT), (
                f"{overlay}: {key}"
            )
        elif obj["kind"] in WORKLOADS:
            assert pod_spec(obj).get("automountServiceAccountToken") is False, obj["metadata"][
                "name"
            ]


def test_secrets_are_referenced_never_inlined(rendered):
    overlay, objects = rendered
    assert not [o for o in objects if o["kind"] == "Secret"], f"{overlay} inlines a Secret"
    for obj in objects:
        if obj["kind"] not in WORKLOADS:
            continue
        for container in pod_spec(obj)["containers"]:
            for env in container.get("env", []):
                sensitive = any(
                    word in env["name"].upper() for word in ("PASSWORD", "SECRET", "WEBHOOK", "KEY")
                )
                assert not (sensitive and "value" in env), f"{overlay}: {env['name']} is inlined"


def test_prod_pins_every_image_by_digest():
    for obj in render("prod"):
        if obj["kind"] in WORKLOADS:
            spec = pod_spec(obj)
            for container in spec.get("initContainers", []) + spec["containers"]:
                assert "@sha256:" in container["image"], container["image"]


def test_serving_readiness_checks_the_configured_model():
    deployment = next(o for o in render("dev") if o["kind"] == "Deployment")
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == "/v1/models/penguins"


@pytest.mark.parametrize(("overlay", "gpu"), [("dev", False), ("gpu", True), ("prod", True)])
def test_each_overlay_ships_a_valid_pipeline_config(overlay, gpu):
    config_map = next(
        o for o in render(overlay) if o["metadata"]["name"].startswith("driftgate-config")
    )
    config = parse_config(config_map["data"]["driftgate.yaml"], f"{overlay} ConfigMap")
    assert config.platform.gpu.enabled is gpu
    assert config.platform.registry_pvc == "driftgate-registry"


def executors(config_text: str, tmp_path: Path) -> tuple[dict, dict]:
    path = compile_pipeline(parse_config(config_text, "test.yaml"), tmp_path / "p.yaml")
    spec, platform = yaml.safe_load_all(path.read_text())
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def test_gpu_config_puts_train_on_the_gpu_pool(tmp_path):
    spec, k8s = executors(
        (ROOT / "manifests" / "overlays" / "gpu" / "pipeline-config.yaml").read_text(), tmp_path
    )
    train = spec["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]
    assert (
        train["accelerator"]["resourceType"] == "nvidia.com/gpu"
        and train["accelerator"]["resourceCount"] == "1"
    )
    assert k8s["exec-train"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert k8s["exec-train"]["nodeSelector"]["labels"] == {"nvidia.com/gpu.present": "true"}
    tasks = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    assert all(tasks[name]["cachingOptions"] == {} for name in ("ingest", "validate", "check"))
    (train_task,) = [
        c["dag"]["tasks"]["train"]
        for c in spec["components"].values()
        if "train" in c.get("dag", {}).get("tasks", {})
    ]
    assert train_task["retryPolicy"]["maxRetryCount"] == 2
    mounts = {m["constant"]: m["mountPath"] for m in k8s["exec-ingest"]["pvcMount"]}
    assert mounts == {"driftgate-data": "/data", "driftgate-registry": "/registry"}
    for step in ("ingest", "validate", "check", "decide", "train", "evaluate", "push", "notify"):
        mounts = {m["mountPath"]: m for m in k8s[f"exec-{step}"]["pvcMount"]}
        assert mounts["/registry"]["constant"] == "driftgate-registry", step


def test_cpu_config_emits_no_gpu_field(tmp_path):
    spec, k8s = executors(
        (ROOT / "manifests" / "base" / "pipeline-config.yaml").read_text(), tmp_path
    )
    for name, executor in spec["deploymentSpec"]["executors"].items():
        assert "accelerator" not in executor["container"].get("resources", {}), name
    for name, settings in k8s.items():
        assert "tolerations" not in settings and "nodeSelector" not in settings, name


def test_caching_cannot_be_turned_on_for_the_gate():
    with pytest.raises(Exception, match="caching must stay off for check"):
        parse_config("data: {label: y}\nplatform: {steps: {check: {caching: true}}}", "c.yaml")


def test_dockerfile_passes_hadolint():
    result = subprocess.run(
        [str(BIN / "hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
    assert "hadolint ignore" not in (ROOT / "Dockerfile").read_text()


def test_the_signing_key_secret_is_mounted_only_where_models_are_read_or_written(tmp_path):
    spec, k8s = executors(
        "data: {label: species}\nplatform: {signing_secret: driftgate-signing}", tmp_path
    )
    containers = {
        name.removeprefix("exec-"): executor["container"]
        for name, executor in spec["deploymentSpec"]["executors"].items()
    }
    for step in STEPS:
        volumes = k8s[f"exec-{step}"].get("secretAsVolume", [])
        env = {e["name"]: e["value"] for e in containers[step].get("env", [])}
        if step in MODEL_STEPS:
            assert volumes == [
                {
                    "mountPath": "/var/run/secrets/driftgate-signing",
                    "optional": False,
                    "secretName": "driftgate-signing",
                    "secretNameParameter": {"runtimeValue": {"constant": "driftgate-signing"}},
                }
            ], step
            assert env[KEY_ENV] == "/var/run/secrets/driftgate-signing/key"
        else:
            assert not volumes and KEY_ENV not in env, step
    assert set(MODEL_STEPS) == {"validate", "check", "train", "evaluate", "push"}


def test_signing_is_off_unless_a_secret_is_named(tmp_path):
    spec, k8s = executors("data: {label: species}", tmp_path)
    assert not any("secretAsVolume" in settings for settings in k8s.values())
    assert KEY_ENV not in json.dumps(spec)


def test_every_step_mounts_the_registry_pvc_it_keeps_its_ledger_on(tmp_path):
    _, k8s = executors("data: {label: species}", tmp_path)
    for step in STEPS:  # ingest, decide and notify read or write the batch ledger there
        (mount,) = k8s[f"exec-{step}"]["pvcMount"]
        assert (mount["constant"], mount["mountPath"]) == ("driftgate-registry", "/registry")
