"""Checks the columns and values of a batch against a schema while writing its typed copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate.components.validate.columns import (
    EXAMPLES,
    ColumnCounts,
    as_numbers,
    check_categories,
    check_numbers,
    first_rows,
    fmt_rows,
)
from driftgate.components.validate.result import Anomaly
from driftgate.data import schema as schemas
from driftgate.data.dataspec import DataSettings
from driftgate.data.tabular.parquetfile import write_parquet
from driftgate.errors import quote
from driftgate.settings.validation import ValidationSettings


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
    ) -> tuple[int, dict[str, ColumnCounts]]:
        """Streams the batch, checking values and writing typed columns to ``dest``."""
        stats = {name: ColumnCounts() for name in keep}
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
                        column = as_numbers(column, column_stats, offset)
                        check_numbers(column, column_stats, self.bounds.get(name), offset)
                    else:
                        column = pc.cast(column, pa.string())
                        check_categories(column, self.domains.get(name), column_stats)
                        if (
                            name == self.label
                            and column.null_count
                            and len(column_stats.missing_rows) < EXAMPLES
                        ):
                            column_stats.missing_rows += first_rows(pc.is_null(column), offset)
                    columns.append(column)
                offset += batch.num_rows
                yield pa.RecordBatch.from_arrays(columns, schema=target)

        rows, _ = write_parquet(typed(), str(dest))
        return rows, stats

    def _unseen_anomaly(self, name: str, s: ColumnCounts) -> Anomaly:
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

    def value_anomalies(self, stats: dict[str, ColumnCounts]) -> list[Anomaly]:
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
                        f"({fmt_rows(s.missing_rows, s.missing)}); they are neither scored "
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
