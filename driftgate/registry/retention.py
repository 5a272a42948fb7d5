"""Retention: old versions of a model are deleted, never production or its relatives.

Spared whatever their age: the production version, its parent (the version it was compared
against) and the previous production version (the rollback target). Each doomed version is first
renamed out of the version namespace (``<model>/.pruned-<id>/``, atomic), then deleted, so a
reader sees a version complete or not at all.
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from driftgate.errors import RegistryError
from driftgate.registry.integrity import fsync_dir
from driftgate.registry.pointer import read_pointer

if TYPE_CHECKING:
    from driftgate.registry.store import Registry

PRUNED_PREFIX = ".pruned-"


class RegistrySettings(BaseModel):
    """Registry policy.

    Attributes:
        keep_versions: Keep at most this many newest versions of each model (plus production, its
            parent and the previous production version); null keeps every version.
    """

    model_config = ConfigDict(extra="forbid")

    keep_versions: int | None = Field(None, ge=1)


def prune(registry: Registry, keep: int) -> list[int]:
    """Deletes all but the ``keep`` newest versions (and the spared ones) under the model's lock.

    Returns:
        The deleted versions.

    Raises:
        RegistryError: ``keep`` is below 1.
    """
    if keep < 1:
        raise RegistryError(f"cannot keep {keep} versions", hint="keep at least 1")
    with registry.lock():
        return remove_old_versions(registry, keep)


def remove_old_versions(registry: Registry, keep: int) -> list[int]:
    """:func:`prune` for a caller that already holds the model's lock (a push)."""
    pointer = read_pointer(registry.dir)
    spared = {pointer.version, pointer.previous}
    if pointer.version is not None:
        spared.add(registry.metadata(pointer.version).get("parent_version"))
    doomed = [v for v in registry.versions()[:-keep] if v not in spared]
    for version in doomed:
        trash = registry.dir / f"{PRUNED_PREFIX}{version}-{uuid.uuid4().hex}"
        os.rename(registry.path(version), trash)
        fsync_dir(registry.dir)
        shutil.rmtree(trash, ignore_errors=True)
    return doomed
