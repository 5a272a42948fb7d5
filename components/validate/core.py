"""Validates a batch against the schema (inferring the schema on the very first run).

Checks, in the spirit of TFDV's ``validate_statistics``: missing and unexpected columns, text in
numeric columns, NaN and infinity, all-missing columns, too many missing values, unseen
categories, values outside configured ranges, and rows without a label. Blocking anomalies stop
the run; the validated batch is written with every column cast to its schema type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from driftgate import schema as schemas
from driftgate import tasks
from driftgate.alerts import Alert
from driftgate.dataspec import DataSettings
from driftgate.errors import DataError, quote
from driftgate.tabular.parquetfile import iter_parquet, write_parquet

log = logging.getLogger(__name__)
Reason = anomalies_pb2.AnomalyInfo.Type
NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
EXAMPLES = 3


class ValidationSettings(BaseModel):
    """Which anomalies block a run.

    Attributes:
        allow_extra_columns: Accept columns the schema does not know (they are dropped).
        max_unseen_fraction: Largest share of rows with a value outside a categorical
            feature's domain that is only a warning (such values also count toward drift);
            above it the batch is rejected. New label classes never block: they are a reason
            to retrain.
        presence_slack: On the first run, how far below the observed share of present values
            ``presence.min_fraction`` is set.
        ranges: Hard ``[min, max]`` bounds for numeric features; values outside block the run.
    """

    model_config = ConfigDict(extra="forbid")

    allow_extra_columns: bool = False
    max_unseen_fraction: float = Field(0.1, ge=0, le=1)
    presence_slack: float = Field(0.1, ge=0, le=1)
    ranges: dict[str, tuple[float, float]] = {}


@dataclass
class Anomaly:
    """One problem found in the batch."""

    column: str | None
    reason: str
    message: str
    blocking: bool

    def error(self, source: str) -> DataError:
        """The one-line error this anomaly raises."""
        return DataError(self.message, file=source, column=self.column)


@dataclass
class ValidationResult:
    """The outcome of validating a batch."""

    schema: schema_pb2.Schema
    schema_inferred: bool
    rows: int
    has_labels: bool
    anomalies: list[Anomaly] = field(default_factory=list)
    new_classes: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[Anomaly]:
        """Anomalies that stop the run."""
        return [a for a in self.anomalies if a.blocking]

    def to_proto(self) -> anomalies_pb2.Anomalies:
        """The anomalies as a tensorflow-metadata ``Anomalies`` proto."""
        proto = anomalies_pb2.Anomalies(anomaly_name_format=anomalies_pb2.Anomalies.SERIALIZED_PATH)
        proto.baseline.CopyFrom(self.schema)
        for anomaly in self.anomalies:
            key = anomaly.column or ""
            info = proto.anomaly_info[key] if anomaly.column else proto.dataset_anomaly_info
            severity = (
                anomalies_pb2.AnomalyInfo.ERROR
                if anomaly.blocking
                else anomalies_pb2.AnomalyInfo.WARNING
            )
            info.severity = max(info.severity, severity)
            info.short_description = (
                anomaly.reason if not info.short_description else "Multiple errors"
            )
            info.description = (
                info.description + " " if info.description else ""
            ) + anomaly.message
            info.reason.add(
                type=Reason.Value(anomaly.reason),
                short_description=anomaly.reason,
                description=anomaly.message,
            )
        return proto

    def markdown(self, source: str) -> str:
        """A Markdown report for the Kubeflow UI."""
        lines = [
            f"# Data validation: {source}",
            "",
            f"- rows: {self.rows:,}",
            "- schema: "
            + (
                "inferred from this batch (first run)"
                if self.schema_inferred
                else "of the deployed model"
            ),
            f"- labels: {'present' if self.has_labels else 'absent'}",
            f"- verdict: **{'BLOCKED' if self.blocking else 'passed'}**",
            "",
        ]
        if not self.anomalies:
            lines.append("No anomalies.")
        else:
            lines += ["| severity | column | anomaly | detail |", "|---|---|---|---|"]
            for a in self.anomalies:
                sev = "error" if a.blocking else "warning"
                lines.append(f"| {sev} | {a.column or '(dataset)'} | {a.reason} | {a.message} |")
        return "\n".join(lines) + "\n"


@dataclass
class _Column:
    """Running counts for one column of the batch."""

    rows: int = 0
    missing: int = 0
    nan: int = 0
    inf: int = 0
    not_numbers: list[tuple[int, str]] = field(default_factory=list)
    not_number_count: int = 0
    unseen: dict[str, int] = field(default_factory=dict)
    out_of_range: int = 0
    out_of_range_example: tuple[int, float] | None = None
    missing_rows: list[int] = field(default_factory=list)


def _first_rows(mask: pa.Array, offset: int, limit: int = EXAMPLES) -> list[int]:
    positions = np.flatnonzero(mask.to_numpy(zero_copy_only=False))[:limit]
    return [offset + int(p) + 1 for p in positions]


def _as_numbers(column: pa.Array, stats: _Column, offset: int) -> pa.Array:
    """Casts a column to float64, recording text that is not a number."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return pc.cast(column, pa.float64())
    if pa.types.is_boolean(column.type):
        return pc.cast(pc.cast(column, pa.int8()), pa.float64())
    text = pc.cast(column, pa.string())
    ok = pc.match_substring_regex(text, NUMBER)
    bad = pc.and_(pc.invert(pc.fill_null(ok, True)), pc.is_valid(text))
    bad_count = pc.sum(bad).as_py() or 0
    if bad_count:
        stats.not_number_count += bad_count
        if len(stats.not_numbers) < EXAMPLES:
            for row in _first_rows(bad, offset):
                stats.not_numbers.append((row, text[row - offset - 1].as_py()))
    numbers = pc.utf8_trim_whitespace(pc.if_else(bad, pa.scalar(None, pa.string()), text))
    return pc.cast(numbers, pa.float64())  # NUMBER allows the padding that the cast refuses


