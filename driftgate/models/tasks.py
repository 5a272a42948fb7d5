"""Learning tasks: classification or regression, how each is recognised and judged.

The task is fixed when the first batch's schema is inferred: a regression label is a ``FLOAT``
feature in the schema, a classification label a ``BYTES`` one. Every later step reads it from the
schema or the model's metadata, so the task travels with the deployed model; why it was chosen
travels as a comment in the schema's annotation (:func:`record_choice`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate.data.schema import is_label
from driftgate.errors import ConfigError
from driftgate.models.metrics import REGRESSION_METRIC_NAMES

Task = Literal["classification", "regression"]
CLASSIFICATION: Task = "classification"
REGRESSION: Task = "regression"
# A numeric label with at least this many distinct values (and this share of rows) is a target.
MIN_DISTINCT_TARGETS = 20
MIN_DISTINCT_SHARE = 0.05
REASON_NOTE = "task chosen because "  # the schema annotation that records why

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "calibration")
REGRESSION_METRICS = REGRESSION_METRIC_NAMES
LOWER_IS_BETTER = frozenset({"rmse", "mae"})
PRIMARY = {CLASSIFICATION: "accuracy", REGRESSION: "rmse"}


def metrics_of(task: Task) -> tuple[str, ...]:
    """The metric names that apply to a task."""
    return REGRESSION_METRICS if task == REGRESSION else CLASSIFICATION_METRICS


class TaskChoice(NamedTuple):
    """A task and why it was chosen (the run summary and the validate log show both)."""

    task: Task
    reason: str


def explain_task(values: Iterable[pa.Array]) -> TaskChoice:
    """Regression for a numeric label with a non-integer value or with many distinct values.

    Text that parses as numbers counts as numbers ("18.5" is a decimal); any other text is a
    class name. A label of integer values (``3``, ``"18.0"``) is a regression target only with
    at least :data:`MIN_DISTINCT_TARGETS` distinct values, and that many per
    :data:`MIN_DISTINCT_SHARE` of the rows; fewer are class codes.

    Args:
        values: Chunks of the label column (text or numbers; nulls are ignored).

    Returns:
        The task and a clause saying why (``"has non-integer values such as 18.5"``).
    """
    distinct: set[float] = set()
    rows = 0
    for chunk in values:
        chunk = chunk.drop_null()
        rows += len(chunk)
        if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
            try:
                chunk = pc.cast(pc.utf8_trim_whitespace(chunk), pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return TaskChoice(CLASSIFICATION, "holds text that is not all numbers")
        elif not (pa.types.is_integer(chunk.type) or pa.types.is_floating(chunk.type)):
            return TaskChoice(CLASSIFICATION, f"holds {chunk.type} values, not numbers")
        if pa.types.is_floating(chunk.type):
            finite = chunk.filter(pc.is_finite(chunk))
            fraction = finite.filter(pc.not_equal(finite, pc.floor(finite)))
            if len(fraction):
                example = fraction[0].as_py()
                return TaskChoice(REGRESSION, f"has non-integer values such as {example:g}")
        distinct.update(pc.unique(chunk).to_pylist())
    counted = f"{len(distinct)} distinct integer values in {rows} rows"
    if len(distinct) >= MIN_DISTINCT_TARGETS and len(distinct) >= MIN_DISTINCT_SHARE * rows:
        return TaskChoice(REGRESSION, f"has {counted}")
    return TaskChoice(
        CLASSIFICATION,
        f"has {counted} (under {MIN_DISTINCT_TARGETS}, or under "
        f"{MIN_DISTINCT_SHARE:.0%} of the rows: class codes)",
    )


def infer_task(values: Iterable[pa.Array]) -> Task:
    """The task :func:`explain_task` chooses for a label column."""
    return explain_task(values).task


def first_batch_task(setting: str, batch_path: str, label: str, columns: list[str]) -> TaskChoice:
    """The task of a new model: the configured one, or inferred from the first batch's label.

    Args:
        setting: ``data.task``.
        batch_path: The first batch (Parquet).
        label: The label column.
        columns: The batch's columns.

    Returns:
        The task and why: ``data.task is regression`` or what the first batch's label holds.
    """
    from driftgate.data.tabular.parquetfile import iter_parquet

    if setting in (CLASSIFICATION, REGRESSION):
        return TaskChoice(setting, f"data.task is {setting}")  # type: ignore[arg-type]
    if label not in columns:
        return TaskChoice(CLASSIFICATION, f"data.task is auto and the first batch has no {label!r}")
    task, why = explain_task(batch.column(0) for batch in iter_parquet(batch_path, columns=[label]))
    return TaskChoice(task, f"data.task is auto and label {label!r} in the first batch {why}")


def record_choice(schema: schema_pb2.Schema, choice: TaskChoice) -> None:
    """Notes in the schema why its task was chosen, so the reason travels with the model."""
    schema.annotation.comment.append(f"{REASON_NOTE}{choice.reason}")


def reason_of(schema: schema_pb2.Schema) -> str | None:
    """Why the schema's task was chosen (see :func:`record_choice`); None for older schemas."""
    notes = [c for c in schema.annotation.comment if c.startswith(REASON_NOTE)]
    return notes[-1].removeprefix(REASON_NOTE) if notes else None


def task_of(schema: schema_pb2.Schema) -> Task:
    """The task a schema was inferred for: a numeric label means regression."""
    for feature in schema.feature:
        if is_label(feature):
            return REGRESSION if feature.type == schema_pb2.FLOAT else CLASSIFICATION
    return CLASSIFICATION


def check_task(task: str, config, source: str) -> None:
    """Refuses settings that contradict an explicit ``data.task`` (``auto`` is checked per run).

    Args:
        task: ``data.task``.
        config: The loaded :class:`~driftgate.pipelines.config.Config`.
        source: The config file, named in the error.

    Raises:
        ConfigError: Thresholds on the other task's metrics, or a classifier-only family.
    """
    if task not in (CLASSIFICATION, REGRESSION):
        return
    explicit = (
        ("performance", "thresholds"),
        ("evaluation", "value_thresholds"),
        ("evaluation", "change_thresholds"),
    )
    for section, name in explicit:
        settings = getattr(config, section)
        if name not in settings.model_fields_set:
            continue  # defaults name either task's metrics and apply per task
        wrong = sorted(set(getattr(settings, name)) - set(metrics_of(task)))  # type: ignore[arg-type]
        if wrong:
            raise ConfigError(
                f"field '{section}.{name}' names {wrong}, which a {task} model does not have",
                file=source,
                hint=f"use {list(metrics_of(task))}",  # type: ignore[arg-type]
            )
    if task == REGRESSION and config.training.family == "keras":
        raise ConfigError(
            "field 'training.family': keras builds a classifier, but data.task is regression",
            file=source,
            hint="use training.family sklearn or custom",
        )


def applicable(thresholds: dict[str, float], task: Task) -> dict[str, float]:
    """The thresholds whose metric the task has (an ``auto`` task may meet either kind)."""
    return {m: v for m, v in thresholds.items() if m in metrics_of(task)}


def change_thresholds(thresholds: dict[str, float], task: Task) -> dict[str, float]:
    """Change thresholds of the task; none configured means its primary metric may not worsen."""
    return applicable(thresholds, task) or {PRIMARY[task]: 0.0}


def violates(metric: str, value: float, bound: float) -> bool:
    """Whether a value is on the wrong side of a bound (an upper one for error metrics)."""
    return value > bound if metric in LOWER_IS_BETTER else value < bound
