"""Cron handling, parameters, and that --dry-run prints exactly what kfp.Client sends."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from driftgate.errors import ConfigError
from driftgate.pipelines import remote
from driftgate.pipelines.cli import main
from driftgate.pipelines.cron import parse_cron


def test_five_field_cron_is_converted_with_a_notice_showing_both_forms():
    cron = parse_cron("0 3 * * *")
    assert cron.expression == "0 0 3 * * *"
    assert "'0 3 * * *'" in cron.notice and "'0 0 3 * * *'" in cron.notice


@pytest.mark.parametrize(
    "text",
    ["0 0 3 * * *", "*/30 0 9-17 ? * MON-FRI", "0 15,45 * 1 JAN,JUL *", "@daily", "@every 6h"],
)
def test_valid_expressions_pass_unchanged(text):
    cron = parse_cron(text)
    assert cron.expression == text and cron.notice is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("61 * * * * *", "seconds field: 61 is out of range 0–59"),
        ("0 0 3 32 * *", "day of month field: 32 is out of range 1–31"),
        ("0 ? * * * *", "'?' is only allowed for day of month or day of week"),
        ("0 0 9-5 * * *", "range '9-5' runs backwards"),
        ("0 */0 * * * *", "step '0' must be a positive number"),
        ("0 0 3 * *  * 2026", "has 7 fields"),
        ("0 0 3 * * FUNDAY", "'FUNDAY' is not a number or a name"),
        ("@fortnightly", "unknown descriptor"),
    ],
)
def test_invalid_expressions_name_the_field_and_problem(text, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?").replace("*", r"\*")):
        parse_cron(text)


def test_schedule_rejects_a_bad_cron_with_a_non_zero_exit(capsys):
    assert main(["schedule", "--host", "http://kfp", "--cron", "61 * * * * *", "--dry-run"]) == 1
    assert capsys.readouterr().err.strip() == (
        "driftgate: error: --cron: '61 * * * * *': seconds field: 61 is out of range 0–59"
    )


def test_params_are_typed_from_the_pipeline_and_unknown_names_rejected(config):
    package = remote.compile_package(config)
    assert remote.parse_params(package, ["force=true", "batch_uri=gs://b/x.csv"]) == {
        "force": True,
        "batch_uri": "gs://b/x.csv",
    }
    with pytest.raises(
        ConfigError, match="'epochs' is not a pipeline parameter; choose from batch_uri, force"
    ):
        remote.parse_params(package, ["epochs=3"])
    with pytest.raises(ConfigError, match="force='maybe' is not a boolean"):
        remote.parse_params(package, ["force=maybe"])


class StubKfp(BaseHTTPRequestHandler):
    """Just enough of the KFP v2beta1 API for kfp.Client to create runs and schedules."""

    received: ClassVar[list] = []

    def log_message(self, *args):
        pass

    def _reply(self, payload):
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._reply({"experiments": []} if "/experiments" in self.path else {})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        StubKfp.received.append((self.path, body))
        if self.path.endswith("/experiments"):
            self._reply({"experiment_id": "exp-1", "display_name": body["display_name"]})
        elif self.path.endswith("/runs"):
            self._reply({"run_id": "run-1"})
        else:
            self._reply({"recurring_run_id": "rr-1"})


@pytest.fixture
def stub_kfp():
    StubKfp.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubKfp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("kind", ["run", "recurring_run"])
def test_the_dry_run_body_is_what_kfp_client_sends(kind, config, stub_kfp):
    package = remote.compile_package(config)
    params = remote.parse_params(package, ["force=true"])
    where = {"host": stub_kfp, "namespace": None, "experiment": "driftgate"}
    if kind == "run":
        request = remote.run_request(config, package, params, run_name="r", **where)
    else:
        request = remote.recurring_request(
            config,
            package,
            params,
            name="weekly",
            cron=parse_cron("0 3 * * 1"),
            max_concurrency=1,
            no_catchup=True,
            start="2026-12-01",
            end=None,
            enabled=True,
            **where,
        )
    preview = request.preview()["body"]
    assert remote.send(request) in ("run-1", "rr-1")
    path, sent = StubKfp.received[-1]
    assert path.endswith("/runs" if kind == "run" else "/recurringruns")
    assert sent == {**preview, "experiment_id": "exp-1"}


@pytest.mark.cluster
@pytest.mark.skipif(
    not os.environ.get("KFP_HOST"), reason="needs a live Kubeflow Pipelines endpoint: set KFP_HOST"
)
def test_submit_and_schedule_against_a_live_kfp(capsys):
    host = os.environ["KFP_HOST"]
    assert (
        main(["submit", "--host", host, "--experiment", "driftgate-test", "--param", "force=true"])
        == 0
    )
    assert "started run" in capsys.readouterr().out
    assert (
        main(
            [
                "schedule",
                "--host",
                host,
                "--experiment",
                "driftgate-test",
                "--cron",
                "0 3 * * *",
                "--disable",
            ]
        )
        == 0
    )
    assert "created recurring run" in capsys.readouterr().out
