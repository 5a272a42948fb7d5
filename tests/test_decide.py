import pytest

from driftgate.components.decide.core import decide, record_markdown

BASE = {
    "has_model": True,
    "drift_detected": False,
    "performance_degraded": False,
    "has_labels": True,
    "force": False,
}


@pytest.mark.parametrize(
    ("changes", "retrain", "reason"),
    [
        ({}, False, "no drift and no performance drop"),
        ({"has_model": False}, True, "no model is deployed yet"),
        ({"drift_detected": True}, True, "drift in body_mass_g"),
        ({"performance_degraded": True}, True, "fell under its bound on accuracy"),
        ({"force": True}, True, "forced by --force"),
        ({"drift_detected": True, "has_labels": False}, False, "no labels to train on"),
    ],
)
def test_decision_and_reason(changes, retrain, reason):
    decision = decide(
        **{**BASE, **changes}, drifted_features=["body_mass_g"], degraded_metrics=["accuracy"]
    )
    assert decision.retrain is retrain
    assert reason in decision.reason


def test_record_lists_each_threshold_against_its_value():
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
    text = record_markdown(
        decide(**{**BASE, "drift_detected": True, "performance_degraded": True}), details
    )
    assert "# Decision: RETRAIN" in text
    assert "| body_mass_g | 0.1200 | js 0.1 | js |" in text
    assert "| accuracy | 0.7000 | 0.8 | **under** |" in text
    assert "deployed version: 3" in text and "small batch" in text
