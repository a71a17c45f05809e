"""Log jobs run off the event loop and complete back on it; ``--fsync always`` still waits for them."""

import asyncio
import threading

from kafkalite.broker.broker import BrokerState
from kafkalite.clock import ManualClock
from kafkalite.config import BrokerConfig
from kafkalite.records.batch import validate_batches
from kafkalite.storage.fs import FaultyFS
from tests.helpers import simple_batch


class WatchedFS(FaultyFS):
    """The broker's file-system seam, recording which thread fsyncs and optionally holding fsyncs back."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.release.set()
        self.synced: list[str] = []

    def fsync(self, fd: int) -> None:
        self.release.wait(5)
        self.synced.append(threading.current_thread().name)
        super().fsync(fd)


def make_state(tmp_path, fs=None, **props):
    config = BrokerConfig.from_properties({"log.dirs": str(tmp_path / "data"), **props})
    state = BrokerState(config, ManualClock(), fs=fs)
    state.open()
    return state


def append(plog, n=1):
    data = bytearray(simple_batch(n))
    return plog.append(data, validate_batches(data))


def test_always_policy_answers_only_after_the_fsync_and_the_loop_keeps_running(tmp_path):
    fs = WatchedFS()
    state = make_state(tmp_path, fs, **{"kafkalite.fsync": "always"})
    state.cluster.create_topic("t", 1)
    plog = state.cluster.partition("t", 0)
    fs.synced.clear()
    fs.release.clear()  # the disk is slow: fsyncs wait until released
    release, synced = fs.release, fs.synced

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
        fs.release.set()
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


def test_interval_policy_flushes_in_the_worker(tmp_path):
    fs = WatchedFS()
    state = make_state(tmp_path, fs, **{"kafkalite.fsync": "interval"})
    state.cluster.create_topic("i", 1)
    plog = state.cluster.partition("i", 0)
    fs.synced.clear()
    threads = fs.synced

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
        state.close()
