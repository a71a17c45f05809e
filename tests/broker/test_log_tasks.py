"""Log jobs run off the event loop and complete back on it; ``--fsync always`` still waits for them."""

import asyncio
import os
import threading

from kafkalite.broker.broker import BrokerState
from kafkalite.clock import ManualClock
from kafkalite.config import BrokerConfig
from kafkalite.records.batch import validate_batches
from kafkalite.storage import jobs as jobs_module
from tests.helpers import simple_batch


def make_state(tmp_path, **props):
    config = BrokerConfig.from_properties({"log.dirs": str(tmp_path / "data"), **props})
    state = BrokerState(config, ManualClock())
    state.open()
    return state


def append(plog, n=1):
    data = bytearray(simple_batch(n))
    return plog.append(data, validate_batches(data))


def test_always_policy_answers_only_after_the_fsync_and_the_loop_keeps_running(tmp_path, monkeypatch):
    state = make_state(tmp_path, **{"kafkalite.fsync": "always"})
    state.cluster.create_topic("t", 1)
    plog = state.cluster.partition("t", 0)
    release = threading.Event()
    synced: list[int] = []
    real_fsync = os.fsync

    def slow_fsync(fd):
        release.wait(5)
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(jobs_module.os, "fsync", slow_fsync)

    async def scenario():
        state.logs.start()
        append(plog)
        produce = asyncio.ensure_future(state.flush_now(plog))
        ticks = 0
        for _ in range(5):  # the loop is free while the worker waits on the disk
            await asyncio.sleep(0.01)
            ticks += 1
        assert not produce.done() and synced == []
        append(plog)  # other connections keep appending, and may roll, meanwhile
        plog.roll()
        release.set()
        await produce
        assert synced and ticks == 5
        await state.logs.drain()
        state.logs.stop()

    try:
        asyncio.run(scenario())
    finally:
        monkeypatch.undo()
        state.close()


def test_deleting_a_topic_on_the_loop_leaves_the_removal_to_the_worker(tmp_path):
    state = make_state(tmp_path)
    state.cluster.create_topic("gone", 2)
    append(state.cluster.partition("gone", 0), 3)
    data = tmp_path / "data"

    async def scenario():
        state.logs.start()
        state.cluster.delete_topic("gone")
        assert not (data / "gone-0").exists() and not (data / "gone-1").exists()
        await state.logs.drain()
        state.logs.stop()

    try:
        asyncio.run(scenario())
        assert not [p for p in data.iterdir() if p.name.startswith("gone-")]
    finally:
        state.close()


def test_interval_policy_flushes_in_the_worker(tmp_path, monkeypatch):
    state = make_state(tmp_path, **{"kafkalite.fsync": "interval"})
    state.cluster.create_topic("i", 1)
    plog = state.cluster.partition("i", 0)
    threads: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        threads.append(threading.current_thread().name)
        real_fsync(fd)

    monkeypatch.setattr(jobs_module.os, "fsync", recording_fsync)

    async def scenario():
        state.logs.start()
        append(plog)
        state.appended("i", 0, plog)
        state.flush_dirty()
        await state.logs.drain()
        state.logs.stop()

    try:
        asyncio.run(scenario())
        assert threads and all(name.startswith("kafkalite-log") for name in threads)
    finally:
        monkeypatch.undo()
        state.close()
