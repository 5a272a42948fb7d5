"""Checksummed, optionally signed directories: a manifest written at creation, verified first.

A model directory (a training output or a registry version) carries ``metadata.json`` whose
``files`` maps every other file's relative path to its SHA-256. :func:`verify` recomputes them
and refuses missing, changed or unexpected files. Loading code accepts only a
:class:`VerifiedDir`, so a pickled model can never be unpickled before its bytes were checked.

Checksums alone catch corruption and partial writes, not tampering: whoever can replace a file
can rewrite its hash. When ``$DRIFTGATE_SIGNING_KEY_FILE`` names a key file (a Kubernetes Secret
mounted into the pipeline pods only), the manifest also carries an HMAC-SHA256 of its canonical
JSON, and :func:`verify` refuses a directory whose signature is missing or wrong before it reads
anything else. See the README's "Tamper evidence" section for what that does and does not cover.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftgate.errors import ConfigError, IntegrityError

MANIFEST = "metadata.json"
SIGNATURE = "signature"
KEY_ENV = "DRIFTGATE_SIGNING_KEY_FILE"


def signing_key() -> bytes | None:
    """The manifest signing key from the file ``$DRIFTGATE_SIGNING_KEY_FILE`` names, if set.

    Raises:
        ConfigError: The variable is set but the file is unreadable or empty.
    """
    path = os.environ.get(KEY_ENV, "").strip()
    if not path:
        return None
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ConfigError(
            f"the signing key named by ${KEY_ENV} is unreadable ({exc.strerror})",
            file=path,
            hint="mount the signing-key Secret there, or unset the variable to turn signing off",
        ) from exc
    if not key:
        raise ConfigError(f"the signing key named by ${KEY_ENV} is empty", file=path)
    return key


def _signature(manifest: dict[str, Any], key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != SIGNATURE}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def fsync_dir(path: Path) -> None:
    """Flushes a directory's entries (a rename or a new file in it) to stable storage."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str, before_replace: Callable[[], None] | None = None) -> None:
    """Replaces ``path`` with ``text`` so that readers see the old or the new file, never a mix.

    Args:
        path: The file to replace.
        text: Its new content.
        before_replace: Called once the new content is durable, just before the rename.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    if before_replace is not None:
        before_replace()
    os.replace(tmp, path)
    fsync_dir(path.parent)


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

    The manifest is signed when a signing key is configured (:func:`signing_key`).

    Args:
        root: The directory; its files must be complete.
        metadata: Other metadata to store beside the checksums.

    Returns:
        The metadata as written, ``files`` included.
    """
    root = Path(root)
    files = {rel: sha256_file(p) for rel, p in _files(root).items()}
    return update_manifest(root, {**metadata, "files": files}, replace=True)


def update_manifest(
    root: str | Path, changes: dict[str, Any], replace: bool = False
) -> dict[str, Any]:
    """Changes fields of a directory's manifest and signs it again (when signing is on).

    Args:
        root: The directory.
        changes: Fields to set.
        replace: Start from an empty manifest instead of the current one.

    Returns:
        The manifest as written.
    """
    path = Path(root) / MANIFEST
    current = {} if replace else json.loads(path.read_text())
    manifest = {k: v for k, v in {**current, **changes}.items() if k != SIGNATURE}
    key = signing_key()
    if key is not None:
        manifest[SIGNATURE] = _signature(manifest, key)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


@dataclass(frozen=True)
class VerifiedDir:
    """A directory whose files matched their recorded checksums when it was verified."""

    path: Path
    metadata: dict[str, Any]


def verify(root: str | Path) -> VerifiedDir:
    """Checks the manifest's signature (when signing is on), then every file against it.

    Raises:
        IntegrityError: The manifest is missing, unreadable, unsigned or wrongly signed, or a
            file is missing, changed or not listed in it.
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
    key = signing_key()
    if key is not None:
        signature = metadata.get(SIGNATURE)
        if not isinstance(signature, str):
            raise IntegrityError(
                f"is not signed, but signing is on (${KEY_ENV}); refusing to load it",
                file=str(manifest_path),
                hint="push the model again with the key, or roll back to a signed version",
            )
        if not hmac.compare_digest(signature, _signature(metadata, key)):
            raise IntegrityError(
                "has a signature that does not match its content; refusing to load it",
                file=str(manifest_path),
                hint="the manifest was altered or signed with another key",
            )
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
