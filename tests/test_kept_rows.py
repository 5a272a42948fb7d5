"""Labelled rows of batches the gate did not train on are kept for the next candidate."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftgate.components.decide.core import BatchFacts, decide, gate_batch
from driftgate.components.decide.gate import GateSettings
from driftgate.components.train.core import _previous_rows
from driftgate.components.train.window import BATCH_COLUMN, labelled_rows
from driftgate.registry import kept_rows
from driftgate.registry.ledger import Ledger
from driftgate.registry.store import TRAINING_DATA, Registry

pytestmark = pytest.mark.slow  # the demo's registry


def _skip(found):
    return decide(found, GateSettings(retrain_on=[]))


def _batch(tmp_path, table: pa.Table, name: str) -> str:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path)
    return str(path)


def test_a_skipped_labelled_batch_joins_the_next_window_until_production_changes(
    deployed_registry, tmp_path
):
    registry = Registry(deployed_registry, "penguins")
    ledger = Ledger(registry)
    stored = pq.read_table(registry.verified(2).path / TRAINING_DATA)
    season = stored.drop_columns([BATCH_COLUMN])
    details = {"deployed_version": 2, "trained_rows": 100}
    shas = ["1" * 64, "2" * 64, "3" * 64]
    for sha, rows in zip(
        shas[:2], (season.slice(0, 40), season.slice(season.num_rows - 30)), strict=True
    ):
        facts = BatchFacts(
            sha, f"{sha[0]}.csv", "r", len(rows), True, [], _batch(tmp_path, rows, sha)
        )
        assert not gate_batch(ledger, details, facts, _skip).retrain
    unlabelled = BatchFacts(shas[2], "3.csv", "r", 50, False, [], _batch(tmp_path, season, "u"))
    gate_batch(ledger, details, unlabelled, _skip)
    assert kept_rows.unseen_rows(ledger, 2) == 70
    assert sorted(p.stem for p in (registry.dir / kept_rows.KEPT_DIR).glob("*")) == shas[:2]

    batch = labelled_rows(season.slice(0, 5), "species", "f" * 64)
    window = _previous_rows(registry, 2, batch, "species")
    stored = pq.read_table(registry.verified(2).path / TRAINING_DATA).num_rows
    tags = window.column(BATCH_COLUMN).to_pylist()
    assert window.num_rows == stored + 70
    assert tags[stored:] == [shas[0]] * 40 + [shas[1]] * 30
    assert (
        _previous_rows(
            registry,
            2,
            labelled_rows(season.slice(0, 40), "species", shas[0]),
            "species",
        ).num_rows
        == stored + 30
    )

    registry.rollback(1)  # production changes: rows served by version 2 are no longer kept
    facts = BatchFacts(
        "4" * 64, "4.csv", "r", 10, True, [], _batch(tmp_path, season.slice(0, 10), "4")
    )
    gate_batch(ledger, {"deployed_version": 1, "trained_rows": 100}, facts, _skip)
    assert [p.stem for p in (registry.dir / kept_rows.KEPT_DIR).glob("*")] == ["4" * 64]
    assert kept_rows.unseen_rows(ledger, 1) == 10
