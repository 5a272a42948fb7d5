"""Validates a batch against the schema (inferring the schema on the very first run).

Checks, in the spirit of TFDV's ``validate_statistics``: missing and unexpected columns, text in
numeric columns, NaN and infinity, all-missing columns, too many missing values, unseen
categories, values outside configured ranges, and rows without a label. Blocking anomalies stop
the run; the validated batch is written with every column cast to its schema type.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate.components.validate.result import (
    Anomaly,
    ValidationResult,
    anomalies_alert,
    raise_if_blocked,
)
from driftgate.components.validate.validator import Validator
from driftgate.data import schema as schemas
from driftgate.data.dataspec import DataSettings
from driftgate.data.schema import load_schema
from driftgate.data.tabular.parquetfile import iter_parquet
from driftgate.errors import ConfigError
from driftgate.models import tasks
from driftgate.observe.alerts import Alert, AlertSettings, send
from driftgate.registry.store import SCHEMA_FILE, Registry
from driftgate.settings.validation import ValidationSettings

log = logging.getLogger(__name__)


def validate(
    batch_path: str | Path,
    dest: str | Path,
    data: DataSettings,
    settings: ValidationSettings,
    schema: schema_pb2.Schema | None = None,
    source: str | None = None,
) -> ValidationResult:
    """Validates a batch and writes its validated copy.

    Args:
        batch_path: The ingested Parquet batch.
        dest: Where to write the validated batch (schema columns, schema types).
        data: Label and feature settings.
        settings: Which anomalies block.
        schema: The deployed model's schema; None on the first run (it is inferred).
        source: The batch's original path or URI, for messages.

    Returns:
        The schema used and the anomalies found. Blocking anomalies do not raise here: the
        caller reports them and then calls :func:`raise_if_blocked`.
    """
    source = source or str(batch_path)
    arrow_schema = pq.read_schema(batch_path)
    inferred = schema is None
    if schema is None:
        choice = tasks.first_batch_task(data.task, str(batch_path), data.label, arrow_schema.names)
        task = choice.task
        log.info("task: %s (%s)", task, choice.reason)
        schema = schemas.infer_schema(
            iter_parquet(str(batch_path)),
            arrow_schema,
            label=data.label,
            features=data.features or None,
            exclude=data.not_features,
            categorical=data.categorical,
            max_domain_size=data.max_domain_size,
            presence_slack=settings.presence_slack,
            numeric_label=task == tasks.REGRESSION,
        )
        tasks.record_choice(schema, choice)
    validator = Validator(schema, data, settings)
    anomalies, keep, has_labels = validator.columns_anomalies(arrow_schema.names)
    rows, stats = validator.run(iter_parquet(str(batch_path), columns=keep), dest, keep)
    anomalies += validator.value_anomalies(stats)
    classes = schemas.domain_values(schemas.get_feature(schema, data.label)) if inferred else None
    if has_labels and classes is not None and len(classes) < 2:
        anomalies.append(
            Anomaly(
                data.label,
                "FEATURE_TYPE_LOW_UNIQUE",
                f"the first batch has {len(classes)} label class(es) ({', '.join(classes)}); "
                "training a classifier needs at least 2",
                True,
            )
        )
    label_stats = stats.get(data.label)
    if label_stats is not None and label_stats.missing >= label_stats.rows:
        has_labels = False
    new_classes = sorted(label_stats.unseen) if label_stats is not None and has_labels else []
    result = ValidationResult(schema, inferred, rows, has_labels, anomalies, new_classes)
    for anomaly in anomalies:
        log.log(
            logging.ERROR if anomaly.blocking else logging.WARNING,
            "%s: %s: %s",
            anomaly.column or "(dataset)",
            anomaly.reason,
            anomaly.message,
        )
    return result


@dataclass
class ValidateStep:
    """The validate step's outputs: the result, the alert for a blocked batch and the report."""

    result: ValidationResult
    source: str
    alert: Alert | None
    markdown: str

    def raise_if_blocked(self) -> None:
        """Raises the first blocking anomaly as a one-line error (see :func:`raise_if_blocked`).

        Raises:
            DataError: The batch has at least one blocking anomaly.
        """
        raise_if_blocked(self.result, self.source)


def run_step(
    batch_path: str | Path,
    dest: str | Path,
    registry: Registry,
    data: DataSettings,
    settings: ValidationSettings,
    named_columns: list[tuple[str, str]],
    source: str,
    run: str | None,
    alerts: AlertSettings | None,
) -> ValidateStep:
    """Validates a batch against the deployed version's schema and alerts on a blocked batch.

    Blocking anomalies do not raise here, so the caller can write the report first and then
    call :meth:`ValidateStep.raise_if_blocked`.

    Args:
        batch_path: The ingested Parquet batch.
        dest: Where to write the validated batch.
        registry: The model's registry; its production version's schema is the baseline.
        data: Label and feature settings.
        settings: Which anomalies block.
        named_columns: (config field, column) pairs the later steps look up; a column the
            batch lacks fails here, before any training, with one line naming the field.
        source: The batch's original path or URI, for messages.
        run: The run's name, in the alert.
        alerts: Where alerts go; None decides the alert without sending it (the replay).

    Returns:
        The result, its alert and the Markdown report (with the alert's delivery lines).

    Raises:
        ConfigError: A config field names a column the batch does not have.
    """
    columns = set(pq.read_schema(batch_path).names)
    for field, name in named_columns:
        if name not in columns and name != data.label:
            raise ConfigError(
                f"field {field!r} names {name!r}, which is not a column of the batch",
                file=source,
                hint=f"name one of {', '.join(sorted(columns))}",
            )
    version = registry.production()
    deployed = load_schema(registry.verified(version).path / SCHEMA_FILE) if version else None
    result = validate(batch_path, dest, data, settings, deployed, source)
    text = result.markdown(source)
    alert = anomalies_alert(result, source, registry.model, run)
    if alert is not None and alerts is not None:
        text += "\n## Alerts\n\n" + "".join(f"- {line}\n" for line in send(alert, alerts))
    return ValidateStep(result, source, alert, text)
