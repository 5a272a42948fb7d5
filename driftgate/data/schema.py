"""The data schema: a tensorflow-metadata ``Schema`` proto and helpers around it.

driftgate's schema conventions (TFDV's):
- numeric features are ``FLOAT`` with a ``float_domain`` that disallows NaN and infinity;
- categorical features are ``BYTES`` with an inline ``string_domain`` when they have at most
  ``max_domain_size`` distinct values;
- the label is present in the ``TRAINING`` environment but not in ``SERVING``;
- ``presence.min_fraction`` is the smallest share of non-missing values a batch may have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

TRAINING, SERVING = "TRAINING", "SERVING"
NUMERIC, CATEGORICAL = "numeric", "categorical"


@dataclass(frozen=True)
class FeatureKinds:
    """Which columns are features of which kind, and which is the label."""

    label: str | None
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def features(self) -> tuple[str, ...]:
        """All feature columns: numeric first, then categorical, each in schema order."""
        return self.numeric + self.categorical


def is_label(feature: schema_pb2.Feature) -> bool:
    """Tells whether a schema feature is the label (absent at serving time)."""
    return SERVING in feature.not_in_environment


def feature_kinds(schema: schema_pb2.Schema) -> FeatureKinds:
    """Reads the label and the feature kinds from a schema."""
    label = None
    numeric: list[str] = []
    categorical: list[str] = []
    for feature in schema.feature:
        if is_label(feature):
            label = feature.name
        elif feature.type == schema_pb2.BYTES:
            categorical.append(feature.name)
        else:
            numeric.append(feature.name)
    return FeatureKinds(label=label, numeric=tuple(numeric), categorical=tuple(categorical))


def get_feature(schema: schema_pb2.Schema, name: str) -> schema_pb2.Feature:
    """Returns the schema feature called ``name``."""
    for feature in schema.feature:
        if feature.name == name:
            return feature
    raise KeyError(name)


def arrow_type(feature: schema_pb2.Feature) -> pa.DataType:
    """The Arrow type a validated column of this feature has."""
    return pa.string() if feature.type == schema_pb2.BYTES else pa.float64()


def domain_values(feature: schema_pb2.Feature) -> list[str] | None:
    """The allowed values of a categorical feature, or None when unrestricted."""
    if feature.HasField("string_domain"):
        return list(feature.string_domain.value)
    return None


def _is_text(field: pa.Field) -> bool:
    return (
        pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type)
        or pa.types.is_boolean(field.type)
    )


def kinds_from_arrow(
    arrow_schema: pa.Schema,
    *,
    label: str | None,
    features: list[str] | None = None,
    exclude: list[str] | None = None,
    categorical: list[str] | None = None,
) -> FeatureKinds:
    """Feature kinds from column types: text and booleans are categorical, numbers numeric.

    Args:
        arrow_schema: Column names and types.
        label: The label column (never a feature).
        features: Feature columns; None means every column but the label and ``exclude``.
        exclude: Columns that are neither features nor label.
        categorical: Columns to treat as categorical even when numeric.

    Returns:
        The kinds, in column order.
    """
    excluded = set(exclude or [])
    names = features or [n for n in arrow_schema.names if n != label and n not in excluded]
    forced = set(categorical or [])
    is_categorical = {
        n: n in forced or _is_text(arrow_schema.field(n)) for n in names if n in arrow_schema.names
    }
    return FeatureKinds(
        label=label,
        numeric=tuple(n for n in names if not is_categorical.get(n, n in forced)),
        categorical=tuple(n for n in names if is_categorical.get(n, n in forced)),
    )


@dataclass
class _ColumnProfile:
    rows: int = 0
    present: int = 0
    values: set[str] | None = None


def _profile(batches: Iterable[pa.RecordBatch], categorical: set[str], max_domain: int):
    profiles: dict[str, _ColumnProfile] = {}
    for batch in batches:
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            profile = profiles.setdefault(
                name, _ColumnProfile(values=set() if name in categorical else None)
            )
            profile.rows += len(column)
            profile.present += len(column) - column.null_count
            if profile.values is not None:
                uniques = pc.unique(pc.cast(column, pa.string())).drop_null().to_pylist()
                profile.values.update(uniques)
                if len(profile.values) > max_domain:
                    profile.values = None
    return profiles


def infer_schema(
    batches: Iterable[pa.RecordBatch],
    arrow_schema: pa.Schema,
    *,
    label: str | None,
    features: list[str] | None = None,
    exclude: list[str] | None = None,
    categorical: list[str] | None = None,
    max_domain_size: int = 1000,
    presence_slack: float = 0.1,
    numeric_label: bool = False,
) -> schema_pb2.Schema:
    """Infers a schema from the first batch, the way TFDV's ``infer_schema`` would.

    Args:
        batches: The batch's rows.
        arrow_schema: Column names and Arrow types of the batch.
        label: The label column, if the batch is labelled.
        features: Feature columns; None means every column but the label and ``exclude``.
        exclude: Columns that are neither features nor label (ids, timestamps).
        categorical: Columns to treat as categorical even when numeric.
        max_domain_size: Categorical columns with more distinct values get no domain.
        presence_slack: How far below the observed share of present values a batch may fall.
        numeric_label: The label is a regression target (``FLOAT``), not a class (``BYTES``).

    Returns:
        The inferred schema.
    """
    kinds = kinds_from_arrow(
        arrow_schema, label=label, features=features, exclude=exclude, categorical=categorical
    )
    names = list(kinds.features)
    names.sort(
        key=lambda n: (
            arrow_schema.get_field_index(n) if n in arrow_schema.names else len(arrow_schema)
        )
    )
    categorical_set = set(kinds.categorical) | ({label} if label and not numeric_label else set())
    profiles = _profile(batches, categorical_set, max_domain_size)

    schema = schema_pb2.Schema()
    schema.default_environment.extend([TRAINING, SERVING])
    for name in [*names, *([label] if label else [])]:
        profile = profiles.get(name, _ColumnProfile())
        feature = schema.feature.add(name=name)
        if name in categorical_set:
            feature.type = schema_pb2.BYTES
            if profile.values is not None:
                feature.string_domain.value.extend(sorted(profile.values))
        else:
            feature.type = schema_pb2.FLOAT
            feature.float_domain.disallow_nan = True
            feature.float_domain.disallow_inf = True
        observed = profile.present / profile.rows if profile.rows else 0.0
        if name == label:
            feature.not_in_environment.append(SERVING)
            feature.presence.min_fraction = 1.0
        else:
            feature.presence.min_fraction = round(max(0.0, observed - presence_slack), 6)
    return schema


def save_schema(schema: schema_pb2.Schema, path: str | Path) -> None:
    """Writes a schema as text proto (reviewable in a diff, editable by hand)."""
    Path(path).write_text(text_format.MessageToString(schema))


def load_schema(path: str | Path) -> schema_pb2.Schema:
    """Reads a text-proto schema."""
    return text_format.Parse(Path(path).read_text(), schema_pb2.Schema())
