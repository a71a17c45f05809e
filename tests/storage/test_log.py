import os

import pytest

from kafkalite.records.batch import TIMESTAMP_TYPE_MASK, crc_ok, iter_headers, validate_batches
from kafkalite.records.records import iter_records
from kafkalite.storage.log import AppendResult, LogConfig, OffsetOutOfRange, PartitionLog
from kafkalite.storage.producer_state import SequenceError
from tests.helpers import BASE_TS, CODECS, START_MS, compressible_values, make_batch, simple_batch


@pytest.fixture
def open_log(tmp_path, clock):
    opened = []

    def _open(config=None, clean=True, directory=None):
        log = PartitionLog(directory or tmp_path / "topic-0", config or LogConfig(), clock.now_ms)
        log.open(clean_shutdown=clean)
        opened.append(log)
        return log

    yield _open
    for log in opened:
        log.close()


def produce(log: PartitionLog, *batches: bytearray) -> AppendResult:
    """Validate and append like the Produce handler: one request holding ``batches``."""
    data = bytearray(b"".join(batches))
    return log.append(data, validate_batches(data))


def read_all(log: PartitionLog, start: int = 0) -> list:
    """Every record from ``start`` by fetching batch after batch, as a consumer does."""
    out = []
    offset = start
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        headers = list(iter_headers(data))
        assert headers, f"no progress at offset {offset}"
        for h in headers:
            out.extend(r for r in iter_records(data[h.position : h.position + h.length], h._replace(position=0)))
        offset = headers[-1].last_offset + 1
    return [r for r in out if r.offset >= start]


def test_new_log_is_empty(open_log):
    log = open_log()
    assert (log.log_start_offset, log.log_end_offset, log.high_watermark) == (0, 0, 0)
    assert log.read(0, 1000) == b""
    assert [p.name for p in log.directory.glob("*.log")] == ["00000000000000000000.log"]


def test_offsets_assigned_sequentially(open_log):
    log = open_log()
    assert produce(log, simple_batch(3)) == AppendResult(0, 2, -1)
    assert produce(log, simple_batch(1)) == AppendResult(3, 3, -1)
    assert produce(log, simple_batch(2), simple_batch(4)) == AppendResult(4, 9, -1)
    assert log.log_end_offset == log.high_watermark == 10
    stored = log.read(0, 1 << 20)
    assert [(h.base_offset, h.last_offset) for h in iter_headers(stored)] == [(0, 2), (3, 3), (4, 5), (6, 9)]
    assert all(crc_ok(stored, h) for h in iter_headers(stored))
    assert [r.offset for r in read_all(log)] == list(range(10))


def test_append_stamps_offsets_into_callers_buffer(open_log):
    log = open_log()
    produce(log, simple_batch(5))
    data = bytearray(simple_batch(2))
    log.append(data, validate_batches(data))
    assert int.from_bytes(data[:8], "big") == 5
    assert log.read(5, 1 << 20) == bytes(data)


def test_roll_on_segment_bytes(open_log):
    one = len(simple_batch(4))
    log = open_log(LogConfig(segment_bytes=2 * one))
    for _ in range(5):
        produce(log, simple_batch(4))
    assert [s.base_offset for s in log.segments] == [0, 8, 16]
    names = sorted(p.name for p in log.directory.glob("*.log"))
    assert names == ["00000000000000000000.log", "00000000000000000008.log", "00000000000000000016.log"]
    assert all(len(n) == len("00000000000000000000.log") for n in names)
    assert [s.size for s in log.segments] == [2 * one, 2 * one, one]
    assert log.size_bytes == 5 * one
    assert log.log_end_offset == 20


def test_oversized_append_into_empty_segment_does_not_roll(open_log):
    log = open_log(LogConfig(segment_bytes=10))
    produce(log, simple_batch(3))
    assert len(log.segments) == 1
    produce(log, simple_batch(3))
    assert [s.base_offset for s in log.segments] == [0, 3]


def test_roll_on_segment_ms(open_log, clock):
    log = open_log(LogConfig(segment_ms=1000))
    produce(log, simple_batch(2))
    clock.advance(999)
    produce(log, simple_batch(2))
    assert len(log.segments) == 1
    clock.advance(1)
    produce(log, simple_batch(2))
    assert [s.base_offset for s in log.segments] == [0, 4]
    assert log.segments[1].created_ms == START_MS + 1000
    clock.advance(500)
    produce(log, simple_batch(1))
    assert len(log.segments) == 2
    clock.advance(500)
    produce(log, simple_batch(1))
    assert [s.base_offset for s in log.segments] == [0, 4, 7]


