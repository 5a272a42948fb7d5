"""The retraining decision, from the check's findings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from driftgate.components.decide import alerting, budget
from driftgate.components.decide.gate import Findings, Trigger, cause, triggers
from driftgate.components.decide.record import gauges, record_markdown
from driftgate.observe.alerts import Alert, AlertSettings, push_metrics, send
from driftgate.registry import kept_rows
from driftgate.registry.ledger import Ledger
from driftgate.registry.store import Registry
from driftgate.settings.gate import GateSettings


@dataclass(frozen=True)
class Decision:
    """Whether to retrain, the reason in words, and every trigger's verdict."""

    retrain: bool
    reason: str
    triggers: tuple[Trigger, ...] = ()
    repeat: bool = False  # the batch was processed before: nothing new to alert on
    budget: str = ""  # the GPU budget's numbers, when one is set
    deferred: bool = False  # a retrain was wanted but the budget said wait


def decide(
    findings: Findings,
    gate: GateSettings,
    *,
    force: bool = False,
    force_reason: str = "forced by --force",
    min_rows: int = 0,
) -> Decision:
    """Retrains when there is no model yet, a trigger of ``gate.retrain_on`` fired, or forced.

    Training needs labels, and at least ``min_rows`` rows: otherwise the decision says why it
    does not retrain. With ``gate.budget`` set, a retrain that does not fit or is not worth its
    price is deferred (``budget.py``); a forced one never is.

    Args:
        findings: What validation and the check found.
        gate: Which triggers retrain.
        force: The run was forced (``--force``, or a replay policy).
        force_reason: What forced it, for the reason.
        min_rows: Fewest rows a batch needs to be trained on (``drift.min_rows``).

    Returns:
        The decision, with every trigger's value and bound.
    """
    verdicts = tuple(triggers(findings, gate))
    causes = [force_reason] if force else []
    if not findings.has_model:
        causes.append("no model is deployed yet")
    causes += [cause(t) for t in verdicts if t.opens]
    if not causes:
        drift = next(t for t in verdicts if t.name == "drift")
        if drift.fired and not drift.enabled:
            reason = f"drift in {drift.value} without a performance drop: reported, not retrained"
        else:
            reason = "no trigger fired: the deployed model stays"
        return Decision(False, reason, verdicts)
    wanted = "; ".join(causes)
    if not findings.has_labels:
        return Decision(
            False, f"would retrain ({wanted}) but the batch has no labels to train on", verdicts
        )
    if findings.rows < min_rows and not force:
        return Decision(
            False,
            f"would retrain ({wanted}) but the batch has {findings.rows} rows, fewer than "
            f"drift.min_rows={min_rows}: too little data to train on",
            verdicts,
        )
    if force:
        return Decision(True, wanted, verdicts)
    verdict = budget.judge(findings, gate, [t for t in verdicts if t.opens])
    if verdict is None:
        return Decision(True, wanted, verdicts)
    if not verdict.allowed:
        return Decision(
            False,
            f"would retrain ({wanted}) but deferred for lack of GPU budget ({verdict.note})",
            verdicts,
            budget=verdict.note,
            deferred=True,
        )
    return Decision(True, wanted, verdicts, budget=verdict.note)


def already_processed(entry: dict) -> Decision:
    """The decision for a batch the ledger says was processed before."""
    return Decision(
        False,
        f"already processed at {entry['time']} by run {entry.get('run') or 'unknown'}",
        repeat=True,
    )


def opened_by(decision: Decision) -> str:
    """The ledger flag of the change that opened the gate ("" when opened for another reason).

    The training window's ``since_change`` strategy keeps the batches since that change began.
    """
    opened = {t.name for t in decision.triggers if t.opens}
    if opened & {"performance", "estimated_performance"}:
        return "degraded"
    return "drifted" if "drift" in opened else ""


