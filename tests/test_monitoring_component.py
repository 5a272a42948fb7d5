"""The monitoring component: it renders into the overlays and validates (core objects against
the pinned Kubernetes, the Prometheus Operator's objects against its CRD models), and every
dashboard and alert query names a metric, and labels, that a real pipeline run pushed."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from cloudcoil.models.prometheus_operator import v1 as operator
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from driftgate.observe.alerts import AlertSettings
from driftgate.pipelines.config import load_config
from driftgate.pipelines.demo import PATHS, prepare
from driftgate.pipelines.local_run import run_local

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
COMPONENT = ROOT / "manifests" / "components" / "monitoring"
KUBERNETES = "1.31.0"
OPERATOR_KINDS = {"PrometheusRule", "PodMonitor"}
METRIC = re.compile(r"\bdriftgate_[a-z0-9_]+")


def render(overlay: str, tmp_path: Path) -> list[dict]:
    """``overlay`` with the monitoring component added, rendered by kubectl's kustomize."""
    where = tmp_path / overlay
    where.mkdir()
    up = os.path.relpath(ROOT, where)
    (where / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [f"{up}/manifests/overlays/{overlay}"],
                "components": [f"{up}/manifests/components/monitoring"],
            }
        )
    )
    out = subprocess.run(
        [str(BIN / "kubectl"), "kustomize", str(where)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def queries() -> list[str]:
    """Every PromQL expression of the dashboard and the alert rules."""
    dashboard = json.loads((COMPONENT / "dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    rule = yaml.safe_load((COMPONENT / "prometheusrule.yaml").read_text())
    exprs += [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    return exprs


def without_unset(value):
    if isinstance(value, dict):
        return {k: without_unset(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_unset(v) for v in value]
    return value


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_the_component_renders_and_validates_in_an_overlay(overlay, tmp_path):
    objects = render(overlay, tmp_path)
    core = [o for o in objects if o["kind"] not in OPERATOR_KINDS]
    path = tmp_path / "core.yaml"
    path.write_text(yaml.safe_dump_all(core))
    result = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "-k", KUBERNETES, "--quiet", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    custom = [o for o in objects if o["kind"] in OPERATOR_KINDS]
    assert sorted(o["kind"] for o in custom) == sorted(OPERATOR_KINDS)
    for obj in custom:  # the operator's schema, and no field it would drop
        model = getattr(operator, obj["kind"]).model_validate(obj)
        assert without_unset(model.model_dump(by_alias=True, mode="json")) == obj
        assert obj["metadata"]["namespace"] == "driftgate"
    dashboard = next(o for o in objects if o["metadata"]["name"] == "driftgate-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["driftgate.json"])["uid"] == "driftgate"


def monitoring_config_class():
    """TF Serving's MonitoringConfig message (tensorflow_serving/config/monitoring_config.proto)."""
    file = descriptor_pb2.FileDescriptorProto(
        name="monitoring_config.proto", package="tensorflow.serving", syntax="proto3"
    )
    prometheus = file.message_type.add(name="PrometheusConfig")
    prometheus.field.add(name="enable", number=1, type=8, label=1)  # bool
    prometheus.field.add(name="path", number=2, type=9, label=1)  # string
    config = file.message_type.add(name="MonitoringConfig")
    config.field.add(
        name="prometheus_config",
        number=1,
        type=11,
        label=1,
        type_name=".tensorflow.serving.PrometheusConfig",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig")
    )


def test_tf_serving_exposes_prometheus_metrics_where_the_podmonitor_scrapes(tmp_path):
    objects = render("dev", tmp_path)
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    serving = spec["containers"][0]
    (flag,) = [a for a in serving["args"] if a.startswith("--monitoring_config_file=")]
    config_path = Path(flag.split("=", 1)[1])
    (mount,) = [m for m in serving["volumeMounts"] if m["mountPath"] == str(config_path.parent)]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    config_map = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == volume["configMap"]["name"]
    )
    config = text_format.Parse(config_map["data"][config_path.name], monitoring_config_class()())
    assert config.prometheus_config.enable
    (monitor,) = [o for o in objects if o["kind"] == "PodMonitor"]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == config.prometheus_config.path
    assert endpoint["port"] in {p["name"] for p in serving["ports"]}
    policy = next(o for o in objects if o["metadata"]["name"] == "driftgate-serving-metrics")
    port = next(p["containerPort"] for p in serving["ports"] if p["name"] == endpoint["port"])
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": port, "protocol": "TCP"}]


def test_the_stale_run_alert_waits_longer_than_the_schedule():
    rule = yaml.safe_load((COMPONENT / "prometheusrule.yaml").read_text())
    (stale,) = [r for g in rule["spec"]["groups"] for r in g["rules"] if "RunMissing" in r["alert"]]
    threshold = re.search(r">\s*([0-9][0-9 *]*)$", stale["expr"]).group(1)
    seconds = 1
    for factor in threshold.split("*"):
        seconds *= int(factor)
    (cron,) = [
        doc
        for doc in yaml.safe_load_all(
            (ROOT / "manifests/components/cron-submit/cronjob.yaml").open()
        )
        if doc and doc["kind"] == "CronJob"
    ]
    minute, hour, *rest = cron["spec"]["schedule"].split()
    assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"], "a daily schedule"
    assert 24 * 3600 < seconds <= 30 * 3600


class Pushgateway(http.server.BaseHTTPRequestHandler):
    """Records what a run pushes (the Pushgateway's PUT /metrics/job/... API)."""

    bodies: ClassVar[list[tuple[str, str]]] = []

    def do_PUT(self):
        length = int(self.headers["Content-Length"])
        Pushgateway.bodies.append((self.path, self.rfile.read(length).decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, set[str]]:
    """Metric name to label names, as pushed by real runs: a bootstrap, then a drifted batch."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pushgateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        work = tmp_path_factory.mktemp("pushed")
        story = prepare(work)  # the pipeline's three paths, picked from the demo's story
        bootstrap, _, drifted = (next(s for s in story if s.path == p) for p in PATHS)
        alerts = AlertSettings(pushgateway=f"http://127.0.0.1:{server.server_port}")
        config = load_config(None).model_copy(update={"alerts": alerts})
        for step in (bootstrap, drifted):
            summary = run_local(
                config, str(step.batch), str(work / "registry"), output_root=work / "runs"
            )
            assert summary.succeeded, summary.error
    finally:
        server.shutdown()
        server.server_close()
    steps = {path.rsplit("/step/", 1)[1] for path, _ in Pushgateway.bodies}
    assert steps == {"decide", "evaluate", "push"}
    labels: dict[str, set[str]] = {}
    for _, body in Pushgateway.bodies:
        for line in body.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                counter = kind == "counter" and not name.endswith("_total")
                labels.setdefault(name + ("_total" if counter else ""), set())
            elif line and not line.startswith("#"):
                name, _, rest = line.partition("{")
                labels.setdefault(name, set()).update(re.findall(r'(\w+)="', rest))
    return labels


@pytest.mark.slow
def test_every_dashboard_and_alert_query_names_exported_metrics_and_labels(exported):
    names = set(exported)
    used = set()
    for expr in queries():
        metrics = set(METRIC.findall(expr))
        assert metrics, f"no driftgate metric in {expr!r}"
        assert metrics <= names, f"{expr!r} names {sorted(metrics - names)}; exported: {names}"
        used |= metrics
        known = set().union(*(exported[m] for m in metrics)) | {"model"}
        for selector in re.findall(r"driftgate_[a-z0-9_]+\{([^}]*)\}", expr):
            assert set(re.findall(r"(\w+)\s*=~?", selector)) <= known, expr
        for group in re.findall(r"by \(([^)]*)\)", expr):
            assert {g.strip() for g in group.split(",")} <= known, expr
    counters = {n for n in names if n.endswith("_total")}
    assert {"driftgate_retrains_total", "driftgate_pushes_total"} <= counters
    assert "driftgate_train_gpu_seconds_total" in used and counters <= used
    assert exported["driftgate_feature_js_divergence"] >= {"model", "feature"}
