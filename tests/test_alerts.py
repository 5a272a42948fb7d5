"""Alert delivery: Slack payloads, retries, reported failures, a file sink, Pushgateway.

Also what the decide step sends: its alerts and gauges, or nothing when told not to.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from driftgate.components.decide.core import BatchFacts, decide
from driftgate.components.decide.core import run_step as decide_step
from driftgate.components.notify.core import run_step as notify_step
from driftgate.observe.alerts import Alert, AlertSettings, push_metrics, send
from driftgate.registry.store import Registry
from driftgate.settings.gate import GateSettings

ALERT = Alert(
    "drift",
    "penguins",
    "penguins: data drift in body_mass_g",
    "The batch drifted.",
    {"body_mass_g": "JS 0.119 (limit 0.1)"},
    "run-7",
)


class Hook(BaseHTTPRequestHandler):
    failures_left: ClassVar[int] = 0
    received: ClassVar[list] = []

    def log_message(self, *args):
        pass

    def _handle(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.received.append((self.command, self.path, body))
        status = 500 if Hook.failures_left > 0 else 200
        Hook.failures_left -= 1
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_POST = do_PUT = _handle


@pytest.fixture
def hook():
    Hook.received, Hook.failures_left = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def settings(**changes):
    return AlertSettings(backoff_seconds=0.0, timeout_seconds=2.0, **changes)


def test_webhook_gets_slack_json_with_every_field(hook, monkeypatch):
    monkeypatch.setenv("DRIFTGATE_ALERT_WEBHOOK", hook + "/hooks/T0")
    assert send(ALERT, settings()) == ["drift alert delivered to the webhook (attempt 1)"]
    method, path, body = Hook.received[0]
    payload = json.loads(body)
    assert (method, path) == ("POST", "/hooks/T0")
    assert payload["text"] == "penguins: data drift in body_mass_g: The batch drifted."
    assert payload["blocks"][0]["text"]["text"] == "penguins: data drift in body_mass_g"
    assert "*body_mass_g:* JS 0.119 (limit 0.1)" in payload["blocks"][2]["text"]["text"]
    assert "run run-7" in payload["blocks"][3]["elements"][0]["text"]


def test_delivery_retries_with_backoff_until_it_succeeds(hook, monkeypatch):
    monkeypatch.setenv("DRIFTGATE_ALERT_WEBHOOK", hook)
    Hook.failures_left = 2
    assert send(ALERT, settings(retries=3)) == ["drift alert delivered to the webhook (attempt 3)"]
    assert len(Hook.received) == 3


def test_a_failed_delivery_is_reported_not_raised(monkeypatch, caplog):
    monkeypatch.setenv("DRIFTGATE_ALERT_WEBHOOK", "http://127.0.0.1:9/unreachable")
    outcomes = send(ALERT, settings(retries=2))
    assert len(outcomes) == 1 and outcomes[0].startswith("drift alert FAILED after 3 attempts")
    assert "FAILED after 3 attempts" in caplog.text


def test_file_sink_appends_one_json_line_per_alert(tmp_path):
    sink = tmp_path / "alerts" / "alerts.jsonl"
    send(ALERT, settings(file=str(sink)))
    send(ALERT, settings(file=str(sink)))
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert len(lines) == 2 and lines[0]["kind"] == "drift" and lines[0]["run"] == "run-7"


def test_with_no_sink_nothing_fails_and_the_run_is_told(monkeypatch):
    monkeypatch.delenv("DRIFTGATE_ALERT_WEBHOOK", raising=False)
    assert send(ALERT, settings()) == [
        "drift alert not sent: no sink configured (alerts.file or $DRIFTGATE_ALERT_WEBHOOK)"
    ]
    assert send(ALERT, settings(on=["failure"])) == []


def test_gauges_go_to_the_pushgateway(hook):
    outcome = push_metrics(
        settings(pushgateway=hook),
        "penguins",
        "decide",
        {"feature_js_divergence": {("body_mass_g",): 0.119}, "retrain_decision": {(): 1.0}},
    )
    assert outcome == f"metrics pushed to {hook}"
    method, path, body = Hook.received[0]
    assert method == "PUT" and path == "/metrics/job/driftgate/model/penguins/step/decide"
    assert b'driftgate_feature_js_divergence{feature="body_mass_g",model="penguins"} 0.119' in body
    assert push_metrics(settings(), "penguins", "decide", {}) is None


SECRET = "T0SECRET/B0SECRET/XXXXSECRETTOKEN"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"hooks.slack.com/services/{SECRET}", "is not an http(s):// URL"),
        (f"http://127.0.0.1:9/services/{SECRET}", "FAILED after 2 attempts"),
        (f"http://127.0.0.1:notaport/{SECRET}", "FAILED after 2 attempts"),
    ],
)
def test_a_bad_webhook_never_raises_and_never_shows_the_url(url, expected, monkeypatch, caplog):
    monkeypatch.setenv("DRIFTGATE_ALERT_WEBHOOK", url)
    caplog.set_level("DEBUG")
    outcomes = send(ALERT, settings(retries=1))
    assert len(outcomes) == 1 and expected in outcomes[0]
    assert "$DRIFTGATE_ALERT_WEBHOOK" in outcomes[0]
    assert "SECRET" not in outcomes[0] + caplog.text


def test_a_webhook_error_status_does_not_leak_the_url(hook, monkeypatch, caplog):
    monkeypatch.setenv("DRIFTGATE_ALERT_WEBHOOK", f"{hook}/{SECRET}")
    Hook.failures_left = 5
    outcomes = send(ALERT, settings(retries=1))
    assert outcomes == [
        "drift alert FAILED after 2 attempts to the webhook in $DRIFTGATE_ALERT_WEBHOOK: "
        "HTTP status 500"
    ]
    assert "SECRET" not in caplog.text


def test_an_unwritable_alert_file_is_reported_not_raised(tmp_path, hook, monkeypatch):
    monkeypatch.setenv("DRIFTGATE_ALERT_WEBHOOK", hook)
    (tmp_path / "file").write_text("")
    outcomes = send(ALERT, settings(file=str(tmp_path / "file" / "alerts.jsonl")))
    assert outcomes[0].startswith("drift alert FAILED to be written to ")
    assert outcomes[1] == "drift alert delivered to the webhook (attempt 1)"


DEGRADED = {"deployed_version": 1, "degraded": ["accuracy"], "performance": {"accuracy": 0.1}}


def _decide_step(tmp_path, alerts):
    facts = BatchFacts("b" * 64, "batches/b.csv", "run-1", 500, True, [])
    return decide_step(
        Registry(tmp_path, "penguins"),
        DEGRADED,
        facts,
        lambda found: decide(found, GateSettings()),
        GateSettings().remind_every,
        alerts,
    )


def test_the_decide_step_sends_its_alerts_and_pushes_its_gauges(tmp_path, hook, monkeypatch):
    monkeypatch.delenv("DRIFTGATE_ALERT_WEBHOOK", raising=False)
    sink = tmp_path / "alerts.jsonl"
    step = _decide_step(tmp_path / "registry", settings(file=str(sink), pushgateway=hook))
    assert step.decision.retrain and step.opened_by == "degraded"
    assert [a.kind for a in step.alerts] == ["degradation"]
    assert json.loads(sink.read_text())["title"] == step.alerts[0].title
    assert [(m, p) for m, p, _ in Hook.received] == [
        ("PUT", "/metrics/job/driftgate/model/penguins/step/decide")
    ]
    assert step.notes == [f"degradation alert written to {sink}", f"metrics pushed to {hook}"]
    assert step.markdown.startswith("# Decision: RETRAIN")
    assert step.markdown.endswith("## Alerts\n\n" + "".join(f"- {n}\n" for n in step.notes))


def test_without_alert_settings_the_decide_step_decides_its_alerts_but_sends_none(tmp_path, hook):
    step = _decide_step(tmp_path / "registry", None)
    assert [a.kind for a in step.alerts] == ["degradation"]
    assert step.notes == [] and Hook.received == [] and "## Alerts" not in step.markdown
    repeat = _decide_step(tmp_path / "registry", None)  # the ledger holds the batch now
    assert repeat.decision.repeat and repeat.alerts == []


def test_the_exit_handler_alerts_a_failed_run_and_records_it(tmp_path):
    sink = tmp_path / "alerts.jsonl"
    failed = {"state": "FAILED", "error_message": "train: out of memory", "pipeline_task_name": "t"}
    step = notify_step(
        Registry(tmp_path / "r", "penguins"), failed, "run-9", settings(file=str(sink))
    )
    assert step.alert is not None and json.loads(sink.read_text())["run"] == "run-9"
    assert step.markdown == (
        "# Run FAILED\n\n- error: train: out of memory\n"
        f"- failure alert written to {sink}\n- batch ledger: nothing claimed\n"
    )
    done = {"state": "SUCCEEDED", "error_message": "", "pipeline_task_name": "t"}
    assert (
        notify_step(Registry(tmp_path / "r", "penguins"), done, "run-10", settings()).alert is None
    )
