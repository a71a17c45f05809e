"""Retention and DeleteRecords on a partition log: whole segments go, the start offset moves."""

import pytest

from kafkalite.storage.catalog import Catalog
from kafkalite.storage.log import LogConfig, OffsetOutOfRange, PartitionLog
from tests.helpers import START_MS
from tests.storage.test_log import produce, read_all


@pytest.fixture
def open_log(tmp_path, clock):
    opened = []

    def _open(**cfg):
        log = PartitionLog(tmp_path / "t-0", LogConfig(**cfg), clock.now_ms)
        log.open(clean_shutdown=True)
        opened.append(log)
        return log

    yield _open
    for log in opened:
        log.close()


def fill(log, clock, batches, step_ms=1000, records=10):
    from tests.helpers import simple_batch

    for i in range(batches):
        produce(log, simple_batch(records, start_ts=clock.now_ms(), tag=f"b{i}"))
        clock.advance(step_ms)


def test_time_retention_deletes_old_segments_only(open_log, clock):
    log = open_log(segment_bytes=1, retention_ms=5000)  # every batch rolls a segment
    fill(log, clock, 10)
    assert len(log.segments) == 10
    assert log.enforce_retention() == 5
    # batches written at t0..t9 s, now t10: those older than 5 s are gone
    assert log.log_start_offset == 50
    assert [r.offset for r in read_all(log, 50)][:1] == [50]
    with pytest.raises(OffsetOutOfRange):
        log.read(10, 1 << 20)
    assert log.log_end_offset == 100


def test_expired_active_segment_is_rolled_and_deleted(open_log, clock):
    log = open_log(retention_ms=1000)
    fill(log, clock, 3, step_ms=10)
    clock.advance(5000)
    assert log.enforce_retention() == 1
    assert log.log_start_offset == log.log_end_offset == 30
    assert log.read(30, 1000) == b""
    fill(log, clock, 1)
    assert [r.offset for r in read_all(log, 30)] == list(range(30, 40))


def test_retention_disabled_and_compact_only_keep_everything(open_log, clock):
    log = open_log(segment_bytes=1, retention_ms=-1)
    fill(log, clock, 5)
    clock.advance(10**9)
    assert log.enforce_retention() == 0
    log.config = LogConfig(segment_bytes=1, retention_ms=1, delete=False, compact=True)
    assert log.enforce_retention() == 0
    assert log.log_start_offset == 0


def test_size_retention(open_log, clock):
    log = open_log(segment_bytes=1, retention_ms=-1)
    fill(log, clock, 6)
    seg_size = log.segments[0].size
    log.config = LogConfig(segment_bytes=1, retention_ms=-1, retention_bytes=seg_size * 3)
    deleted = log.enforce_retention()
    assert deleted == 3
    assert log.size_bytes <= seg_size * 3
    assert log.log_start_offset == 30


def test_delete_records_moves_start_inside_a_segment(open_log, clock):
    log = open_log()
    fill(log, clock, 3)
    assert log.delete_records_before(15) == 15
    assert log.log_start_offset == 15
    with pytest.raises(OffsetOutOfRange):
        log.read(14, 1000)
    # a fetch at the new start returns the whole batch holding it; the client skips earlier records
    assert [r.offset for r in read_all(log, 15)] == list(range(15, 30))
    assert log.delete_records_before(5) == 15  # never moves back
    with pytest.raises(OffsetOutOfRange):
        log.delete_records_before(31)
    assert log.delete_records_before(30) == 30


def test_delete_records_drops_whole_segments(open_log, clock):
    log = open_log(segment_bytes=1)
    fill(log, clock, 4)
    assert len(log.segments) == 4
    log.delete_records_before(25)
    assert [s.base_offset for s in log.segments] == [20, 30]
    assert not (log.directory / "00000000000000000000.log").exists()


def test_log_start_offset_checkpoint_round_trip(tmp_path, clock):
    cat = Catalog(tmp_path / "data")
    cat.save_log_start_offsets({("a", 0): 5, ("b-c", 2): 17})
    assert (tmp_path / "data" / "log-start-offset-checkpoint").read_text().splitlines() == [
        "0",
        "2",
        "a 0 5",
        "b-c 2 17",
    ]
    assert cat.load_log_start_offsets() == {("a", 0): 5, ("b-c", 2): 17}
    log = PartitionLog(tmp_path / "a-0", LogConfig(), clock.now_ms)
    log.open(clean_shutdown=True)
    fill(log, clock, 1)
    log.restore_log_start_offset(5)
    assert log.log_start_offset == 5
    log.restore_log_start_offset(500)  # clamped to the log end
    assert log.log_start_offset == 10
    log.close()


def test_timestamp_lookup_never_answers_below_the_log_start(open_log, clock):
    log = open_log()
    fill(log, clock, 2)  # offsets 0-9 at t0, 10-19 at t0+1s
    log.delete_records_before(5)
    assert log.offset_for_timestamp(0) == (5, START_MS + 5)
