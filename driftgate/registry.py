"""A versioned model registry on a filesystem (a PVC in the cluster), in TF Serving's layout.

Layout::

    <base>/models.config                 TF Serving model config: serves each production version
    <base>/<model>/<N>/                  version N: SavedModel (or model.joblib) plus sidecars
    <base>/<model>/<N>/metadata.json     metrics, hashes, parent version, file checksums
    <base>/<model>/<N>/schema.pbtxt      schema of its training data
    <base>/<model>/<N>/reference_*.      reference statistics and row sample of its training data
    <base>/<model>/<N>/training_data.parquet   its training window (the next run's reference)
    <base>/<model>/production.json       the production pointer
    <base>/<model>/.staging-<id>/        a push in progress (never a version: not an integer)

Rules that keep it consistent when pushes crash or race:

- A push writes and fsyncs a complete staging directory, then, holding the model's lock
  (``fcntl.flock`` on ``<model>/.lock``), picks ``N = max(versions) + 1`` and renames the staging
  directory to ``N``. A rename within one filesystem is atomic: a version is either absent or
  complete, whatever instant the process is killed.
- The production pointer is replaced atomically (write, fsync, ``os.replace``) and only ever
  names a version that is already complete. TF Serving's ``models.config`` is derived from the
  pointers and rewritten after each change; if a process dies between the two, TF Serving keeps
  serving the previous (complete) version until the next push or rollback rewrites it.
- Compare-and-swap: a push promotes its version only if production still is the version the run
  compared against (its parent). If another run promoted a version in the meantime, the new
  version is kept but not promoted, and the push says so.
- Only filesystem paths are supported: object stores have no atomic rename.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
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
from driftgate.integrity import VerifiedDir, fsync_tree, verify, write_manifest

POINTER = "production.json"
SCHEMA_FILE = "schema.pbtxt"
REFERENCE_STATS = "reference_stats.pb"
REFERENCE_SAMPLE = "reference_sample.parquet"
TRAINING_DATA = "training_data.parquet"
EVALUATION_FILE = "evaluation.json"
SERVING_CONFIG = "models.config"
STAGING_PREFIX = ".staging-"
LOCK_TIMEOUT_S = 120.0
STALE_STAGING_S = 24 * 3600


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str) -> None:
    """Replaces ``path`` with ``text`` so that readers see the old or the new file, never a mix."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@dataclass(frozen=True)
class VersionInfo:
    """One line of ``driftgate versions``."""

    version: int
    created_at: str
    production: bool
    metrics: dict[str, float]
    parent: int | None
    format: str
    integrity: str  # "verified", "not checked", or the reason verification failed


@dataclass(frozen=True)
class PushResult:
    """Where a push landed and whether it became production."""

    version: int
    promoted: bool
    message: str