def test_empty_active_segment_does_not_roll_on_time(open_log, clock):
    log = open_log(LogConfig(segment_ms=10))
    clock.advance(1000)
    produce(log, simple_batch(1))
    assert len(log.segments) == 1


@pytest.fixture
def multi(open_log):
    """Six batches of three records over three segments (two batches each)."""
    one = len(simple_batch(3, tag="b0"))
    log = open_log(LogConfig(segment_bytes=2 * one, index_interval_bytes=1))
    for i in range(6):
        produce(log, simple_batch(3, start_ts=BASE_TS + 100 * i, tag=f"b{i}"))
    assert [s.base_offset for s in log.segments] == [0, 6, 12]
    return log


def test_reads_across_segments(multi):
    records = read_all(multi)
    assert [r.offset for r in records] == list(range(18))
    assert [r.value for r in records[:4]] == [b"b0-0", b"b0-1", b"b0-2", b"b1-0"]
    assert records[-1].value == b"b5-2"
    assert records[7].timestamp == BASE_TS + 201


@pytest.mark.parametrize(("offset", "base"), [(0, 0), (5, 3), (6, 6), (8, 6), (13, 12), (17, 15)])
def test_read_starts_at_batch_holding_offset(multi, offset, base):
    data = multi.read(offset, 1 << 20)
    first = next(iter_headers(data))
    assert first.base_offset == base
    # one read never crosses a segment boundary
    assert {multi._segment_for(h.base_offset) for h in iter_headers(data)} == {multi._segment_for(offset)}


def test_read_with_small_max_bytes_still_makes_progress(multi):
    data = multi.read(7, 1)
    assert [(h.base_offset, h.last_offset) for h in iter_headers(data)] == [(6, 8)]
    assert multi.read(7, 1, min_one=False) == b""


def test_offset_out_of_range(multi):
    with pytest.raises(OffsetOutOfRange):
        multi.read(-1, 100)
    with pytest.raises(OffsetOutOfRange):
        multi.read(19, 100)
    assert multi.read(18, 100) == b""


def test_offset_for_timestamp(multi):
    assert multi.offset_for_timestamp(0) == (0, BASE_TS)
    assert multi.offset_for_timestamp(BASE_TS) == (0, BASE_TS)
    assert multi.offset_for_timestamp(BASE_TS + 1) == (1, BASE_TS + 1)
    assert multi.offset_for_timestamp(BASE_TS + 3) == (3, BASE_TS + 100)
    assert multi.offset_for_timestamp(BASE_TS + 250) == (9, BASE_TS + 300)
    assert multi.offset_for_timestamp(BASE_TS + 402) == (14, BASE_TS + 402)
    assert multi.offset_for_timestamp(BASE_TS + 502) == (17, BASE_TS + 502)
    assert multi.offset_for_timestamp(BASE_TS + 503) is None


def test_offset_for_timestamp_with_unordered_timestamps(open_log):
    log = open_log(LogConfig(index_interval_bytes=1))
    produce(log, make_batch([b"a", b"b", b"c"], timestamps=[1000, 5000, 2000]))
    produce(log, make_batch([b"d", b"e"], timestamps=[3000, 4000]))
    assert log.offset_for_timestamp(1500) == (1, 5000)
    assert log.offset_for_timestamp(5000) == (1, 5000)
    assert log.offset_for_timestamp(5001) is None


def test_max_timestamp_offset(open_log):
    one = len(make_batch([b"x", b"y", b"z"], timestamps=[1, 2, 3]))
    log = open_log(LogConfig(segment_bytes=2 * one))
    assert log.max_timestamp_offset() is None
    produce(log, make_batch([b"x", b"y", b"z"], timestamps=[10, 20, 30]))
    produce(log, make_batch([b"x", b"y", b"z"], timestamps=[40, 90, 90]))  # max in the middle, twice
    produce(log, make_batch([b"x", b"y", b"z"], timestamps=[50, 60, 70]))
    produce(log, make_batch([b"x", b"y", b"z"], timestamps=[80, 85, 89]))
    assert len(log.segments) == 2
    assert log.max_timestamp_offset() == (4, 90)


def test_max_timestamp_offset_first_of_equal_across_segments(open_log):
    log = open_log(LogConfig(segment_bytes=1))
    produce(log, make_batch([b"x", b"y"], timestamps=[5, 70]))
    produce(log, make_batch([b"x", b"y"], timestamps=[70, 1]))
    assert len(log.segments) == 2
    assert log.max_timestamp_offset() == (1, 70)


