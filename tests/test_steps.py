"""The steps' cores run as the thin KFP wrappers and the replay call them; settings stand apart."""

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftgate.components.check.core import run_step as check_step
from driftgate.components.validate.core import run_step as validate_step
from driftgate.data.dataspec import DataSettings
from driftgate.errors import ConfigError, DataError
from driftgate.observe.alerts import AlertSettings
from driftgate.registry.store import Registry
from driftgate.settings.performance import PerformanceSettings
from driftgate.settings.validation import ValidationSettings
from driftgate.stats import DriftSettings

DATA = DataSettings(label="species", exclude=["year"])
STEPS = ("ingest", "validate", "check", "decide", "train", "evaluate", "notify", "push")


def _imported_after(statement: str) -> set[str]:
    """The top-level and driftgate modules a fresh interpreter holds after ``statement``."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_config_imports_settings_not_the_steps_cores():
    loaded = _imported_after("import driftgate.pipelines.config")
    assert not {f"driftgate.components.{step}" for step in STEPS} & loaded
    assert {"driftgate.settings.gate", "driftgate.settings.training"} <= loaded


def test_the_settings_package_imports_nothing_heavy():
    modules = (
        "drift",
        "evaluation",
        "gate",
        "optimisation",
        "performance",
        "training",
        "validation",
    )
    loaded = _imported_after("\n".join(f"import driftgate.settings.{m}" for m in modules))
    heavy = {"tensorflow", "tensorflow_model_analysis", "apache_beam", "pyarrow", "pandas"}
    assert not heavy & loaded


@pytest.fixture
def batch(tmp_path, penguins_frame):
    path = tmp_path / "batch.parquet"
    pq.write_table(pa.Table.from_pandas(penguins_frame, preserve_index=False), path)
    return path


def test_the_validate_step_reports_alerts_and_then_raises_a_blocked_batch(tmp_path, batch):
    sink = tmp_path / "alerts.jsonl"
    step = validate_step(
        batch,
        tmp_path / "validated.parquet",
        Registry(tmp_path / "registry", "penguins"),
        DATA,
        ValidationSettings(ranges={"body_mass_g": (0, 10)}),
        [("validation.ranges.body_mass_g", "body_mass_g")],
        "s3://bucket/batch.csv",
        "run-1",
        AlertSettings(file=str(sink)),
    )
    assert step.result.schema_inferred and step.alert is not None
    assert json.loads(sink.read_text())["kind"] == "anomalies"
    assert "**BLOCKED**" in step.markdown
    assert step.markdown.endswith(f"## Alerts\n\n- anomalies alert written to {sink}\n")
    with pytest.raises(DataError, match=r"body_mass_g.*outside \[0.0, 10.0\]"):
        step.raise_if_blocked()


def test_the_validate_step_without_alert_settings_sends_nothing(tmp_path, batch):
    step = validate_step(
        batch,
        tmp_path / "validated.parquet",
        Registry(tmp_path / "registry", "penguins"),
        DATA,
        ValidationSettings(),
        [],
        str(batch),
        None,
        None,
    )
    assert step.alert is None and "## Alerts" not in step.markdown
    step.raise_if_blocked()  # nothing blocks
    assert pq.read_table(tmp_path / "validated.parquet").num_rows == step.result.rows


def test_a_config_field_naming_a_missing_column_fails_validate_before_any_training(tmp_path, batch):
    registry = Registry(tmp_path / "registry", "penguins")
    with pytest.raises(ConfigError) as raised:
        validate_step(
            batch,
            tmp_path / "validated.parquet",
            registry,
            DATA,
            ValidationSettings(),
            [("evaluation.slices", "isle")],
            "s3://bucket/batch.csv",
            None,
            None,
        )
    message = raised.value.one_line()
    assert message.startswith("s3://bucket/batch.csv: field 'evaluation.slices' names 'isle'")
    assert "island" in message and not (tmp_path / "validated.parquet").exists()


def test_the_check_step_without_a_deployed_model_says_so(tmp_path, batch):
    step = check_step(
        batch,
        Registry(tmp_path / "registry", "penguins"),
        DriftSettings(),
        PerformanceSettings(),
        "species",
        True,
        0.05,
    )
    assert step.result.deployed_version is None and step.generation == 0
    assert step.markdown.startswith("No deployed model yet")
    assert "No deployed model yet" in step.html
