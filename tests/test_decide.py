import pytest

from driftgate.components.decide.core import (
    BatchFacts,
    decide,
    gate_batch,
    opened_by,
)
from driftgate.components.decide.gate import Findings
from driftgate.components.decide.record import record_markdown
from driftgate.registry.ledger import Ledger
from driftgate.registry.store import Registry
from driftgate.settings.gate import GateSettings

BASE = {"has_model": True, "has_labels": True, "rows": 500, "bounds": {"accuracy": 0.9}}


def findings(**changes) -> Findings:
    return Findings(**{**BASE, **changes})


@pytest.mark.parametrize(
    ("changes", "gate", "retrain", "reason"),
    [
        ({}, {}, False, "no trigger fired"),
        ({"has_model": False}, {}, True, "no model is deployed yet"),
        (
            {"drift_detected": True, "drifted_features": ["mass"], "performance": {"accuracy": 1}},
            {},
            False,
            "drift in mass without a performance drop: reported, not retrained",
        ),
        ({"drift_detected": True, "drifted_features": ["mass"]}, {}, True, "drift decides"),
        (
            {"drift_detected": True, "drifted_features": ["mass"], "performance": {"accuracy": 1}},
            {"retrain_on": ["drift"]},
            True,
            "drift in mass",
        ),
        (
            {"performance": {"accuracy": 0.5}, "degraded": ["accuracy"]},
            {},
            True,
            "fell under its bound (accuracy 0.500; accuracy ≥ 0.900)",
        ),
        ({"new_classes": ["fog"]}, {}, True, "new class 'fog' in the labels"),
        (
            {"drift_detected": True, "drifted_features": ["mass"], "has_labels": False},
            {},
            False,
            "(drift in mass (no labels and no trusted estimate: drift decides)) but the batch has "
            "no labels to train on",
        ),
        ({"runs_since_retrain": 4}, {"retrain_on": ["schedule"], "every_runs": 5}, True, "sched"),
        ({"runs_since_retrain": 2}, {"retrain_on": ["schedule"], "every_runs": 5}, False, "no"),
        (
            {"estimate": {"accuracy": {"value": 0.6, "low": 0.55, "high": 0.65}},
             "estimate_degraded": ["accuracy"], "has_labels": False},
            {},
            False,
            "estimated performance under its bound",
        ),
        (
            {"estimate_note": "not trusted: calibration error 0.2", "drift_detected": True,
             "drifted_features": ["mass"]},
            {"drift_fallback": False},
            False,
            "without a performance drop",
        ),
    ],
)  # fmt: skip
def test_decision_and_reason(changes, gate, retrain, reason):
    decision = decide(findings(**changes), GateSettings(**gate), min_rows=100)
    assert decision.retrain is retrain
    assert reason in decision.reason
    assert [t.name for t in decision.triggers] == [
        "performance", "estimated_performance", "expected_gain", "drift", "new_data",
        "new_class", "schedule",
    ]  # fmt: skip


def test_too_few_rows_never_retrain_and_the_decision_says_so():
    decision = decide(findings(rows=20, new_classes=["fog"]), GateSettings(), min_rows=100)
    assert not decision.retrain
    assert "20 rows, fewer than drift.min_rows=100: too little data" in decision.reason
    assert decide(findings(rows=20), GateSettings(), force=True, min_rows=100).retrain


def test_the_change_that_opened_the_gate_is_named_for_the_window():
    degraded = decide(
        findings(performance={"accuracy": 0.1}, degraded=["accuracy"]), GateSettings()
    )
    assert opened_by(degraded) == "degraded"
    drift = decide(findings(drift_detected=True, drifted_features=["x"]), GateSettings())
    assert opened_by(drift) == "drifted"
    assert opened_by(decide(findings(new_classes=["fog"]), GateSettings())) == ""


