"""Alerts per state change, not per run: "degraded since batch X", reminders, "recovered".

The state of each kind (``degradation``, ``drift``) of each deployed version lives in the
registry next to the batch ledger (``<model>/state/v<version>/alert_state.json``), advanced under
a lock, so it survives restarts and concurrent runs (``driftgate/observe/alert_state.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from driftgate.observe.alert_state import AlertState, AlertStateStore
from driftgate.observe.alerts import Alert
from driftgate.registry.store import Registry

if TYPE_CHECKING:  # the core runs the alerting, so it imports this module
    from driftgate.components.decide.core import Decision

STATE_DIR = "state"
Episodes = dict[str, tuple[str, AlertState]]  # kind -> (started | reminder | recovered, state)


def advance_states(
    registry: Registry, details: dict, batch: str, run: str, remind_every: int
) -> Episodes:
    """Advances the degradation and drift states with this batch's findings.

    Returns:
        The kinds whose state change (or reminder) calls for a message.
    """
    # Both conditions are relative to the deployed version (its scores, its reference data):
    # each version starts with no episode, and a promotion ends the old version's.
    version = details.get("deployed_version")
    store = AlertStateStore(registry.dir / STATE_DIR / f"v{version or 0}")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    found = {
        "degradation": bool(details.get("degraded") or details.get("estimate_degraded")),
        "drift": bool(details.get("drift_detected")),
    }
    episodes: Episodes = {}
    for kind, active in found.items():
        state, message = store.transition_state(kind, active, batch, run, now, remind_every)
        if message is not None:
            episodes[kind] = (message, state)
    return episodes


def _degradation_fields(details: dict) -> dict[str, str]:
    bounds = details.get("performance_thresholds", {})
    measured = details.get("performance") or {}
    fields = {m: f"{measured[m]:.3f} vs bound {bounds.get(m)}" for m in details.get("degraded", [])}
    for m in details.get("estimate_degraded", []):
        estimate = details["estimate"][m]
        fields[f"estimated {m}"] = (
            f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}] "
            f"vs bound {bounds.get(m)}"
        )
    return fields


def alerts_for(
    decision: Decision, details: dict, model: str, run: str | None, episodes: Episodes
) -> list[Alert]:
    """The alerts this run sends: one per state change or reminder, none while nothing changes.

    Args:
        decision: The decision taken.
        details: The check's findings (``CheckResult.summary()``).
        model: The model's name.
        run: The run's name.
        episodes: What :func:`advance_states` returned.

    Returns:
        Zero to two alerts.
    """
    alerts = []
    version = details.get("deployed_version")
    outcome = "retraining" if decision.retrain else f"not retraining ({decision.reason})"
    for kind, (message, state) in episodes.items():
        what = "degraded" if kind == "degradation" else "drifting"
        if message == "recovered":
            alerts.append(
                Alert(
                    "recovered",
                    model,
                    f"{model}: no longer {what} (since batch {state.since_batch})",
                    f"At batch {state.recovered_batch} the {kind} that began at batch "
                    f"{state.since_batch} is over.",
                    {},
                    run,
                )
            )
            continue
        again = " (reminder)" if message == "reminder" else ""
        if kind == "drift":
            drifted = [f for f in details.get("top_features", []) if f["drifted"]]
            fields = {
                f["name"]: f"JS {f['js']:.3f} (limit {f['thresholds'].get('js')})" for f in drifted
            }
            title = f"{model}: data drift in {', '.join(details['drifted_features'])}"
            text = f"The batches drift from version {version}'s training data; {outcome}."
        else:
            fields = _degradation_fields(details)
            title = f"{model}: deployed version {version} degraded"
            text = f"The deployed model is under its bounds on this batch; {outcome}."
        alerts.append(
            Alert(kind, model, f"{title} since batch {state.since_batch}{again}", text, fields, run)
        )
    return alerts
