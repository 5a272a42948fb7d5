"""The manifests against a real kube-apiserver (`make cluster-test` starts one on loopback).

Every overlay is applied with server-side apply in dependency order; RBAC is asked of the server
(SubjectAccessReviews and ``kubectl auth can-i --list --as=...``); the server's admission keeps
the pod security fields and rejects immutable-field changes and bad overlay edits with its own
message. The server is Kubernetes 1.20 with no scheduler, controller-manager or kubelet: nothing
is scheduled, and the kinds it lacks stay validated offline (tests/test_manifests.py).

What the pipeline's service account needs, from the code that uses it:

- KFP v2's driver and launcher read the ``kfp-launcher`` ConfigMap of the run's namespace
  (kubeflow/pipelines backend/src/v2/config/env.go, ``FromConfigMap``; the launcher's GET of
  configmaps/kfp-launcher is in kubeflow/pipelines#6812) and the object-store credentials in the
  ``mlpipeline-minio-artifact`` Secret (kubeflow/pipelines#5392, deployKF/deployKF#192).
- Argo's emissary executor (Argo >= 3.4, which KFP 2.x installs) creates and patches
  ``workflowtaskresults`` (https://argo-workflows.readthedocs.io/en/latest/workflow-rbac/).
- driftgate's own steps read and write files on volumes and never call the API.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        not (os.environ.get("KUBECONFIG") and os.environ.get("DRIFTGATE_TEST_APISERVER")),
        reason="applies manifests for real: run `make cluster-test`, which starts a throwaway "
        "API server",
    ),
]
ROOT = Path(__file__).parent.parent
MANIFESTS = Path(os.environ.get("DRIFTGATE_MANIFESTS", ROOT / "manifests"))
KUBECTL = Path(sys.executable).parent / "kubectl"
OVERLAYS = ("dev", "gpu", "prod")  # each on top of the last, as a cluster is upgraded
ORDER = (
    "Namespace",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Service",
    "NetworkPolicy",
    "Deployment",
    "Job",
    "CronJob",
    "PodDisruptionBudget",
)
OFFLINE_ONLY = {("batch/v1", "CronJob"), ("policy/v1", "PodDisruptionBudget")}  # not in 1.20
PIPELINE, SERVING, SUBMITTER = "driftgate-pipeline", "driftgate-serving", "driftgate-submitter"
# (verb, group, resource, subresource, name): what KFP and Argo do with the pipeline's account.
NEEDED = [
    ("get", "", "configmaps", "", "kfp-launcher"),
    ("get", "", "secrets", "", "mlpipeline-minio-artifact"),
    ("create", "argoproj.io", "workflowtaskresults", "", ""),
    ("patch", "argoproj.io", "workflowtaskresults", "", ""),
]
FORBIDDEN = [
    ("get", "", "secrets", "", "driftgate-other"),
    ("list", "", "secrets", "", ""),
    ("watch", "", "secrets", "", ""),
    ("update", "", "secrets", "", "mlpipeline-minio-artifact"),
    ("list", "", "configmaps", "", ""),
    ("update", "", "configmaps", "", "kfp-launcher"),
    ("get", "", "configmaps", "", "driftgate-config"),
    ("create", "", "pods", "exec", ""),
    ("get", "", "pods", "exec", ""),
    ("create", "", "pods", "", ""),
    ("delete", "", "pods", "", ""),
    ("create", "", "serviceaccounts", "token", ""),
    ("patch", "", "serviceaccounts", "", ""),
    ("create", "rbac.authorization.k8s.io", "roles", "", ""),
    ("create", "rbac.authorization.k8s.io", "rolebindings", "", ""),
    ("bind", "rbac.authorization.k8s.io", "roles", "", ""),
    ("escalate", "rbac.authorization.k8s.io", "roles", "", ""),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", "", ""),
    ("patch", "apps", "deployments", "", ""),
    ("delete", "argoproj.io", "workflowtaskresults", "", ""),
    ("create", "argoproj.io", "workflows", "", ""),
]
OTHER_NAMESPACES = ("default", "kubeflow", "kube-system")


def kubectl(*args: str, stdin: str | None = None, check: bool = True):
    result = subprocess.run(
        [str(KUBECTL), *args], input=stdin, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode:
        pytest.fail(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result


def render(overlay: str) -> list[dict]:
    out = kubectl("kustomize", str(MANIFESTS / "overlays" / overlay)).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def served(api_version: str) -> set[str]:
    """The kinds the server serves in one group version (none when it lacks the version)."""
    path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    result = kubectl("get", "--raw", path, check=False)
    if result.returncode:
        return set()
    return {r["kind"] for r in json.loads(result.stdout)["resources"] if "/" not in r["name"]}


def in_dependency_order(objects: list[dict]) -> list[dict]:
    rank = {kind: i for i, kind in enumerate(ORDER)}
    return sorted(objects, key=lambda o: rank.get(o["kind"], len(ORDER)))


def apply(obj: dict, *extra: str):
    return kubectl(
        "apply",
        "--server-side",
        "--field-manager=driftgate",
        *extra,
        "-f",
        "-",
        stdin=json.dumps(obj),
        check=False,
    )


@pytest.fixture(scope="module")
def deployed() -> dict[str, dict[str, list[str]]]:
    """Applies every overlay in turn; what was applied and what was left to offline checks."""
    record = {}
    for overlay in OVERLAYS:
        applied, skipped = [], []
        for obj in in_dependency_order(render(overlay)):
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            if obj["kind"] not in served(obj["apiVersion"]):
                skipped.append((obj["apiVersion"], obj["kind"]))
                continue
            result = apply(obj)
            if result.returncode:
                pytest.fail(f"{overlay}: the server rejected {name}: {result.stderr.strip()}")
            applied.append(name)
        record[overlay] = {"applied": applied, "skipped": skipped}
    return record


@pytest.fixture(scope="module")
def namespace() -> str:
    (ns,) = [o["metadata"]["name"] for o in render("dev") if o["kind"] == "Namespace"]
    return ns


def stored(kind: str, name: str, namespace: str) -> dict:
    out = kubectl("get", kind, name, "-n", namespace, "-o", "json", "--show-managed-fields")
    return json.loads(out.stdout)


def test_every_overlay_applies_server_side_in_dependency_order(deployed, namespace):
    for overlay, record in deployed.items():
        kinds = [name.split("/")[0] for name in record["applied"]]
        assert kinds[0] == "Namespace", overlay
        assert kinds.index("Role") < kinds.index("RoleBinding") < kinds.index("Deployment")
        assert set(record["skipped"]) <= OFFLINE_ONLY, f"{overlay}: {record['skipped']}"
    assert set(deployed["prod"]["skipped"]) == OFFLINE_ONLY  # listed, validated offline
    assert deployed["dev"]["skipped"] == []
    for name in deployed["prod"]["applied"]:
        kind, _, obj_name = name.partition("/")
        fields = stored(kind, obj_name, namespace)["metadata"]["managedFields"]
        assert any(f["manager"] == "driftgate" and f["operation"] == "Apply" for f in fields)
    assert stored("deployment", SERVING, namespace)["spec"]["replicas"] == 3  # prod's patch won


def access_reviews(account: str, namespace: str, asks: list[tuple], where: str) -> list[dict]:
    """Asks the server's authorizer, in one request per list, what ``account`` may do."""
    user = f"system:serviceaccount:{namespace}:{account}"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    reviews = [
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": [*groups, "system:authenticated"],
                "resourceAttributes": {
                    "namespace": where,
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                    "subresource": subresource,
                    "name": name,
                },
            },
        }
        for verb, group, resource, subresource, name in asks
    ]
    batch = {"apiVersion": "v1", "kind": "List", "items": reviews}
    out = kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(batch)).stdout
    decoder, answers, at = json.JSONDecoder(), [], 0
    while out[at:].strip():  # kubectl prints one object per review
        answer, end = decoder.raw_decode(out[at:].lstrip())
        at = len(out) - len(out[at:].lstrip()[end:])
        answers.append(answer)
    assert len(answers) == len(reviews)
    return answers


