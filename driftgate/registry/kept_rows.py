"""Labelled rows the deployed model never trained on, kept for the next candidate.

A batch whose gate stays closed still brings labelled rows. Each labelled batch's validated
rows are kept under ``<registry>/<model>/kept/<sha256>.parquet`` while the version that served
it is in production. The next candidate's training window holds them, in ledger order, after
the deployed version's own training rows, so a retrain learns from every labelled batch since
the last push and not only from the one that opened the gate. When production changes, the
rows of batches served by older versions are deleted: the new version's window held them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from driftgate.registry.ledger import FAILED, Ledger

KEPT_DIR = "kept"


def _dir(ledger: Ledger) -> Path:
    return ledger.registry.dir / KEPT_DIR


def _unseen_entries(ledger: Ledger, version: int | None) -> list[dict]:
    """Labelled, not failed ledger entries of the batches ``version`` served."""
    return [
        e
        for e in ledger.entries()
        if e["status"] != FAILED and e.get("labelled") and e.get("deployed_version") == version
    ]


def _kept(ledger: Ledger, version: int | None, exclude: str) -> list[tuple[dict, Path]]:
    """Entries of the batches ``version`` served whose rows are kept, but batch ``exclude``."""
    found = []
    for entry in _unseen_entries(ledger, version):
        path = _dir(ledger) / f"{entry['sha256']}.parquet"
        if entry["sha256"] != exclude and path.is_file():
            found.append((entry, path))
    return found


def unseen_rows(ledger: Ledger, version: int | None, exclude: str = "") -> int:
    """Kept rows of the labelled batches ``version`` served, but batch ``exclude``."""
    return sum(int(entry.get("rows", 0)) for entry, _ in _kept(ledger, version, exclude))


def keep(ledger: Ledger, sha256: str, validated: str | Path) -> None:
    """Keeps a labelled batch's validated rows; drops those of batches older versions served."""
    directory = _dir(ledger)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{sha256}.{uuid.uuid4().hex}.tmp"
    shutil.copyfile(validated, tmp)
    os.replace(tmp, directory / f"{sha256}.parquet")
    current = {e["sha256"] for e in _unseen_entries(ledger, ledger.registry.production())}
    for path in directory.glob("*.parquet"):
        if path.stem not in current and path.stem != sha256:
            path.unlink(missing_ok=True)


def unseen_tables(ledger: Ledger, version: int | None, exclude: str) -> list[tuple[str, pa.Table]]:
    """The kept rows of the batches ``version`` served, oldest first, but batch ``exclude``."""
    return [
        (entry["sha256"], pq.read_table(path)) for entry, path in _kept(ledger, version, exclude)
    ]
