"""A model's versions as ``driftgate versions`` lists them: metrics, age, lineage, integrity."""

from __future__ import annotations

from dataclasses import dataclass

from driftgate.errors import RegistryError
from driftgate.registry.store import Registry


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


def describe(registry: Registry, check: bool = False) -> list[VersionInfo]:
    """Every version with its metrics and creation time, newest first.

    Args:
        registry: The model's registry.
        check: Verify each version's signature and checksums (reads every file).
    """
    production = registry.production()
    rows = []
    for version in reversed(registry.versions()):
        try:
            meta = registry.verified(version).metadata if check else registry.metadata(version)
            integrity = "verified" if check else "not checked"
        except (OSError, ValueError, RegistryError) as exc:
            meta = {}
            integrity = exc.one_line() if isinstance(exc, RegistryError) else f"unreadable: {exc}"
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
