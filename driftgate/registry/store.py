"""A versioned model registry on a filesystem (a PVC in the cluster), in TF Serving's layout.

Layout::

    <base>/models.config                 TF Serving model config: serves each production version
    <base>/<model>/<N>/                  version N: SavedModel (or model.joblib) plus sidecars
    <base>/<model>/<N>/metadata.json     metrics, hashes, parent version, file checksums
    <base>/<model>/<N>/schema.pbtxt      schema of its training data
    <base>/<model>/<N>/reference_*.      reference statistics and row sample of its training data
    <base>/<model>/<N>/training_data.parquet   its training window (the next run's reference)
    <base>/<model>/production.json       the production pointer (version and generation)
    <base>/<model>/.staging-<id>/        a push in progress (never a version: not an integer)
    <base>/<model>/.pruned-<id>/         a version being deleted by retention (already gone)

Model names are ``[A-Za-z0-9][A-Za-z0-9_.-]*``; other directories in ``<base>`` (such as
``lost+found`` on an ext4 volume) are not models and are ignored.

Rules that keep it consistent when pushes crash or race:

- A push writes and fsyncs a complete staging directory, then, holding the model's lock
  (``fcntl.flock`` on ``<model>/.lock``), picks ``N = max(versions) + 1`` and renames the staging
  directory to ``N``. A rename within one filesystem is atomic: a version is either absent or
  complete, whatever instant the process is killed.
- The production pointer is replaced atomically (write, fsync, ``os.replace``) under its own
  lock (``<model>/.pointer.lock``) and only ever names a version that is already complete. Each
  change increments its ``generation``.
- TF Serving's ``models.config`` is derived from the pointers, each read under its own lock, and
  rewritten under one registry-wide lock (``<base>/.serving.lock``), so the last writer always
  writes every model's current pointer. If a process dies between a pointer change and the
  rewrite, TF Serving keeps serving the previous (complete) version until the next push or
  rollback rewrites it. Lock order: model, then serving, then pointer.
- Compare-and-swap: a push promotes its version only if production still is the version the run
  compared against (its parent) and, when the run recorded it, at the same generation, so
  push, rollback, push cannot pass for "unchanged". Otherwise the new version is kept but not
  promoted, and the push says so.
- Retention (``keep_versions``) renames old versions out of the way atomically, then deletes
  them; it never touches the production version, its parent or the previous production version.
- The first lock taken on a volume checks that locks work there (:mod:`driftgate.registry.locking`).
- Only filesystem paths are supported: object stores have no atomic rename.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftgate.errors import IntegrityError, RegistryError
from driftgate.registry.crashpoints import crash_point
from driftgate.registry.integrity import (
    VerifiedDir,
    fsync_dir,
    fsync_tree,
    update_manifest,
    verify,
    write_manifest,
)
from driftgate.registry.locking import file_lock
from driftgate.registry.pointer import (
    LOCK_TIMEOUT_S,
    MODEL_NAME,
    read_pointer,
    utc_now,
    write_pointer,
    write_serving_config,
)
from driftgate.registry.pointer import POINTER as POINTER
from driftgate.registry.pointer import SERVING_CONFIG as SERVING_CONFIG
from driftgate.registry.retention import PRUNED_PREFIX, remove_old_versions

SCHEMA_FILE = "schema.pbtxt"
REFERENCE_STATS = "reference_stats.pb"
REFERENCE_SAMPLE = "reference_sample.parquet"
TRAINING_DATA = "training_data.parquet"
EVALUATION_FILE = "evaluation.json"
STAGING_PREFIX = ".staging-"
STALE_STAGING_S = 24 * 3600


def check_model_name(name: str) -> str:
    """Returns ``name`` if it is a valid model name (it becomes a directory name).

    Raises:
        RegistryError: It is empty, too long, or holds a character outside ``A-Za-z0-9_.-``
            (a ``/`` or a leading ``.`` would leave the registry directory).
    """
    if not MODEL_NAME.fullmatch(name):
        raise RegistryError(
            f"model name {name!r} is not allowed",
            hint="use letters, digits, '_', '.' and '-', starting with a letter or digit "
            "(at most 128 characters)",
        )
    return name


@dataclass(frozen=True)
class PushResult:
    """Where a push landed and whether it became production."""

    version: int
    promoted: bool
    message: str


class Registry:
    """The versions of one model in a registry directory."""

    def __init__(
        self,
        base: str | Path,
        model: str,
        serving_root: str = "/models",
        keep_versions: int | None = None,
    ) -> None:
        if "://" in str(base):
            raise RegistryError(
                "only filesystem paths are supported for the registry (mount a PVC); object "
                "stores have no atomic rename",
                file=str(base),
            )
        self.base = Path(base)
        self.model = check_model_name(model)
        self.dir = self.base / model
        self.serving_root = serving_root
        self.keep_versions = keep_versions

    # Reading -------------------------------------------------------------------------------

    def versions(self) -> list[int]:
        """All complete versions, ascending."""
        if not self.dir.is_dir():
            return []
        return sorted(int(p.name) for p in self.dir.iterdir() if p.name.isdigit() and p.is_dir())

    def production(self) -> int | None:
        """The production version, or None before the first promotion."""
        return self.production_state()[0]

    def production_state(self) -> tuple[int | None, int]:
        """The production version and the pointer's generation (0 before the first promotion).

        The generation grows by one with every change of the pointer; pass it to :meth:`push`
        so that compare-and-swap sees a push, rollback, push sequence as a change.
        """
        pointer = read_pointer(self.dir)
        return pointer.version, pointer.generation

    def path(self, version: int) -> Path:
        """Directory of a version."""
        return self.dir / str(version)

    def verified(self, version: int) -> VerifiedDir:
        """Verifies a version's signature and checksums before it is loaded.

        Raises:
            RegistryError: The version does not exist.
            IntegrityError: A file was changed, removed or added since the push, or the
                manifest's signature is missing or wrong while signing is on.
        """
        path = self.path(version)
        if not path.is_dir():
            known = ", ".join(map(str, self.versions())) or "none"
            raise RegistryError(
                f"version {version} does not exist (versions: {known})", file=str(self.dir)
            )
        checked = verify(path)
        if checked.metadata.get("version") != version:
            raise IntegrityError(
                f"holds the files of version {checked.metadata.get('version')}, not {version}",
                file=str(path),
                hint="version directories were renamed or copied by hand",
            )
        return checked

    def metadata(self, version: int) -> dict[str, Any]:
        """A version's metadata, unverified (for listings)."""
        return json.loads((self.path(version) / "metadata.json").read_text())

    # Writing -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Holds the model's exclusive lock (``<model>/.lock``); checks the volume's locks first."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.dir / ".lock", timeout, "another push"):
            yield

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A private directory to assemble a version in; removed if the push does not finish."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        path.mkdir()
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def push(
        self,
        staged: Path,
        metadata: dict[str, Any],
        parent: int | None,
        promote: bool = True,
        parent_generation: int | None = None,
    ) -> PushResult:
        """Publishes a staged directory as the next version and, if allowed, promotes it.

        Args:
            staged: A directory from :meth:`staging` holding every file of the version.
            metadata: Metadata to record; checksums, version and parent are added.
            parent: The production version this run compared against (None on the first run).
            promote: Whether to make the version production (compare-and-swap on ``parent``).
            parent_generation: The pointer's generation when the run read ``parent``; None
                compares versions only.

        Returns:
            The new version and whether it became production.
        """
        write_manifest(staged, {**metadata, "parent_version": parent, "created_at": utc_now()})
        crash_point("after-staging")
        fsync_tree(staged)
        crash_point("after-fsync")
        with self.lock():
            # heals a push killed between its pointer and models.config
            write_serving_config(self.base, self.serving_root, after_change=False)
            self._remove_leftovers(keep=staged)
            version = max(self.versions(), default=0) + 1
            update_manifest(staged, {"version": version})
            fsync_tree(staged)
            os.rename(staged, self.path(version))
            fsync_dir(self.dir)
            crash_point("after-rename")
            result = self._promote(version, parent, parent_generation) if promote else None
            if self.keep_versions:
                remove_old_versions(self, self.keep_versions)
        stored = f"stored version {version} without promoting it"
        return result or PushResult(version, False, stored)

    def _promote(self, version: int, parent: int | None, generation: int | None) -> PushResult:
        current, current_generation = self.production_state()
        if current != parent or generation not in (None, current_generation):
            moved = (
                f"from {parent} to {current}"
                if current != parent
                else f"away from {parent} and back (generation {generation} to "
                f"{current_generation})"
            )
            return PushResult(
                version,
                False,
                f"stored version {version} but did not promote it: production moved {moved} "
                f"while this run was evaluating; run again to compare against version {current}",
            )
        self._set_production(version, reason="push")
        return PushResult(version, True, f"version {version} is now production")

    def rollback(self, to: int | None = None) -> tuple[int | None, int]:
        """Points production at an earlier version (by default the one before the current).

        Returns:
            The previous and the new production version.

        Raises:
            RegistryError: There is no such version or no earlier one.
            IntegrityError: The target version fails verification.
        """
        with self.lock():
            current = self.production()
            if to is None:
                earlier = [v for v in self.versions() if current is None or v < current]
                if not earlier:
                    raise RegistryError(
                        f"there is no version before {current} to roll back to", file=str(self.dir)
                    )
                to = earlier[-1]
            self.verified(to)
            self._set_production(to, reason="rollback")
        return current, to

    def _set_production(self, version: int, reason: str) -> None:
        write_pointer(self.dir, version, reason)
        crash_point("after-pointer")
        write_serving_config(self.base, self.serving_root)

    def _remove_leftovers(self, keep: Path) -> None:
        cutoff = time.time() - STALE_STAGING_S
        for path in self.dir.glob(f"{STAGING_PREFIX}*"):
            if path != keep and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        for path in self.dir.glob(f"{PRUNED_PREFIX}*"):
            shutil.rmtree(path, ignore_errors=True)