def test_compressed_batches_round_trip(open_log):
    log = open_log()
    for name in ("gzip", "snappy", "lz4", "zstd"):
        produce(log, make_batch(compressible_values(4), compression=CODECS[name]))
    records = read_all(log)
    assert [r.offset for r in records] == list(range(16))
    assert [r.value for r in records[:4]] == compressible_values(4)
    assert log.offset_for_timestamp(BASE_TS + 2) == (2, BASE_TS + 2)


def test_reopen_after_clean_close(multi, tmp_path, clock):
    before = read_all(multi)
    lookups = (multi.offset_for_timestamp(BASE_TS + 250), multi.max_timestamp_offset())
    config = multi.config
    multi.close()
    log = PartitionLog(tmp_path / "topic-0", config, clock.now_ms)
    log.open(clean_shutdown=True)
    try:
        assert [s.base_offset for s in log.segments] == [0, 6, 12]
        assert log.log_end_offset == 18
        assert read_all(log) == before
        assert (log.offset_for_timestamp(BASE_TS + 250), log.max_timestamp_offset()) == lookups
        assert produce(log, simple_batch(1)) == AppendResult(18, 18, -1)
    finally:
        log.close()


def test_reopen_after_crash(multi, tmp_path, clock):
    before = read_all(multi)
    # no close(): nothing flushed or fsynced; a second instance opens as after kill -9
    log = PartitionLog(tmp_path / "topic-0", multi.config, clock.now_ms)
    log.open(clean_shutdown=False)
    try:
        assert log.log_end_offset == 18
        assert read_all(log) == before
        assert log.max_timestamp_offset() == (17, BASE_TS + 502)
        assert produce(log, simple_batch(2)) == AppendResult(18, 19, -1)
    finally:
        log.close()


def test_reopen_after_crash_with_torn_tail(multi, tmp_path, clock):
    before = read_all(multi)
    with open(multi.active.log_path, "ab") as fh:
        fh.write(bytes(simple_batch(5))[:50])  # a write the crash cut short
    size = multi.active.log_path.stat().st_size
    log = PartitionLog(tmp_path / "topic-0", multi.config, clock.now_ms)
    log.open(clean_shutdown=False)
    try:
        assert log.active.log_path.stat().st_size == size - 50
        assert log.log_end_offset == 18
        assert read_all(log) == before
        assert produce(log, simple_batch(1)).base_offset == 18
    finally:
        log.close()


def test_open_removes_deleted_leftovers(tmp_path, open_log):
    directory = tmp_path / "topic-0"
    directory.mkdir()
    (directory / "00000000000000000000.log.deleted").write_bytes(b"old")
    log = open_log(directory=directory)
    assert not (directory / "00000000000000000000.log.deleted").exists()
    assert log.log_end_offset == 0


def test_log_append_time_stamps_the_batch(open_log, clock):
    log = open_log(LogConfig(log_append_time=True))
    clock.advance(42)
    result = produce(log, make_batch(compressible_values(3), compression=CODECS["gzip"], timestamps=[1, 2, 3]))
    assert result == AppendResult(0, 2, START_MS + 42)
    stored = log.read(0, 1 << 20)
    (h,) = iter_headers(stored)
    assert h.attributes & TIMESTAMP_TYPE_MASK
    assert h.max_timestamp == START_MS + 42
    assert crc_ok(stored, h)
    assert validate_batches(stored)
    assert [r.timestamp for r in read_all(log)] == [START_MS + 42] * 3
    assert log.offset_for_timestamp(2) == (0, START_MS + 42)
    assert log.max_timestamp_offset() == (0, START_MS + 42)


def test_create_time_keeps_producer_timestamps(open_log):
    log = open_log()
    result = produce(log, make_batch([b"a"], timestamps=[123]))
    assert result.log_append_time == -1
    (h,) = iter_headers(log.read(0, 1000))
    assert not h.attributes & TIMESTAMP_TYPE_MASK
    assert h.max_timestamp == 123


# ---- idempotent producer ---------------------------------------------------------------------

PID = 4000


def idem(n: int, seq: int, epoch: int = 0, pid: int = PID, tag: str = "i") -> bytearray:
    return simple_batch(n, producer_id=pid, producer_epoch=epoch, base_sequence=seq, tag=tag)


def test_idempotent_appends_in_sequence(open_log):
    log = open_log()
    assert produce(log, idem(3, 0)) == AppendResult(0, 2, -1)
    assert produce(log, idem(2, 3)) == AppendResult(3, 4, -1)
    assert produce(log, idem(1, 0, pid=PID + 1)) == AppendResult(5, 5, -1)
    assert log.log_end_offset == 6


