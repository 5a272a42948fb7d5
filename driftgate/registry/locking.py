"""Exclusive file locks on the registry volume, and a check that the volume honours them.

The registry's consistency rests on ``flock``: one push at a time per model, one writer of TF
Serving's config at a time. Some network filesystems accept lock calls without enforcing them
(SMB mounted with ``nobrl``, NFS mounted with ``nolock``) or refuse them (``ENOLCK``). Both make
concurrent pushes unsafe, so :func:`check_locking` fails clearly before the first lock is relied
on. It can only see what this machine sees: two locks on one file, taken in one process. A
filesystem that enforces locks per client but not between clients passes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

from driftgate.errors import RegistryError

PROBE = ".lock-probe"
PROBE_WAIT_S = 10.0  # how long a probe waits for another process's probe of the same file
_CHECKED: set[Path] = set()
HINT = (
    "mount the registry volume with working file locks (for SMB, without 'nobrl'; for NFS, "
    "without 'nolock'), or use a volume type that supports them"
)


def check_locking(directory: Path) -> None:
    """Fails unless an exclusive lock in ``directory`` excludes a second one (checked once).

    Raises:
        RegistryError: Locks are refused, or a conflicting lock is granted.
    """
    directory = directory.resolve()
    if directory in _CHECKED:
        return
    probe = directory / PROBE

    def refused(exc: OSError) -> RegistryError:
        return RegistryError(
            f"file locks do not work on this volume ({exc.strerror or exc})",
            file=str(probe),
            hint=HINT,
        )

    with open(probe, "a+") as first, open(probe, "a+") as second:
        deadline = time.monotonic() + PROBE_WAIT_S
        while True:  # another process may be probing the same file this very moment
            try:
                fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() > deadline:
                    raise refused(exc) from exc
                time.sleep(0.01)
            except OSError as exc:
                raise refused(exc) from exc
        try:
            fcntl.flock(second, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        except OSError as exc:
            raise refused(exc) from exc
        else:
            raise RegistryError(
                "file locks are not enforced on this volume: a second exclusive lock was granted, "
                "so concurrent pushes could corrupt the registry",
                file=str(probe),
                hint=HINT,
            )
        finally:
            fcntl.flock(first, fcntl.LOCK_UN)
    _CHECKED.add(directory)


@contextlib.contextmanager
def file_lock(path: Path, timeout: float, holder: str) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``path``, waiting up to ``timeout`` seconds for it.

    Args:
        path: The lock file (created if missing).
        timeout: Seconds to wait before giving up.
        holder: Who usually holds it, for the error message (e.g. "another push").

    Raises:
        RegistryError: The lock was not free within ``timeout``.
    """
    check_locking(path.parent)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RegistryError(
                        f"{holder} has held the lock for over {timeout:.0f} s",
                        file=str(path),
                        hint="retry later",
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
