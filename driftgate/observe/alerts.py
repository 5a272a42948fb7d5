"""Alerts: a Slack-compatible webhook, a local file sink, and Prometheus Pushgateway metrics.

Steps raise alerts on drift, a performance drop, blocking anomalies, a rejected candidate, and
(from the pipeline's exit handler) a failed run. Delivery is retried with exponential backoff;
a delivery that still fails is logged and returned to the step, which shows it in the run's
Markdown. An alert never fails a run, and nothing fails when no sink is configured.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)
Kind = Literal[
    "drift", "degradation", "recovered", "anomalies", "rejected", "under_floor", "failure"
]
KINDS: tuple[Kind, ...] = get_args(Kind)


class AlertSettings(BaseModel):
    """Where alerts go.

    Attributes:
        webhook_url_env: Environment variable holding the webhook URL (Slack, Mattermost, or any
            endpoint taking Slack's JSON). Unset or empty: no webhook.
        webhook_secret: In the cluster, a Kubernetes Secret whose ``webhook_secret_key`` is
            exposed to the alerting steps as ``webhook_url_env``.
        webhook_secret_key: The key in that Secret.
        file: A JSON-lines file every alert is appended to (the local sink).
        on: Which events alert.
        retries: Delivery attempts after the first.
        backoff_seconds: Wait before the first retry; doubles each time.
        timeout_seconds: Per-request timeout.
        pushgateway: Prometheus Pushgateway address for drift, model metrics and decisions.
    """

    model_config = ConfigDict(extra="forbid")

    webhook_url_env: str = "DRIFTGATE_ALERT_WEBHOOK"
    webhook_secret: str | None = None
    webhook_secret_key: str = "url"
    file: str | None = None
    on: list[Kind] = list(KINDS)
    retries: int = Field(3, ge=0, le=10)
    backoff_seconds: float = Field(1.0, ge=0)
    timeout_seconds: float = Field(5.0, gt=0)
    pushgateway: str | None = None


@dataclass
class Alert:
    """One event worth telling someone about."""

    kind: Kind
    model: str
    title: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)
    run: str | None = None
    time: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def slack(self) -> dict:
        """The Slack incoming-webhook payload (``text`` plus Block Kit sections)."""
        facts = "\n".join(f"*{k}:* {v}" for k, v in self.fields.items())
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": self.text[:2900]}},
        ]
        if facts:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": facts[:2900]}})
        context = f"driftgate · model {self.model}" + (f" · run {self.run}" if self.run else "")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        return {"text": f"{self.title}: {self.text}", "blocks": blocks}


def _post(url: str, payload: dict, timeout: float) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status >= 300:
            raise urllib.error.HTTPError(
                "webhook", response.status, "unexpected status", response.headers, None
            )


def send(alert: Alert, settings: AlertSettings) -> list[str]:
    """Delivers an alert to every configured sink; never raises.

    A sink that fails (an unwritable file, a malformed or unreachable webhook) gives a ``FAILED``
    line instead of an exception, so an alert can neither fail a step nor hide the failure it
    reports. The webhook URL is a secret: no line, log record or message ever holds it.

    Args:
        alert: The event.
        settings: Sinks and retry policy.

    Returns:
        One line per sink saying what happened (for the step's Markdown); empty when the event
        kind is switched off.
    """
    if alert.kind not in settings.on:
        return []
    outcomes = []
    if settings.file:
        outcomes.append(_write(alert, Path(settings.file)))
    url = os.environ.get(settings.webhook_url_env, "").strip()
    if url:
        outcomes.append(_deliver(alert, url, settings))
    if not outcomes:
        outcomes.append(
            f"{alert.kind} alert not sent: no sink configured "
            f"(alerts.file or ${settings.webhook_url_env})"
        )
    for outcome in outcomes:
        log.info("alert: %s", outcome)
    return outcomes


def _write(alert: Alert, path: Path) -> str:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as sink:
            sink.write(json.dumps(asdict(alert), sort_keys=True) + "\n")
    except OSError as exc:
        message = f"{alert.kind} alert FAILED to be written to {path}: {exc.strerror or exc}"
        log.error("%s", message)
        return message
    return f"{alert.kind} alert written to {path}"


def _reason(exc: Exception) -> str:
    """What went wrong, from the exception's type and status only (its text may quote the URL)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP status {exc.code}"
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return type(cause).__name__


def _deliver(alert: Alert, url: str, settings: AlertSettings) -> str:
    where = f"the webhook in ${settings.webhook_url_env}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        message = (
            f"{alert.kind} alert FAILED: {where} is not an http(s):// URL; set it to the full "
            "URL, scheme included"
        )
        log.error("%s", message)
        return message
    delay = settings.backoff_seconds
    reason = ""
    for attempt in range(1, settings.retries + 2):
        try:
            _post(url, alert.slack(), settings.timeout_seconds)
            return f"{alert.kind} alert delivered to the webhook (attempt {attempt})"
        except Exception as exc:  # an alert never fails a run, whatever urllib raises
            reason = _reason(exc)
            log.warning("alert delivery to %s, attempt %d failed: %s", where, attempt, reason)
            if attempt <= settings.retries:
                time.sleep(delay)
                delay *= 2
    attempts = settings.retries + 1
    message = f"{alert.kind} alert FAILED after {attempts} attempts to {where}: {reason}"
    log.error("%s", message)
    return message


def push_metrics(
    settings: AlertSettings, model: str, step: str, gauges: dict[str, dict[tuple, float]]
) -> str | None:
    """Pushes gauges to the Pushgateway, if one is configured.

    Args:
        settings: Holds the Pushgateway address.
        model: The model, used as the grouping key with ``step`` and as the ``model`` label.
        step: The pushing step.
        gauges: Metric name (declared in ``driftgate.observe.monitoring.METRICS``) to
            {label values: value}.

    Returns:
        What happened, or None when no Pushgateway is configured.
    """
    if not settings.pushgateway:
        return None
    from prometheus_client import push_to_gateway

    from driftgate.observe.monitoring import registry_for

    registry = registry_for(model, gauges)
    try:
        push_to_gateway(
            settings.pushgateway,
            job="driftgate",
            registry=registry,
            grouping_key={"model": model, "step": step},
            timeout=settings.timeout_seconds,
        )
    except OSError as exc:
        log.error("pushgateway %s: %s", settings.pushgateway, exc)
        return f"metrics push to {settings.pushgateway} FAILED: {exc}"
    return f"metrics pushed to {settings.pushgateway}"
