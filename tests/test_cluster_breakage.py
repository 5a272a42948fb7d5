"""A broken manifest fails the cluster tests with the API server's own message.

Each case copies the manifests into its own namespace, breaks one thing, and runs
tests/test_cluster.py against them on the same server, as `make cluster-test` does.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        not (os.environ.get("KUBECONFIG") and os.environ.get("DRIFTGATE_TEST_APISERVER")),
        reason="applies manifests for real: run `make cluster-test`, which starts a throwaway "
        "API server",
    ),
]
ROOT = Path(__file__).parent.parent


def break_role(manifests: Path) -> None:
    rbac = manifests / "base" / "rbac.yaml"
    rbac.write_text(rbac.read_text().replace("verbs: [create, patch]", 'verbs: ["*"]', 1))


def break_deployment(manifests: Path) -> None:
    serving = manifests / "base" / "serving.yaml"
    text = serving.read_text()
    serving.write_text(text.replace("containerPort: 8500", "containerPort: 70000", 1))


@pytest.mark.parametrize(
    ("breakage", "namespace", "message"),
    [
        (
            break_role,
            "driftgate-wildcard-role",
            'RBAC: allowed by RoleBinding "driftgate-pipeline/driftgate-wildcard-role" of Role '
            '"driftgate-pipeline"',
        ),
        (
            break_deployment,
            "driftgate-bad-port",
            "the server rejected Deployment/driftgate-serving: The Deployment "
            '"driftgate-serving" is invalid: spec.template.spec.containers[0].ports[0]'
            ".containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
    ],
)
def test_a_broken_manifest_fails_the_cluster_tests_with_the_servers_message(
    tmp_path, breakage, namespace, message
):
    manifests = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", manifests)
    for path in manifests.rglob("*.yaml"):
        text = path.read_text()
        text = text.replace("namespace: driftgate ", f"namespace: {namespace} ")
        text = text.replace("namespace: driftgate\n", f"namespace: {namespace}\n")
        if path.name == "namespace.yaml":
            text = text.replace("  name: driftgate\n", f"  name: {namespace}\n")
        path.write_text(text)
    breakage(manifests)
    suite = str(ROOT / "tests" / "test_cluster.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", suite],
        env={**os.environ, "DRIFTGATE_MANIFESTS": str(manifests)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert message in result.stdout, result.stdout[-3000:]