class Registry:
    """The versions of one model in a registry directory."""

    def __init__(self, base: str | Path, model: str, serving_root: str = "/models") -> None:
        if "://" in str(base):
            raise RegistryError(
                "only filesystem paths are supported for the registry (mount a PVC); object "
                "stores have no atomic rename",
                file=str(base),
            )
        self.base = Path(base)
        self.model = model
        self.dir = self.base / model
        self.serving_root = serving_root

    # Reading -------------------------------------------------------------------------------

    def versions(self) -> list[int]:
        """All complete versions, ascending."""
        if not self.dir.is_dir():
            return []
        return sorted(int(p.name) for p in self.dir.iterdir() if p.name.isdigit() and p.is_dir())

    def production(self) -> int | None:
        """The production version, or None before the first promotion."""
        pointer = self.dir / POINTER
        if not pointer.exists():
            return None
        try:
            return int(json.loads(pointer.read_text())["version"])
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError("the production pointer is unreadable", file=str(pointer)) from exc

    def path(self, version: int) -> Path:
        """Directory of a version."""
        return self.dir / str(version)

    def verified(self, version: int) -> VerifiedDir:
        """Verifies a version's checksums before it is loaded.

        Raises:
            RegistryError: The version does not exist.
            IntegrityError: A file was changed, removed or added since the push.
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

    def describe(self, check: bool = False) -> list[VersionInfo]:
        """Every version with its metrics and creation time, newest first.

        Args:
            check: Verify each version's checksums (reads every file).
        """
        production = self.production()
        rows = []
        for version in reversed(self.versions()):
            try:
                meta = self.verified(version).metadata if check else self.metadata(version)
                integrity = "verified" if check else "not checked"
            except (OSError, ValueError, RegistryError) as exc:
                meta = {}
                integrity = (
                    exc.one_line() if isinstance(exc, RegistryError) else f"unreadable: {exc}"
                )
            rows.append(
                VersionInfo(
                    version,
                    meta.get("created_at", "?"),
                    version == production,
                    meta.get("metrics", {}),
                    meta.get("parent_version"),
                    meta.get("format", "?"),
                    integrity,
                )
            )
        return rows

    def metadata(self, version: int) -> dict[str, Any]:
        """A version's metadata, unverified (for listings)."""
        return json.loads((self.path(version) / "metadata.json").read_text())

    # Writing -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Holds the model's exclusive lock."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a+") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RegistryError(
                            f"another push has held the lock for over {timeout:.0f} s",
                            file=str(self.dir / ".lock"),
                            hint="retry later",
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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
        self, staged: Path, metadata: dict[str, Any], parent: int | None, promote: bool = True
    ) -> PushResult:
        """Publishes a staged directory as the next version and, if allowed, promotes it.

        Args:
            staged: A directory from :meth:`staging` holding every file of the version.
            metadata: Metadata to record; checksums, version and parent are added.
            parent: The production version this run compared against (None on the first run).
            promote: Whether to make the version production (compare-and-swap on ``parent``).

        Returns:
            The new version and whether it became production.
        """
        write_manifest(staged, {**metadata, "parent_version": parent, "created_at": _now()})
        fsync_tree(staged)
        with self.lock():
            write_serving_config(
                self.base, self.serving_root
            )  # heals a push killed after its pointer
            self._remove_stale_staging(keep=staged)
            version = max(self.versions(), default=0) + 1
            manifest = json.loads((staged / "metadata.json").read_text())
            manifest["version"] = version
            (staged / "metadata.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
            fsync_tree(staged)
            os.rename(staged, self.path(version))
            _fsync_dir(self.dir)
            if not promote:
                return PushResult(version, False, f"stored version {version} without promoting it")
            current = self.production()
            if current != parent:
                return PushResult(
                    version,
                    False,
                    f"stored version {version} but did not promote it: production moved from "
                    f"{parent} to {current} while this run was evaluating; run again to compare "
                    f"against version {current}",
                )
            self._set_production(version, previous=current, reason="push")
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
            self._set_production(to, previous=current, reason="rollback")
        return current, to

    def _set_production(self, version: int, previous: int | None, reason: str) -> None:
        pointer = {"version": version, "previous": previous, "reason": reason, "updated_at": _now()}
        atomic_write(self.dir / POINTER, json.dumps(pointer, indent=2) + "\n")
        write_serving_config(self.base, self.serving_root)

    def _remove_stale_staging(self, keep: Path) -> None:
        cutoff = time.time() - STALE_STAGING_S
        for path in self.dir.glob(f"{STAGING_PREFIX}*"):
            if path != keep and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)


def write_serving_config(base: Path, serving_root: str) -> None:
    """Rewrites TF Serving's model config to serve each model's production version.

    TF Serving polls this file (``--model_config_file_poll_wait_seconds``), so a push or a
    rollback switches the served version without a restart. Only SavedModel versions are listed.
    """
    entries = []
    for model_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        registry = Registry(base, model_dir.name, serving_root)
        version = registry.production()
        if version is None or registry.metadata(version).get("format") != "saved_model":
            continue
        entries.append(
            "  config {\n"
            f'    name: "{model_dir.name}"\n'
            f'    base_path: "{serving_root.rstrip("/")}/{model_dir.name}"\n'
            '    model_platform: "tensorflow"\n'
            f"    model_version_policy {{ specific {{ versions: {version} }} }}\n"
            "  }\n"
        )
    with open(base / ".serving.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        atomic_write(base / SERVING_CONFIG, "model_config_list {\n" + "".join(entries) + "}\n")