def gate_batch(
    ledger: Ledger,
    details: dict,
    batch: BatchFacts,
    choose: Callable[[Findings], Decision],
    force: bool = False,
) -> Decision:
    """Decides once per batch: a batch the ledger holds is skipped unless forced.

    The decision is claimed in the ledger under the registry's lock, so of two runs racing on
    the same bytes only one can retrain.

    Args:
        ledger: The model's batch ledger.
        details: The check's findings (``CheckResult.summary()``).
        batch: The batch's hash, source, run, rows, labels and new classes.
        choose: The gate (or a replay policy), from the findings to a decision.
        force: Decide and claim even over an earlier entry.

    Returns:
        The decision.
    """
    earlier = ledger.processed(batch.sha256)
    if earlier is not None and not force:
        return already_processed(earlier)
    findings = Findings.from_check(
        details,
        has_labels=batch.has_labels,
        rows=batch.rows,
        new_classes=batch.new_classes,
        runs_since_retrain=ledger.runs_since_retrain(),
    )
    if findings.has_model:
        findings.unseen_rows = kept_rows.unseen_rows(
            ledger, details["deployed_version"], batch.sha256
        ) + (batch.rows if batch.has_labels else 0)
    findings.now = batch.at or time.time()
    findings.spend, findings.last_cost = budget.spend_of(ledger.entries())
    decision = choose(findings)
    has_model = details.get("deployed_version") is not None
    name = ("retrain" if has_model else "bootstrap") if decision.retrain else "skip"
    entry = {
        "decision": name,
        "reason": decision.reason,
        "run": batch.run,
        "source": batch.source,
        "deployed_version": details.get("deployed_version"),
        "degraded": bool(details.get("degraded") or details.get("estimate_degraded")),
        "drifted": bool(details.get("drift_detected")),
        "opened_by": opened_by(decision),
        "estimate": details.get("estimate"),
        "labelled": batch.has_labels,
        "rows": batch.rows,
        "at": findings.now,
        "deferred": decision.deferred,
    }
    lost_to = ledger.claim(batch.sha256, entry, force=force)
    if lost_to is not None:
        return already_processed(lost_to)
    if batch.has_labels and batch.validated:
        kept_rows.keep(ledger, batch.sha256, batch.validated)
    return decision


@dataclass(frozen=True)
class BatchFacts:
    """What the gate needs to know about the batch beyond the check's findings."""

    sha256: str
    source: str
    run: str
    rows: int
    has_labels: bool
    new_classes: list[str]
    validated: str = ""  # the validated batch file; its labelled rows are kept for training
    at: float | None = None  # the run's time in seconds since the epoch (None: now)


@dataclass
class DecideStep:
    """The decide step's outputs: the decision, its alerts and its record."""

    decision: Decision
    alerts: list[Alert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # alert deliveries and the metrics push
    markdown: str = ""

    @property
    def opened_by(self) -> str:
        """The change that opened the gate (see :func:`opened_by`)."""
        return opened_by(self.decision)


def run_step(
    registry: Registry,
    details: dict,
    batch: BatchFacts,
    choose: Callable[[Findings], Decision],
    remind_every: int,
    alerts: AlertSettings | None,
    force: bool = False,
) -> DecideStep:
    """Decides once per batch, advances the alert states and alerts on their changes.

    Args:
        registry: The model's registry (its ledger and alert states).
        details: The check's findings (``CheckResult.summary()``).
        batch: The batch's hash, source, run, rows, labels and new classes.
        choose: The gate (or a replay policy), from the findings to a decision.
        remind_every: While a degradation or drift lasts, alert again every this many runs.
        alerts: Where alerts and gauges go; None decides the alerts without sending anything
            (the replay).
        force: Decide and claim even over an earlier ledger entry.

    Returns:
        The decision, its alerts, what their delivery said and the decision record.
    """
    decision = gate_batch(Ledger(registry), details, batch, choose, force)
    episodes = (
        {}
        if decision.repeat
        else alerting.advance_states(
            registry, details, batch.source.rsplit("/", 1)[-1], batch.run, remind_every
        )
    )
    found = alerting.alerts_for(decision, details, registry.model, batch.run, episodes)
    notes = []
    if alerts is not None:
        notes = [line for alert in found for line in send(alert, alerts)]
        pushed = push_metrics(alerts, registry.model, "decide", gauges(decision, details))
        notes += [pushed] if pushed else []
    lines = "".join(f"- {line}\n" for line in notes)
    record = record_markdown(decision, details) + (f"\n## Alerts\n\n{lines}" if lines else "")
    return DecideStep(decision, found, notes, record)