def test_a_batch_is_decided_once_and_a_failed_run_can_retry(tmp_path):
    ledger = Ledger(Registry(tmp_path, "m"))
    details = {"deployed_version": 1, "degraded": ["accuracy"], "performance": {"accuracy": 0.1}}
    sha = "a" * 64

    def batch(run: str) -> BatchFacts:
        return BatchFacts(sha, "b.csv", run, 500, True, [])

    def gate(found):
        return decide(found, GateSettings())

    first = gate_batch(ledger, details, batch("run-1"), gate)
    assert first.retrain and ledger.get(sha)["decision"] == "retrain"
    again = gate_batch(ledger, details, batch("run-2"), gate)
    assert not again.retrain and again.reason.startswith("already processed at ")
    assert "by run run-1" in again.reason
    assert gate_batch(ledger, details, batch("run-3"), gate, force=True).retrain
    ledger.close_run("run-3", succeeded=False)  # the forced run crashed: the batch is free again
    assert ledger.processed(sha) is None
    assert gate_batch(ledger, details, batch("run-4"), gate).retrain
    ledger.close_run("run-4", succeeded=True)
    assert ledger.get(sha)["status"] == "done" and ledger.runs_since_retrain() == 0


def test_record_lists_each_trigger_and_threshold_against_its_value():
    details = {
        "deployed_version": 3,
        "drifted_features": ["body_mass_g"],
        "top_features": [
            {"name": "body_mass_g", "js": 0.12, "thresholds": {"js": 0.1}, "exceeded": ["js"]}
        ],
        "performance": {"accuracy": 0.7},
        "performance_thresholds": {"accuracy": 0.8},
        "degraded": ["accuracy"],
        "warnings": ["small batch"],
    }
    decision = decide(
        Findings.from_check(details, has_labels=True, rows=500, new_classes=[]), GateSettings()
    )
    text = record_markdown(decision, details)
    assert "# Decision: RETRAIN" in text
    assert "| body_mass_g | 0.1200 | js 0.1 | js |" in text
    assert "| accuracy | 0.7000 | 0.8 | **under** |" in text
    assert "| performance | yes | **yes** | accuracy 0.700 | accuracy ≥ 0.800 |" in text
    assert "deployed version: 3" in text and "small batch" in text


def test_alerts_are_sent_per_state_change_not_per_run(tmp_path):
    from driftgate.components.decide.alerting import advance_states, alerts_for

    registry = Registry(tmp_path, "m")
    degraded = {"deployed_version": 2, "degraded": ["accuracy"], "performance": {"accuracy": 0.4},
                "performance_thresholds": {"accuracy": 0.9}}  # fmt: skip
    healthy = {"deployed_version": 2, "degraded": [], "performance": {"accuracy": 0.95}}
    decision = decide(findings(), GateSettings())
    titles = []
    for i, details in enumerate([degraded, degraded, degraded, degraded, healthy, healthy]):
        episodes = advance_states(registry, details, f"b{i}.csv", f"run-{i}", remind_every=2)
        titles.append([a.title for a in alerts_for(decision, details, "m", f"run-{i}", episodes)])
    assert titles == [
        ["m: deployed version 2 degraded since batch b0.csv"],
        [],
        ["m: deployed version 2 degraded since batch b0.csv (reminder)"],
        [],
        ["m: no longer degraded (since batch b0.csv)"],
        [],
    ]


@pytest.mark.parametrize(
    ("drift", "labels", "unseen", "retrain"),
    [
        (True, True, 2_000, True),
        (True, True, 1_999, False),
        (False, True, 50_000, False),
        (True, False, 50_000, True),  # no labels, no estimate: the drift fallback decides
    ],
)
def test_new_labelled_data_under_drift_opens_the_gate(drift, labels, unseen, retrain):
    found = findings(
        drift_detected=drift,
        drifted_features=["salary"] if drift else [],
        performance={"accuracy": 0.97} if labels else None,
        has_labels=labels,
        trained_rows=1_000,
        unseen_rows=unseen,
    )
    decision = decide(found, GateSettings())
    (new_data,) = [t for t in decision.triggers if t.name == "new_data"]
    assert new_data.fired is (drift and labels and unseen >= 2_000)
    assert "≥ 2,000 rows (2 × the 1,000 trained on)" in new_data.bound
    assert decision.retrain is (retrain and labels)
    if new_data.fired:
        assert decision.reason.startswith("new labelled data under drift (2,000 labelled rows")
        assert opened_by(decision) == ""  # a stable concept: every stored row stays valid
    assert not decide(found, GateSettings(retrain_on=["performance"])).retrain or not labels
