"""Checks of a whole config that no single settings class can make on its own.

Each check raises :class:`ConfigError` with one line that names the field, so that a config that
loads is one the pipeline can run: nothing fails later, after a batch was read or a model trained.
Column names are checked against what the config knows at load (``data.features``, ``exclude``,
``key``, ``label``); when ``data.features`` is empty the columns are only known from the batch,
and :func:`check_columns` runs again where the batch is read (``run_local``, before any task;
the validate step on a cluster).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from driftgate.errors import ConfigError, DataError
from driftgate.models.metrics import CLASSIFICATION_METRIC_NAMES
from driftgate.models.tasks import LOWER_IS_BETTER

if TYPE_CHECKING:
    from driftgate.pipelines.config import Config

# Metrics that are shares or probabilities: a bound outside [0, 1] never or always holds.
UNIT_METRICS = frozenset(CLASSIFICATION_METRIC_NAMES)


def _fail(field: str, problem: str, source: str, hint: str | None = None) -> None:
    raise ConfigError(f"field {field!r}: {problem}", file=source, hint=hint)


def _check_bounds(field: str, table: dict[str, float], source: str, change: bool) -> None:
    """Metric bounds in their domain: shares in [0, 1], errors ≥ 0, R² ≤ 1, allowed changes ≥ 0."""
    for metric, bound in table.items():
        where = f"{field}.{metric}"
        if not math.isfinite(bound):
            _fail(where, f"{bound} is not a finite number", source)
        if change and bound < 0:
            _fail(where, f"{bound} is negative; it is the largest allowed worsening", source)
        if metric in UNIT_METRICS and not 0 <= bound <= 1:
            _fail(where, f"{bound} is outside [0, 1]", source, "write shares, not percentages")
        if metric in LOWER_IS_BETTER and bound < 0:
            _fail(where, f"{bound} is negative; {metric} is never below 0", source)
        if metric == "r2" and bound > 1:
            _fail(where, f"{bound} is over 1, the best possible r2", source)
        if metric == "calibration" and bound < 0:
            _fail(where, f"{bound} is negative", source)


def check_domains(config: Config, source: str) -> None:
    """Weights, ranges and thresholds of the step settings within their domains."""
    _check_bounds("performance.thresholds", config.performance.thresholds, source, False)
    _check_bounds("evaluation.value_thresholds", config.evaluation.value_thresholds, source, False)
    _check_bounds("evaluation.change_thresholds", config.evaluation.change_thresholds, source, True)
    for column, (low, high) in config.validation.ranges.items():
        if not (math.isfinite(low) and math.isfinite(high) and low <= high):
            _fail(
                f"validation.ranges.{column}",
                f"[{low}, {high}] is not a range of finite numbers with min <= max",
                source,
            )
    keras = config.training.keras
    for units in keras.hidden_units:
        if units < 1:
            _fail("training.keras.hidden_units", f"a layer of {units} units", source)
    if keras.batch_size != "auto" and keras.batch_size < 1:
        _fail("training.keras.batch_size", f"{keras.batch_size} is not auto or >= 1", source)


def check_registry_mount(config: Config, source: str) -> None:
    """The default registry (and batch) locations lie under the PVCs the pipeline mounts."""
    platform = config.platform
    for field, uri, pvc, mount in (
        ("registry_uri", config.registry_uri, platform.registry_pvc, platform.registry_mount_path),
        ("batch_uri", config.batch_uri, platform.data_pvc, platform.data_mount_path),
    ):
        if not pvc or (field == "batch_uri" and "://" in uri):
            continue
        path = PurePosixPath(uri)
        inside = path.is_absolute() and ".." not in path.parts and path.is_relative_to(mount)
        if not inside:
            knob = "registry" if field == "registry_uri" else "data"
            _fail(
                field,
                f"{uri!r} is outside {mount}, where platform.{knob}_pvc {pvc!r} is mounted; the "
                "pipeline pods would not see it",
                source,
                f"put it under {mount}, or set platform.{knob}_mount_path",
            )


def named_columns(config: Config) -> Iterable[tuple[str, str]]:
    """Every (field, column) pair a step looks up in the data."""
    for name in config.evaluation.slices:
        yield "evaluation.slices", name
    for field, table in (
        ("drift.features", config.drift.features),
        ("drift.weights", config.drift.weights),
        ("validation.ranges", config.validation.ranges),
    ):
        for name in table:
            yield f"{field}.{name}", name


def check_data(config: Config, source: str) -> None:
    """The label and the key are never listed as features, excluded or categorical columns."""
    data = config.data
    for field in ("features", "exclude", "categorical"):
        names = getattr(data, field)
        if data.label in names or (data.key and data.key in names):
            what = "the label" if data.label in names else "the key"
            _fail(f"data.{field}", f"names {what} column", source)
    if overlap := sorted(set(data.features) & set(data.exclude)):
        _fail("data.exclude", f"{overlap[0]!r} is also in data.features", source)


def check_columns(config: Config, source: str, columns: list[str] | None = None) -> None:
    """Columns named in the settings are features of the data.

    Args:
        config: The config.
        source: What is named in the error: the config file, or the batch when ``columns``
            come from one.
        columns: The feature columns, when known (from a batch or a schema); otherwise
            ``data.features`` when set, and in any case never ``data.exclude``, ``key`` or label.

    Raises:
        ConfigError: A field names a column that is not a feature.
    """
    data = config.data
    known = columns if columns is not None else (data.features or None)
    for field, name in named_columns(config):
        if name in data.not_features:
            where = "is data.key" if name == data.key else "is in data.exclude"
            _fail(field, f"{name!r} {where}, never a feature", source, "name a feature column")
        if name == data.label and not field.startswith("evaluation.slices"):
            _fail(field, f"{name!r} is the label, not a feature", source)
        if known is not None and name not in known and name != data.label:
            where = "the batch's columns" if columns is not None else "data.features"
            _fail(
                field,
                f"{name!r} is not among {where}",
                source,
                f"name one of {', '.join(known)}",
            )


def check_batch_columns(config: Config, batch_uri: str) -> None:
    """Runs :func:`check_columns` on a batch's columns when ``data.features`` is empty.

    A batch that cannot be read is left to the pipeline, which reports it with its own error.

    Raises:
        ConfigError: A field names a column the batch does not have; names the batch.
    """
    from driftgate.data.tabular.files import column_names

    data = config.data
    if data.features or next(named_columns(config), None) is None:
        return
    try:
        names = column_names(batch_uri, data.csv_options())
    except DataError:
        return
    features = [n for n in names if n != data.label and n not in data.not_features]
    check_columns(config, batch_uri, features)