def _check_numbers(
    values: pa.Array, stats: _Column, bounds: tuple[float, float] | None, offset: int
) -> None:
    x = values.to_numpy(zero_copy_only=False)
    valid = ~np.isnan(x) if values.null_count else np.ones(x.size, bool)
    stats.nan += int(np.isnan(x).sum()) - values.null_count
    stats.inf += int(np.isinf(x).sum())
    if bounds is not None:
        outside = valid & np.isfinite(x) & ((x < bounds[0]) | (x > bounds[1]))
        count = int(outside.sum())
        if count:
            stats.out_of_range += count
            if stats.out_of_range_example is None:
                first = int(np.flatnonzero(outside)[0])
                stats.out_of_range_example = (offset + first + 1, float(x[first]))


def _check_categories(values: pa.Array, domain: pa.Array | None, stats: _Column) -> None:
    if domain is None:
        return
    unseen = pc.and_(pc.invert(pc.is_in(values, value_set=domain)), pc.is_valid(values))
    if pc.any(unseen).as_py():
        counts = pc.value_counts(pc.filter(values, unseen))
        for value, count in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            stats.unseen[value] = stats.unseen.get(value, 0) + count


def _fmt_rows(rows: list[int], total: int) -> str:
    shown = ", ".join(map(str, rows))
    return f"row {shown}" if total == 1 else f"rows {shown}{', …' if total > len(rows) else ''}"


