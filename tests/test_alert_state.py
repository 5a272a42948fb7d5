"""Alert state machine: one message per state change, reminders, persistence, concurrency."""

import json
import multiprocessing

import pytest

from driftgate.errors import RegistryError
from driftgate.observe.alert_state import AlertState, AlertStateStore, advance


def _run(state: AlertState, active: bool, i: int, remind_every: int = 3):
    return advance(state, active, f"b{i}", f"r{i}", f"2026-01-0{i % 9 + 1}", remind_every)


def test_every_transition():
    state, message = _run(AlertState(), False, 0)
    assert (state, message) == (AlertState(), None)
    state, message = _run(state, True, 1)
    assert message == "started"
    assert (state.active, state.since_batch, state.since_run) == (True, "b1", "r1")
    messages = []
    for i in range(2, 9):
        state, message = _run(state, True, i)
        messages.append(message)
    # remind_every=3: the third active run after a message reminds, then the count restarts.
    assert messages == [None, None, "reminder", None, None, "reminder", None]
    assert state.since_batch == "b1" and state.runs_since_message == 1
    state, message = _run(state, False, 9)
    assert message == "recovered"
    assert not state.active and state.recovered_batch == "b9" and state.since_batch == "b1"
    state, message = _run(state, False, 10)
    assert message is None
    state, message = _run(state, True, 11)
    assert message == "started" and state.since_batch == "b11" and state.recovered_batch is None


def test_remind_every_zero_never_reminds_and_one_reminds_every_run():
    state, _ = _run(AlertState(), True, 1, remind_every=0)
    assert [_run(state, True, i, remind_every=0)[1] for i in range(2, 6)] == [None] * 4
    for i in range(2, 5):
        state, message = _run(state, True, i, remind_every=1)
        assert message == "reminder"


def test_store_persists_across_instances(tmp_path):
    first = AlertStateStore(tmp_path)
    assert first.transition("degradation", True, "b1", "r1", "t1", 2) == "started"
    assert first.transition("drift", False, "b1", "r1", "t1", 2) is None
    second = AlertStateStore(tmp_path)
    assert second.get("degradation").since_batch == "b1"
    assert second.transition("degradation", True, "b2", "r2", "t2", 2) is None
    assert second.transition("degradation", True, "b3", "r3", "t3", 2) == "reminder"
    state, message = AlertStateStore(tmp_path).transition_state(
        "degradation", False, "b4", "r4", "t4", 2
    )
    assert message == "recovered" and state.recovered_batch == "b4"
    saved = json.loads((tmp_path / "alert_state.json").read_text())
    assert saved["degradation"]["recovered_batch"] == "b4"
    assert saved["drift"]["active"] is False


def test_store_rejects_unknown_kind_and_names_a_corrupt_file(tmp_path):
    store = AlertStateStore(tmp_path)
    with pytest.raises(RegistryError, match="unknown alert kind"):
        store.transition("latency", True, "b", "r", "t", 1)  # type: ignore[arg-type]
    (tmp_path / "alert_state.json").write_text("{not json")
    with pytest.raises(RegistryError, match=r"alert_state\.json.*delete the file"):
        store.get("drift")


def _concurrent_run(directory: str, index: int, start, queue) -> None:
    start.wait()
    store = AlertStateStore(directory)
    queue.put(store.transition("drift", True, f"b{index}", f"r{index}", "t", 100))


def test_concurrent_runs_announce_an_episode_once(tmp_path):
    context = multiprocessing.get_context("spawn")
    start, queue = context.Event(), context.Queue()
    workers = [
        context.Process(target=_concurrent_run, args=(str(tmp_path), i, start, queue))
        for i in range(6)
    ]
    for worker in workers:
        worker.start()
    start.set()
    messages = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert messages.count("started") == 1 and messages.count(None) == 5
    assert AlertStateStore(tmp_path).get("drift").runs_since_message == 5
