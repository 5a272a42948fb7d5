"""Cron expressions in the form Kubeflow Pipelines expects.

KFP's scheduler parses cron with a leading seconds field (robfig/cron):
``second minute hour day-of-month month day-of-week``. A familiar five-field expression such as
``0 3 * * *`` is read there as "every minute of hour 3 where the seconds are 0 and…", i.e. the
fields shift by one. driftgate converts five fields to six (seconds ``0``) and says so, and
rejects anything KFP would not run as intended, naming the field and the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from driftgate.errors import ConfigError

FIELDS = (
    ("seconds", 0, 59, {}),
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {
            m: i + 1
            for i, m in enumerate(
                ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
            )
        },
    ),
    (
        "day of week",
        0,
        6,
        {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])},
    ),
)
DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_EVERY = re.compile(r"^@every (\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


@dataclass(frozen=True)
class Cron:
    """A validated six-field expression and, if the input was converted, a notice saying so."""

    expression: str
    notice: str | None = None


def _value(text: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise ValueError(f"{field} field: {text!r} is not a number{' or a name' if names else ''}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{field} field: {value} is out of range {low}–{high}")
    return value


def _check_field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> None:
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"{field} field: step {step!r} must be a positive number")
        if base in ("*", "?"):
            if base == "?" and field not in ("day of month", "day of week"):
                raise ValueError(
                    f"{field} field: '?' is only allowed for day of month or day of week"
                )
            continue
        start, dash, end = base.partition("-")
        first = _value(start, field, low, high, names)
        if dash and first > _value(end, field, low, high, names):
            raise ValueError(f"{field} field: range {base!r} runs backwards")


def parse_cron(expression: str) -> Cron:
    """Validates a cron expression and returns its six-field KFP form.

    Args:
        expression: Five fields (``m h dom mon dow``), six fields with leading seconds, or a
            descriptor such as ``@daily`` or ``@every 6h``.

    Returns:
        The expression to send and a notice when it was converted.

    Raises:
        ConfigError: The expression is malformed; the message names the field and the problem.
    """
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text in DESCRIPTORS or _EVERY.match(text):
            return Cron(text)
        raise ConfigError(
            f"unknown descriptor {text!r}",
            file="--cron",
            hint=f"use one of {', '.join(sorted(DESCRIPTORS))} or '@every 6h'",
        )
    fields = text.split(" ")
    notice = None
    if len(fields) == 5:
        six = f"0 {text}"
        notice = (
            f"converted the five-field cron {text!r} to KFP's six-field form {six!r} "
            "(KFP's first field is seconds)"
        )
        fields = six.split(" ")
    if len(fields) != 6:
        raise ConfigError(
            f"{text!r} has {len(fields)} fields; KFP expects 6 (seconds minutes hours day-of-month "
            "month day-of-week) or 5 without the seconds",
            file="--cron",
        )
    for value, (field, low, high, names) in zip(fields, FIELDS, strict=True):
        try:
            _check_field(value, field, low, high, names)
        except ValueError as exc:
            raise ConfigError(f"{' '.join(fields)!r}: {exc}", file="--cron") from exc
    return Cron(" ".join(fields), notice)