class Validator:
    """Validates one batch against a schema and writes the validated copy."""

    def __init__(
        self, schema: schema_pb2.Schema, data: DataSettings, settings: ValidationSettings
    ) -> None:
        self.schema = schema
        self.data = data
        self.settings = settings
        self.kinds = schemas.feature_kinds(schema)
        self.label = self.kinds.label or data.label
        self.domains = {
            f.name: pa.array(values, pa.string())
            for f in schema.feature
            if (values := schemas.domain_values(f)) is not None
        }
        self.bounds = dict(settings.ranges)
        for f in schema.feature:
            if (
                f.HasField("float_domain")
                and f.float_domain.HasField("min")
                and f.name not in self.bounds
            ):
                self.bounds[f.name] = (
                    f.float_domain.min,
                    f.float_domain.max if f.float_domain.HasField("max") else np.inf,
                )

    def columns_anomalies(self, names: list[str]) -> tuple[list[Anomaly], list[str], bool]:
        """Missing and unexpected columns; returns anomalies, the columns to keep, has-labels."""
        anomalies = []
        present = set(names)
        for feature in self.kinds.features:
            if feature not in present:
                anomalies.append(
                    Anomaly(
                        feature,
                        "SCHEMA_MISSING_COLUMN",
                        "is missing from the batch (the schema requires it)",
                        True,
                    )
                )
        has_labels = self.label in present
        if not has_labels and self.data.require_labels:
            anomalies.append(
                Anomaly(
                    self.label,
                    "SCHEMA_MISSING_COLUMN",
                    "the label column is missing and data.require_labels is set",
                    True,
                )
            )
        known = {*self.kinds.features, self.label, *self.data.not_features}
        for name in names:
            if name not in known:
                blocking = not self.settings.allow_extra_columns
                anomalies.append(
                    Anomaly(
                        name,
                        "SCHEMA_NEW_COLUMN",
                        "is not in the schema" + ("" if blocking else "; dropped"),
                        blocking,
                    )
                )
        keep = [f.name for f in self.schema.feature if f.name in present]
        return anomalies, keep, has_labels

    def run(
        self, batches: Iterator[pa.RecordBatch], dest: str | Path, keep: list[str]
    ) -> tuple[int, dict[str, _Column]]:
        """Streams the batch, checking values and writing typed columns to ``dest``."""
        stats = {name: _Column() for name in keep}
        target = pa.schema(
            [(n, schemas.arrow_type(schemas.get_feature(self.schema, n))) for n in keep]
        )
        offset = 0

        def typed() -> Iterator[pa.RecordBatch]:
            nonlocal offset
            for batch in batches:
                columns = []
                for name in keep:
                    column, column_stats = batch.column(name), stats[name]
                    column_stats.rows += len(column)
                    column_stats.missing += column.null_count
                    if target.field(name).type == pa.float64():
                        column = _as_numbers(column, column_stats, offset)
                        _check_numbers(column, column_stats, self.bounds.get(name), offset)
                    else:
                        column = pc.cast(column, pa.string())
                        _check_categories(column, self.domains.get(name), column_stats)
                        if (
                            name == self.label
                            and column.null_count
                            and len(column_stats.missing_rows) < EXAMPLES
                        ):
                            column_stats.missing_rows += _first_rows(pc.is_null(column), offset)
                    columns.append(column)
                offset += batch.num_rows
                yield pa.RecordBatch.from_arrays(columns, schema=target)

        rows, _ = write_parquet(typed(), str(dest))
        return rows, stats

    def _unseen_anomaly(self, name: str, s: _Column) -> Anomaly:
        """New label classes are a reason to retrain; new feature values block above a share."""
        unseen = sum(s.unseen.values())
        share = unseen / max(s.rows - s.missing, 1)
        top = sorted(s.unseen.items(), key=lambda kv: -kv[1])[:EXAMPLES]
        values = ", ".join(f"{quote(v)} ({c}x)" for v, c in top)
        if name == self.label:
            return Anomaly(
                name,
                "ENUM_TYPE_UNEXPECTED_STRING_VALUES",
                f"new class(es) in the labels: {values}; a retrain will learn them",
                False,
            )
        limit = self.settings.max_unseen_fraction
        return Anomaly(
            name,
            "ENUM_TYPE_UNEXPECTED_STRING_VALUES",
            f"{unseen} value(s) ({share:.1%} of rows) not seen in training: {values}"
            + (f"; over validation.max_unseen_fraction={limit}" if share > limit else ""),
            share > limit,
        )

    def value_anomalies(self, stats: dict[str, _Column]) -> list[Anomaly]:
        """Anomalies found in the values of each column."""
        anomalies = []
        for name, s in stats.items():
            feature = schemas.get_feature(self.schema, name)
            if s.not_number_count:
                examples = ", ".join(f"{quote(v)} (row {r})" for r, v in s.not_numbers)
                anomalies.append(
                    Anomaly(
                        name,
                        "FLOAT_TYPE_STRING_NOT_FLOAT",
                        f"expected numbers, found {s.not_number_count} text value(s): {examples}",
                        True,
                    )
                )
            if name == self.label and s.missing:
                anomalies.append(
                    Anomaly(
                        name,
                        "FEATURE_TYPE_LOW_FRACTION_PRESENT",
                        f"all {s.rows:,} rows have no label: the batch is checked as unlabelled"
                        if s.missing >= s.rows
                        else f"{s.missing} row(s) have no label "
                        f"({_fmt_rows(s.missing_rows, s.missing)}); they are neither scored "
                        "nor trained on",
                        False,
                    )
                )
            elif s.rows and s.missing >= s.rows:
                anomalies.append(
                    Anomaly(
                        name,
                        "FEATURE_TYPE_NO_VALUES",
                        f"has no values: all {s.rows:,} rows are missing",
                        True,
                    )
                )
            elif (
                s.rows
                and feature.presence.min_fraction
                and (s.rows - s.missing) / s.rows < feature.presence.min_fraction
            ):
                share = (s.rows - s.missing) / s.rows
                anomalies.append(
                    Anomaly(
                        name,
                        "FEATURE_TYPE_LOW_FRACTION_PRESENT",
                        f"only {share:.1%} of rows have a value; the schema requires at least "
                        f"{feature.presence.min_fraction:.1%}",
                        True,
                    )
                )
            if s.nan:
                anomalies.append(
                    Anomaly(
                        name,
                        "FLOAT_TYPE_HAS_NAN",
                        f"holds {s.nan} NaN value(s); write missing values as empty cells",
                        True,
                    )
                )
            if s.inf:
                anomalies.append(
                    Anomaly(name, "FLOAT_TYPE_HAS_INF", f"holds {s.inf} infinite value(s)", True)
                )
            if s.out_of_range and s.out_of_range_example:
                lo, hi = self.bounds[name]
                row, value = s.out_of_range_example
                anomalies.append(
                    Anomaly(
                        name,
                        "FLOAT_TYPE_BIG_FLOAT" if value > hi else "FLOAT_TYPE_SMALL_FLOAT",
                        f"{s.out_of_range} value(s) outside [{lo}, {hi}], "
                        f"e.g. {value} at row {row}",
                        True,
                    )
                )
            if s.unseen:
                anomalies.append(self._unseen_anomaly(name, s))
        return anomalies


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
        task = tasks.first_batch_task(data.task, str(batch_path), data.label, arrow_schema.names)
        log.info("task: %s (data.task is %s)", task, data.task)
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


def anomalies_alert(
    result: ValidationResult, source: str, model: str, run: str | None
) -> Alert | None:
    """The alert for a blocked batch (None when nothing blocks)."""
    if not result.blocking:
        return None
    fields = {a.column or "(dataset)": a.message for a in result.blocking[:10]}
    return Alert(
        "anomalies",
        model,
        f"{model}: batch rejected by validation",
        f"{source} has {len(result.blocking)} blocking "
        f"anomal{'y' if len(result.blocking) == 1 else 'ies'}; "
        "nothing was trained or pushed.",
        fields,
        run,
    )


def raise_if_blocked(result: ValidationResult, source: str) -> None:
    """Raises the first blocking anomaly as a one-line error that counts the others.

    Raises:
        DataError: The batch has at least one blocking anomaly.
    """
    blocking = result.blocking
    if not blocking:
        return
    error = blocking[0].error(source)
    if len(blocking) > 1:
        others = ", ".join(f"{a.column}: {a.reason}" for a in blocking[1:4])
        error = DataError(
            f"{error.problem} (and {len(blocking) - 1} more: {others})",
            file=source,
            column=blocking[0].column,
        )
    raise error
