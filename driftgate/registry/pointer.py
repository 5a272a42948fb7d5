"""Production pointers and TF Serving's ``models.config``, derived from them.

Each model's ``production.json`` names its production version and a generation that grows with
every change. It is written atomically under its own lock (``<model>/.pointer.lock``).
``<base>/models.config`` is rebuilt from every model's pointer, each read under its own lock,
while the registry-wide lock (``<base>/.serving.lock``) is held, so the last writer always
writes every model's current pointer. Lock order: a model's push lock, then the serving lock,
then a pointer lock.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from driftgate.errors import RegistryError
from driftgate.registry.crashpoints import crash_point
from driftgate.registry.integrity import MANIFEST, atomic_write
from driftgate.registry.locking import file_lock

POINTER = "production.json"
POINTER_LOCK = ".pointer.lock"
SERVING_CONFIG = "models.config"
SERVING_LOCK = ".serving.lock"
LOCK_TIMEOUT_S = 120.0
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Pointer:
    """A model's production pointer; ``version`` None and ``generation`` 0 before the first."""

    version: int | None
    generation: int
    previous: int | None


def read_pointer(model_dir: Path) -> Pointer:
    """Reads a model's production pointer (call under its lock for a consistent view).

    Raises:
        RegistryError: The pointer exists but is unreadable.
    """
    path = model_dir / POINTER
    if not path.exists():
        return Pointer(None, 0, None)
    try:
        data = json.loads(path.read_text())
        previous = data.get("previous")
        return Pointer(
            int(data["version"]),
            int(data.get("generation", 0)),
            None if previous is None else int(previous),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RegistryError("the production pointer is unreadable", file=str(path)) from exc


def write_pointer(model_dir: Path, version: int, reason: str) -> Pointer:
    """Points production at ``version`` (already complete), one generation up."""
    with file_lock(model_dir / POINTER_LOCK, LOCK_TIMEOUT_S, "a pointer reader"):
        old = read_pointer(model_dir)
        new = Pointer(version, old.generation + 1, old.version)
        body = {
            "version": new.version,
            "generation": new.generation,
            "previous": new.previous,
            "reason": reason,
            "updated_at": utc_now(),
        }
        crash_point("before-pointer")
        atomic_write(model_dir / POINTER, json.dumps(body, indent=2) + "\n")
    return new


def model_dirs(base: Path) -> list[Path]:
    """The model directories under ``base``: valid model names only (not ``lost+found``)."""
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if MODEL_NAME.fullmatch(p.name) and p.is_dir())


def write_serving_config(base: Path, serving_root: str, after_change: bool = True) -> None:
    """Rewrites TF Serving's model config to serve each model's production version.

    TF Serving polls this file (``--model_config_file_poll_wait_seconds``), so a push or a
    rollback switches the served version without a restart. Only SavedModel versions are listed.

    Args:
        base: The registry directory.
        serving_root: Where TF Serving mounts the registry.
        after_change: False for the rewrite that heals a config left stale by a crash (the
            crash point ``during-serving-config`` marks the rewrite after a pointer change).
    """
    with file_lock(base / SERVING_LOCK, LOCK_TIMEOUT_S, "another models.config writer"):
        entries = []
        for model_dir in model_dirs(base):
            with file_lock(model_dir / POINTER_LOCK, LOCK_TIMEOUT_S, "a pointer writer"):
                version = read_pointer(model_dir).version
            if version is None:
                continue
            manifest = json.loads((model_dir / str(version) / MANIFEST).read_text())
            if manifest.get("format") != "saved_model":
                continue
            entries.append(
                "  config {\n"
                f'    name: "{model_dir.name}"\n'
                f'    base_path: "{serving_root.rstrip("/")}/{model_dir.name}"\n'
                '    model_platform: "tensorflow"\n'
                f"    model_version_policy {{ specific {{ versions: {version} }} }}\n"
                "  }\n"
            )
        atomic_write(
            base / SERVING_CONFIG,
            "model_config_list {\n" + "".join(entries) + "}\n",
            before_replace=(lambda: crash_point("during-serving-config")) if after_change else None,
        )
