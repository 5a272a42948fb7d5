"""Alerts per state change, not per run: "started", a reminder at most every N runs, "recovered".

Each alert kind (``degradation`` or ``drift``) of a model is either ok or active since a batch.
:func:`advance` is the pure state machine; :class:`AlertStateStore` keeps the states of one
model in ``alert_state.json`` and advances them under an exclusive file lock, so concurrent runs
never announce the same episode twice and a restart resumes where it left off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from driftgate.errors import RegistryError
from driftgate.registry.integrity import atomic_write

AlertKind = Literal["degradation", "drift"]
MessageKind = Literal["started", "reminder", "recovered"]
KINDS: tuple[AlertKind, ...] = ("degradation", "drift")
STATE_FILE = "alert_state.json"
LOCK_FILE = ".alert_state.lock"


@dataclass(frozen=True)
class AlertState:
    """One alert kind of one model.

    Attributes:
        active: Whether the condition holds (degraded, drifted).
        since_batch: Batch at which the current, or else the last, episode started.
        since_run: Run that saw that batch.
        since_time: When that run advanced the state (ISO 8601).
        runs_since_message: Runs since the last "started" or "reminder" while active.
        recovered_batch: Batch at which the last episode ended; None while active.
    """

    active: bool = False
    since_batch: str | None = None
    since_run: str | None = None
    since_time: str | None = None
    runs_since_message: int = 0
    recovered_batch: str | None = None


def advance(
    state: AlertState, active: bool, batch: str, run: str, now: str, remind_every: int
) -> tuple[AlertState, MessageKind | None]:
    """Next state after a run, and the message that run should send (None: stay quiet).

    Args:
        state: State before the run.
        active: Whether the run found the condition (degradation, drift).
        batch: Batch the run checked.
        run: The run's id.
        now: The run's time (ISO 8601).
        remind_every: Send a reminder after this many further active runs; 0 never reminds.

    Returns:
        The new state and ``started``, ``reminder``, ``recovered`` or None.
    """
    if active and not state.active:
        return AlertState(True, batch, run, now), "started"
    if not active and state.active:
        return dataclasses.replace(
            state, active=False, runs_since_message=0, recovered_batch=batch
        ), "recovered"
    if not active:
        return state, None
    runs = state.runs_since_message + 1
    if remind_every > 0 and runs >= remind_every:
        return dataclasses.replace(state, runs_since_message=0), "reminder"
    return dataclasses.replace(state, runs_since_message=runs), None


class AlertStateStore:
    """The alert states of one model, in ``<directory>/alert_state.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STATE_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / LOCK_FILE, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict[str, AlertState]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
            return {kind: AlertState(**fields) for kind, fields in data.items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise RegistryError(
                f"unreadable alert state ({exc})",
                file=str(self.path),
                hint="delete the file to reset every alert to ok",
            ) from None

    def get(self, kind: AlertKind) -> AlertState:
        """The current state of ``kind`` (ok when never recorded)."""
        with self._locked():
            return self._read().get(kind, AlertState())

    def transition_state(
        self, kind: AlertKind, active: bool, batch: str, run: str, now: str, remind_every: int
    ) -> tuple[AlertState, MessageKind | None]:
        """Reads, advances and writes ``kind``'s state under the lock (see :func:`advance`).

        Returns:
            The new state and the message to send.
        """
        if kind not in KINDS:
            raise RegistryError(f"unknown alert kind {kind!r}", hint=f"use one of {KINDS}")
        with self._locked():
            states = self._read()
            new, message = advance(
                states.get(kind, AlertState()), active, batch, run, now, remind_every
            )
            states[kind] = new
            text = json.dumps({k: dataclasses.asdict(s) for k, s in states.items()}, indent=2)
            atomic_write(self.path, text + "\n")
        return new, message

    def transition(
        self, kind: AlertKind, active: bool, batch: str, run: str, now: str, remind_every: int
    ) -> MessageKind | None:
        """Like :meth:`transition_state`, returning only the message to send."""
        return self.transition_state(kind, active, batch, run, now, remind_every)[1]