def test_duplicate_batch_returns_original_offsets_without_writing(open_log):
    log = open_log()
    produce(log, simple_batch(2))
    first = produce(log, idem(3, 0))
    produce(log, idem(2, 3))
    size = log.size_bytes
    retry = produce(log, idem(3, 0))
    assert first == AppendResult(2, 4, -1)
    # Kafka answers a duplicate with the original batch's max timestamp as its append time.
    assert retry == AppendResult(2, 4, BASE_TS + 2)
    assert log.size_bytes == size
    assert log.log_end_offset == 7
    assert produce(log, idem(2, 3)) == AppendResult(5, 6, BASE_TS + 1)
    assert log.size_bytes == size


def test_sequence_gap_raises_and_writes_nothing(open_log):
    log = open_log()
    produce(log, idem(3, 0))
    size = log.size_bytes
    with pytest.raises(SequenceError) as exc:
        produce(log, idem(1, 5))
    assert exc.value.kind == "out_of_order"
    assert log.size_bytes == size
    assert log.log_end_offset == 3
    assert produce(log, idem(1, 3)) == AppendResult(3, 3, -1)


def test_older_epoch_raises(open_log):
    log = open_log()
    produce(log, idem(2, 0, epoch=0))
    produce(log, idem(2, 0, epoch=1))
    with pytest.raises(SequenceError) as exc:
        produce(log, idem(1, 2, epoch=0))
    assert exc.value.kind == "invalid_epoch"
    assert log.log_end_offset == 4


def test_new_epoch_must_start_at_sequence_zero(open_log):
    log = open_log()
    produce(log, idem(2, 0, epoch=0))
    with pytest.raises(SequenceError) as exc:
        produce(log, idem(1, 2, epoch=1))
    assert exc.value.kind == "out_of_order"


def test_batches_of_one_request_must_continue_each_other(open_log):
    log = open_log()
    assert produce(log, idem(2, 0), idem(3, 2)) == AppendResult(0, 4, -1)
    size = log.size_bytes
    with pytest.raises(SequenceError):
        produce(log, idem(2, 5), idem(1, 9))
    with pytest.raises(SequenceError):
        produce(log, idem(2, 5), idem(1, 7, pid=PID + 1))
    assert log.size_bytes == size
    assert log.log_end_offset == 5


def test_duplicate_detected_after_reopen(open_log, tmp_path, clock):
    log = open_log()
    produce(log, idem(2, 0))
    produce(log, idem(2, 2))
    log.close()
    again = open_log()
    assert produce(again, idem(2, 2)) == AppendResult(2, 3, BASE_TS + 1)
    assert again.log_end_offset == 4
    with pytest.raises(SequenceError):
        produce(again, idem(1, 7))


def test_duplicate_detected_after_crash(open_log, tmp_path, clock):
    log = open_log()
    produce(log, idem(2, 0))
    again = open_log(clean=False)
    assert produce(again, idem(2, 0)) == AppendResult(0, 1, BASE_TS + 1)
    assert again.log_end_offset == 2


def test_delete_removes_directory(open_log):
    log = open_log()
    produce(log, simple_batch(1))
    log.delete()
    assert not log.directory.exists()


def test_flush_does_not_change_content(open_log):
    log = open_log()
    produce(log, simple_batch(2))
    log.flush()
    assert os.path.getsize(log.active.log_path) == log.size_bytes


def test_duplicate_detected_after_reopen_when_batch_is_in_older_segment(open_log):
    log = open_log(LogConfig(segment_bytes=1))
    produce(log, idem(2, 0))
    produce(log, simple_batch(1))  # another producer's write rolls the segment
    assert [s.base_offset for s in log.segments] == [0, 2]
    log.close()
    again = open_log(LogConfig(segment_bytes=1))
    assert produce(again, idem(2, 0)) == AppendResult(0, 1, BASE_TS + 1)
    assert again.log_end_offset == 3


def test_read_without_min_one_never_skips_to_next_segment(open_log):
    log = open_log(LogConfig(segment_bytes=1))
    big = simple_batch(10, tag="big" * 20)
    produce(log, big)
    produce(log, simple_batch(1))
    assert [s.base_offset for s in log.segments] == [0, 10]
    data = log.read(3, len(big) - 1, min_one=False)
    assert [h.base_offset for h in iter_headers(data)] in ([], [0])