def describe(review: dict) -> str:
    attrs = review["spec"]["resourceAttributes"]
    what = "/".join(filter(None, (attrs.get("resource"), attrs.get("subresource"))))
    return (
        f"{attrs['verb']} {what} {attrs.get('name', '')} in {attrs['namespace']}: "
        f"{review['status'].get('reason') or 'no rule allows it'}"
    )


def test_the_pipeline_account_may_do_what_kfp_and_argo_need(deployed, namespace):
    reviews = access_reviews(PIPELINE, namespace, NEEDED, namespace)
    refused = [describe(r) for r in reviews if not r["status"]["allowed"]]
    assert not refused, refused


@pytest.mark.parametrize("account", [PIPELINE, SERVING, SUBMITTER])
def test_each_account_is_denied_everything_else_that_matters(deployed, namespace, account):
    asks = FORBIDDEN + ([] if account == PIPELINE else NEEDED)
    reviews = access_reviews(account, namespace, asks, namespace)
    for other in OTHER_NAMESPACES:
        reviews += access_reviews(account, namespace, NEEDED, other)
    allowed = [describe(r) for r in reviews if r["status"]["allowed"]]
    assert not allowed, allowed  # each with the server's reason: which binding allowed it


RULE = re.compile(r"^(\S+)\s+(\[.*?\])\s+(\[.*?\])\s+(\[.*?\])\s*$")


