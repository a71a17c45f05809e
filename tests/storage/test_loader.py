"""The loader (Kafka's LogLoader): leftovers of interrupted operations, swaps, one recovery pass."""

import pytest

from kafkalite.storage import segment as segment_module
from kafkalite.storage.jobs import run_inline
from kafkalite.storage.loader import LogLoader, remove_leftovers
from kafkalite.storage.log import AppendResult, LogConfig, PartitionLog
from tests.helpers import BASE_TS, simple_batch
from tests.storage.test_log import produce, read_all

STEM = "00000000000000000000"
PID = 77


def idem(n: int, seq: int) -> bytearray:
    return simple_batch(n, producer_id=PID, producer_epoch=0, base_sequence=seq, tag="i")


@pytest.fixture
def opened():
    logs = []
    yield logs
    for log in logs:
        log.close()


def open_log(directory, clock, opened, clean=True, config=None):
    log = PartitionLog(directory, config or LogConfig(), clock.now_ms, submit=run_inline)
    log.open(clean_shutdown=clean)
    opened.append(log)
    return log


def test_leftovers_of_interrupted_operations_are_removed(tmp_path, clock, opened):
    directory = tmp_path / "t-0"
    log = open_log(directory, clock, opened)
    produce(log, simple_batch(3))
    log.close()
    opened.clear()
    junk = [
        f"{STEM}.log.deleted",
        f"{STEM}.index.deleted",
        f"{STEM}.log.cleaned",
        f"{STEM}.timeindex.cleaned",
        f"{STEM}.index.swap",  # an index swap: rebuilt from its log, so dropped
        "00000000000000000042.index",  # an index whose log is gone
        "00000000000000000042.timeindex",
    ]
    for name in junk:
        (directory / name).write_bytes(b"junk")
    (directory / ".cleaner").mkdir()
    (directory / ".cleaner" / f"{STEM}.log").write_bytes(b"junk")
    again = open_log(directory, clock, opened, clean=False)
    assert not any((directory / name).exists() for name in junk)
    assert not (directory / ".cleaner").exists()
    assert [r.offset for r in read_all(again)] == [0, 1, 2]


def test_a_committed_log_swap_replaces_the_old_segment_and_its_indexes(tmp_path, clock, opened):
    directory = tmp_path / "t-0"
    log = open_log(directory, clock, opened, config=LogConfig(index_interval_bytes=1))
    produce(log, simple_batch(1, tag="old"))
    produce(log, simple_batch(1, tag="old"))
    log.close()
    opened.clear()
    # the compacted copy holds only the second batch (offset 1), committed as <base>.log.swap
    other = tmp_path / "copy-0"
    copy = open_log(other, clock, opened, config=LogConfig(index_interval_bytes=1))
    produce(copy, simple_batch(1, tag="old"))
    produce(copy, simple_batch(1, tag="new"))
    copy.close()
    opened.clear()
    data = (other / f"{STEM}.log").read_bytes()
    first_len = len(bytes(simple_batch(1, tag="old")))
    (directory / f"{STEM}.log.swap").write_bytes(data[first_len:])
    remove_leftovers(directory)
    assert not (directory / f"{STEM}.log.swap").exists()
    assert not (directory / f"{STEM}.index").exists()  # the old index went with the old log
    again = open_log(directory, clock, opened, clean=False, config=LogConfig(index_interval_bytes=1))
    records = read_all(again, 1)
    assert [(r.offset, r.value) for r in records] == [(1, b"new-0")]
    seg = again.segments[0]
    assert list(seg.offset_index.offsets) == [1]  # rebuilt from the new log: 1 -> position 0


def test_unclean_open_reads_the_active_segment_once(tmp_path, clock, opened, monkeypatch):
    directory = tmp_path / "t-0"
    log = open_log(directory, clock, opened)
    produce(log, idem(2, 0))
    log.roll()  # a producer snapshot at offset 2
    produce(log, idem(2, 2))
    produce(log, idem(2, 4))
    opened.clear()  # no close: as after kill -9
    active_path = log.active.log_path
    scans = []
    real_scan = segment_module.LogSegment._scan

    def counting_scan(self, start, *args):
        if self.log_path == active_path:
            scans.append(start)
        return real_scan(self, start, *args)

    monkeypatch.setattr(segment_module.LogSegment, "_scan", counting_scan)
    loaded = LogLoader(directory, log._segment, clock.now_ms()).load(clean_shutdown=False)
    assert loaded.recovered and loaded.scans_of_active == 1
    assert scans == [0]  # recovery's pass only: producer state was rebuilt during it
    monkeypatch.undo()
    again = PartitionLog(directory, LogConfig(), clock.now_ms)
    again.segments, again.producer_state = loaded.segments, loaded.producer_state
    opened.append(again)
    # the producer state saw the batches after the snapshot: a retry is a duplicate
    assert produce(again, idem(2, 4)) == AppendResult(4, 5, BASE_TS + 1)
    assert produce(again, idem(1, 6)).base_offset == 6


def test_snapshots_past_the_recovered_end_are_dropped(tmp_path, clock, opened):
    directory = tmp_path / "t-0"
    log = open_log(directory, clock, opened)
    produce(log, idem(2, 0))
    opened.clear()
    (directory / "00000000000000000009.snapshot").write_bytes(b"{}")  # from data lost in the crash
    again = open_log(directory, clock, opened, clean=False)
    assert not (directory / "00000000000000000009.snapshot").exists()
    assert produce(again, idem(2, 0)).base_offset == 0  # a duplicate, answered with its offsets
    assert again.log_end_offset == 2
