"""Checksummed directories: a manifest written at creation, verified before anything is loaded.

A model directory (a training output or a registry version) carries ``metadata.json`` whose
``files`` maps every other file's relative path to its SHA-256. :func:`verify` recomputes them
and refuses missing, changed or unexpected files. Loading code accepts only a
:class:`VerifiedDir`, so a pickled model can never be unpickled before its bytes were checked.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftgate.errors import IntegrityError

MANIFEST = "metadata.json"


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> dict[str, Path]:
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def fsync_tree(root: Path) -> None:
    """Flushes every file and directory under ``root`` to stable storage."""
    for path in [*sorted(root.rglob("*")), root]:
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_manifest(root: str | Path, metadata: dict[str, Any]) -> dict[str, Any]:
    """Records the checksum of every file under ``root`` in its ``metadata.json``.

    Args:
        root: The directory; its files must be complete.
        metadata: Other metadata to store beside the checksums.

    Returns:
        The metadata as written, ``files`` included.
    """
    root = Path(root)
    manifest = {**metadata, "files": {rel: sha256_file(p) for rel, p in _files(root).items()}}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


@dataclass(frozen=True)
class VerifiedDir:
    """A directory whose files matched their recorded checksums when it was verified."""

    path: Path
    metadata: dict[str, Any]


def verify(root: str | Path) -> VerifiedDir:
    """Checks every file under ``root`` against its manifest.

    Raises:
        IntegrityError: The manifest is missing or unreadable, or a file is missing, changed or
            not listed in it.
    """
    root = Path(root)
    manifest_path = root / MANIFEST
    try:
        metadata = json.loads(manifest_path.read_text())
        expected: dict[str, str] = metadata["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(
            f"has no readable checksum manifest ({exc.__class__.__name__})",
            file=str(manifest_path),
            hint="the directory is incomplete or was not written by driftgate",
        ) from exc
    present = _files(root)
    for rel, digest in expected.items():
        path = present.get(rel)
        if path is None:
            raise IntegrityError("is missing", file=str(root / rel), hint="the model was altered")
        if sha256_file(path) != digest:
            raise IntegrityError(
                "does not match the checksum recorded at push; refusing to load it",
                file=str(path),
                hint="restore the file or roll back to another version",
            )
    unexpected = sorted(set(present) - set(expected))
    if unexpected:
        raise IntegrityError(
            "was added after the model was written; refusing to load it",
            file=str(root / unexpected[0]),
        )
    return VerifiedDir(root, metadata)