def rules(account: str, namespace: str) -> set[tuple[str, ...]]:
    """``kubectl auth can-i --list`` for an account, as (resource, URLs, names, verbs) rows."""
    out = kubectl(
        "auth", "can-i", "--list", f"--as=system:serviceaccount:{namespace}:{account}",
        "-n", namespace,
    ).stdout  # fmt: skip
    return {m.groups() for line in out.splitlines()[1:] if (m := RULE.match(line))}


def test_can_i_lists_exactly_the_needed_rules_beyond_what_every_account_gets(deployed, namespace):
    baseline = rules("driftgate-no-such-account", namespace)  # discovery, self-reviews
    assert ("selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]") in baseline
    assert rules(PIPELINE, namespace) - baseline == {
        ("configmaps", "[]", "[kfp-launcher]", "[get]"),
        ("secrets", "[]", "[mlpipeline-minio-artifact]", "[get]"),
        ("workflowtaskresults.argoproj.io", "[]", "[]", "[create patch]"),
    }
    assert rules(SERVING, namespace) == baseline
    assert rules(SUBMITTER, namespace) == baseline


def security_contexts(pod_spec: dict) -> list:
    containers = pod_spec.get("initContainers", []) + pod_spec["containers"]
    return [pod_spec.get("securityContext")] + [c.get("securityContext") for c in containers]


def test_the_server_keeps_every_pod_security_field(deployed, namespace):
    """1.20 has no PodSecurity admission; what it must do is store every field, pruning none."""
    rendered = next(o for o in render("prod") if o["kind"] == "Deployment")
    kept = stored("deployment", rendered["metadata"]["name"], namespace)
    expected = security_contexts(rendered["spec"]["template"]["spec"])
    assert security_contexts(kept["spec"]["template"]["spec"]) == expected
    assert kept["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def pipeline_job(namespace: str, **container_security) -> dict:
    """A Job shaped like a pipeline step's pod: the gate image under the restricted settings."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "driftgate-step", "namespace": namespace},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "serviceAccountName": PIPELINE,
                    "restartPolicy": "Never",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "main",
                            "image": "driftgate:0.1.0-gate",
                            "command": ["driftgate", "--help"],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                                **container_security,
                            },
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                }
            },
        },
    }


def test_a_pipeline_step_job_is_admitted_and_a_broken_security_field_is_not(deployed, namespace):
    job = pipeline_job(namespace)
    admitted = kubectl(
        "create", "--dry-run=server", "-o", "json", "-f", "-", stdin=json.dumps(job)
    ).stdout
    pod = json.loads(admitted)["spec"]["template"]["spec"]
    assert security_contexts(pod) == security_contexts(job["spec"]["template"]["spec"])
    broken = pipeline_job(namespace, seccompProfile={"type": "Localhost"})
    result = kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(broken), check=False)
    assert result.returncode != 0
    assert "seccompProfile.localhostProfile: Required value" in result.stderr


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        (
            "Deployment",
            lambda o: (
                o["spec"]["selector"]["matchLabels"].update(tier="x")
                or o["spec"]["template"]["metadata"]["labels"].update(tier="x")
            ),
            "spec.selector: Invalid value: v1.LabelSelector",
        ),
        (
            "PersistentVolumeClaim",
            lambda o: o["spec"].update(storageClassName="another-class"),
            "spec is immutable after creation",
        ),
    ],
)
def test_reapplying_a_changed_immutable_field_is_refused(deployed, kind, change, message):
    obj = next(o for o in render("prod") if o["kind"] == kind)
    change(obj)
    result = apply(obj)
    assert result.returncode != 0, f"the server accepted a changed immutable field of {kind}"
    assert message in result.stderr and "immutable" in result.stderr, result.stderr


def test_a_bad_overlay_edit_is_rejected_with_the_servers_message(deployed, tmp_path):
    copy = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, copy)
    overlay = copy / "overlays" / "dev" / "kustomization.yaml"
    replicas = "path: /spec/replicas\n        value: "
    assert replicas + "1\n" in overlay.read_text()
    overlay.write_text(overlay.read_text().replace(replicas + "1\n", replicas + "-1\n"))
    result = kubectl(
        "apply", "--server-side", "--field-manager=driftgate", "--dry-run=server",
        "-k", str(copy / "overlays" / "dev"), check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in result.stderr
