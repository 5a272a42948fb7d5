"""Errors a user can act on.

Every error that reaches a user is one line that names the file, the column (when there is one),
the problem and, where it helps, what to do next. Components raise these; the CLI prints them
without a traceback and exits non-zero.

Every :class:`DriftgateError`, a subclass defined anywhere included, carries its line as an
exception note that starts with :data:`MARKER`; Python prints notes under the traceback, so the
local runner finds the message in a failed task's log by the marker, not by class names.
"""

from __future__ import annotations

MARKER = "driftgate-error: "


class DriftgateError(Exception):
    """Base class for user-facing failures with a one-line message (marked in tracebacks)."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.column = column
        self.hint = hint
        super().__init__(self.one_line())
        self.add_note(MARKER + self.one_line())

    def one_line(self) -> str:
        """Returns ``file: column 'c': problem; hint`` on a single line."""
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        parts.append(self.problem)
        message = ": ".join(parts)
        if self.hint:
            message += f"; {self.hint}"
        return " ".join(message.split())


class DataError(DriftgateError):
    """The input data cannot be used: unreadable, malformed or violating the schema."""


class ConfigError(DriftgateError):
    """The configuration is invalid."""


class EntryPointError(DriftgateError):
    """A custom training entry point cannot be imported or returned an unusable model."""


class RegistryError(DriftgateError):
    """The model registry is missing, locked or inconsistent."""


class IntegrityError(RegistryError):
    """A registry file does not match the checksum recorded when it was pushed."""


def quote(value: object, limit: int = 40) -> str:
    """``repr`` of a value for a message, shortened to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def find_error_in_log(lines: list[str]) -> str | None:
    """Finds the last driftgate error message in a task's log.

    A failed KFP task prints its traceback; a driftgate error's note follows it as a line
    ``driftgate-error: message``.

    Args:
        lines: Log lines, oldest first.

    Returns:
        The one-line message, or None when the log holds no driftgate error.
    """
    for line in reversed(lines):
        text = line.strip()
        if text.startswith(MARKER):
            return text[len(MARKER) :]
    return None
