"""Named points in the push protocol where tests kill the pushing process (SIGKILL).

Setting ``DRIFTGATE_CRASH_AT`` to one of :data:`POINTS` makes the process kill itself there, so a
crash test hits exactly the step it names instead of racing a timer. Unset (always, outside
tests), :func:`crash_point` does nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "DRIFTGATE_CRASH_AT"
POINTS = (
    "after-staging",  # the staging directory and its manifest are written, not yet fsynced
    "after-fsync",  # the staging directory is durable, the model lock not yet taken
    "after-rename",  # the staging directory became version N; production unchanged
    "before-pointer",  # the new production pointer is about to be written
    "after-pointer",  # production names version N; models.config not yet rewritten
    "during-serving-config",  # the new models.config is written beside the old, not renamed
)


def crash_point(name: str) -> None:
    """Kills this process with SIGKILL when ``$DRIFTGATE_CRASH_AT`` names ``name``."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
