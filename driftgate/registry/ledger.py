"""The batch ledger: which batches a model's runs have processed, keyed by content hash.

One JSON file per batch under ``<registry>/<model>/ledger/<sha256>.json``, written atomically
under the model's lock. A run *claims* its batch when it decides; the claim holds the decision,
the run and the time. The run's exit handler closes the claim: ``done`` when the run succeeded,
``failed`` otherwise. A failed claim does not count as processed, so a crashed run can be rerun;
every other entry makes a later run of the same bytes skip with ``already processed``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from driftgate.registry.integrity import atomic_write
from driftgate.registry.store import Registry

LEDGER_DIR = "ledger"
CLAIMED, DONE, FAILED = "claimed", "done", "failed"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Ledger:
    """The processed batches of one model in a registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.dir = registry.dir / LEDGER_DIR

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.dir / f"{sha256}.json"

    def get(self, sha256: str) -> dict | None:
        """The entry of a batch, or None when it was never claimed."""
        path = self._path(sha256)
        return json.loads(path.read_text()) if path.is_file() else None

    def processed(self, sha256: str) -> dict | None:
        """The entry of a batch that counts as processed (claimed or done, not failed)."""
        entry = self.get(sha256)
        return entry if entry is not None and entry["status"] != FAILED else None

    def entries(self) -> list[dict]:
        """Every entry, in the order the batches were claimed."""
        if not self.dir.is_dir():
            return []
        found = [json.loads(p.read_text()) for p in self.dir.glob("*.json")]
        return sorted(found, key=lambda e: e["seq"])

    def processed_sources(self) -> set[str]:
        """The source URIs of every batch that counts as processed."""
        return {e["source"] for e in self.entries() if e["status"] != FAILED}

    def claim(self, sha256: str, entry: dict, force: bool = False) -> dict | None:
        """Records a run's decision on a batch unless another run processed it first.

        Args:
            sha256: The batch's content hash.
            entry: What to record (decision, reason, run, source, …); time and status are added.
            force: Record even over a processed entry (``--force``).

        Returns:
            The earlier entry that made this claim lose, or None when the claim was recorded.
        """
        path = self._path(sha256)
        with self.registry.lock():
            earlier = self.processed(sha256)
            if earlier is not None and not force:
                return earlier
            self.dir.mkdir(parents=True, exist_ok=True)
            seq = max((e["seq"] for e in self.entries()), default=0) + 1
            record = {**entry, "sha256": sha256, "seq": seq, "time": _now(), "status": CLAIMED}
            if earlier is not None:
                record["previous"] = {k: earlier[k] for k in ("run", "time", "decision")}
            atomic_write(path, json.dumps(record, indent=2, sort_keys=True))
        return None

    def runs_since_retrain(self) -> int | None:
        """Processed batches since the newest one that trained (None: none trained yet)."""
        done = [e for e in self.entries() if e["status"] != FAILED]
        trained = [i for i, e in enumerate(done) if e.get("decision") in ("retrain", "bootstrap")]
        return len(done) - 1 - trained[-1] if trained else None

    def episode(self, sha256: str, flag: str) -> set[str]:
        """The batch and the run of batches just before it that carry ``flag`` too.

        ``flag`` is ``degraded`` or ``drifted``: the hashes since the gate first saw the
        degradation (or drift) that is still going on at batch ``sha256``.
        """
        done = [e for e in self.entries() if e["status"] != FAILED and e["sha256"] != sha256]
        episode = {sha256}
        for entry in reversed(done):
            if not entry.get(flag):
                break
            episode.add(entry["sha256"])
        return episode

    def close_run(self, run: str, succeeded: bool) -> int:
        """Marks every open claim of a run ``done`` or ``failed``; returns how many."""
        closed = 0
        with self.registry.lock():
            for entry in self.entries():
                if entry["status"] == CLAIMED and entry.get("run") == run:
                    entry["status"] = DONE if succeeded else FAILED
                    entry["closed_at"] = _now()
                    atomic_write(self._path(entry["sha256"]), json.dumps(entry, indent=2))
                    closed += 1
        return closed

    def update(self, sha256: str, **fields: object) -> dict:
        """Adds fields to a batch's entry (pushed version, realised metrics, …)."""
        with self.registry.lock():
            entry = self.get(sha256)
            if entry is None:
                raise KeyError(sha256)
            entry.update(fields)
            atomic_write(self._path(sha256), json.dumps(entry, indent=2, sort_keys=True))
        return entry
