"""Compaction: latest value per key, tombstones removed after delete.retention.ms, offsets kept."""

import pytest

from kafkalite.records.batch import crc_ok, iter_headers
from kafkalite.storage.cleaner import clean, clean_now, dirty_ratio, plan_cleaning, swap_in
from kafkalite.storage.log import LogConfig, PartitionLog
from tests.helpers import CODECS, make_batch
from tests.storage.test_log import produce, read_all

DAY = 86_400_000



@pytest.fixture
def log(tmp_path, clock):
    plog = PartitionLog(
        tmp_path / "c-0", LogConfig(segment_bytes=1, retention_ms=-1, delete=False, compact=True), clock.now_ms
    )
    plog.open(clean_shutdown=True)
    yield plog
    plog.close()


def put(log, clock, pairs, compression=0):
    keys = [k.encode() if k is not None else None for k, _ in pairs]
    values = [v.encode() if v is not None else None for _, v in pairs]
    if compression:  # long, repetitive values so kafka-python keeps the batch compressed
        keys = [k * 40 if k else k for k in keys]
    ts = [clock.now_ms()] * len(pairs)
    return produce(log, make_batch(values, keys=keys, timestamps=ts, compression=compression))


def latest(records):
    out = {}
    for r in records:
        out[r.key] = r.value
    return out


@pytest.mark.parametrize("codec", ["none", "gzip", "lz4", "zstd", "snappy"])
def test_keeps_latest_per_key_and_offsets(log, clock, codec):
    c = CODECS[codec]
    put(log, clock, [("a", "a1"), ("b", "b1"), ("c", "c1")], c)
    put(log, clock, [("a", "a2"), ("d", "d1")], c)
    put(log, clock, [("b", "b2"), ("a", "a3")], c)
    put(log, clock, [("z", "filler")], c)  # the active segment: never cleaned
    before = read_all(log)
    codecs_before = {h.base_offset: h.compression for h in iter_headers(log.read(0, 1 << 20))}
    for seg in log.segments[1:]:
        codecs_before.update({h.base_offset: h.compression for h in iter_headers(log.read(seg.base_offset, 1 << 20))})
    result = clean_now(log)
    assert result is not None and result.records_removed == 3
    after = read_all(log)
    assert latest(after) == latest(before)
    if c:
        assert any(v for v in codecs_before.values())
        after = [r._replace(key=r.key[: len(r.key) // 40]) for r in after]
    assert [(r.key, r.value) for r in after] == [
        (b"c", b"c1"),
        (b"d", b"d1"),
        (b"b", b"b2"),
        (b"a", b"a3"),
        (b"z", b"filler"),
    ]
    by_key = {r.key: r.offset for r in after}
    assert by_key == {b"c": 2, b"d": 4, b"b": 5, b"a": 6, b"z": 7}  # offsets unchanged
    assert log.log_end_offset == 8 and log.log_start_offset == 0
    for seg in log.segments:
        data = seg.read_batch_at(0) if seg.size else b""
        for h in iter_headers(data):
            assert crc_ok(data, h)
            assert h.compression == codecs_before[h.base_offset]


def test_rewritten_batch_keeps_base_offset_and_last_offset_delta(log, clock):
    put(log, clock, [("a", "1"), ("b", "1"), ("a", "2")])
    put(log, clock, [("x", "x")])
    clean_now(log)
    data = log.read(0, 1 << 20)
    first = next(iter_headers(data))
    assert (first.base_offset, first.last_offset_delta, first.records_count) == (0, 2, 2)
    assert [r.offset for r in read_all(log)] == [1, 2, 3]


def test_tombstones_removed_after_delete_retention(log, clock):
    log.config.delete_retention_ms = DAY
    put(log, clock, [("a", "a1"), ("b", "b1")])
    put(log, clock, [("a", None)])
    put(log, clock, [("z", "z")])
    clean_now(log)
    assert latest(read_all(log)) == {b"a": None, b"b": b"b1", b"z": b"z"}  # tombstone still visible
    clock.advance(DAY + 1)
    clean_now(log)
    records = read_all(log)
    assert b"a" not in latest(records)
    assert latest(records) == {b"b": b"b1", b"z": b"z"}


def test_keyless_records_are_kept(log, clock):
    put(log, clock, [(None, "v1"), (None, "v2"), ("k", "1"), ("k", "2")])
    put(log, clock, [("z", "z")])
    clean_now(log)
    assert [(r.key, r.value) for r in read_all(log)] == [(None, b"v1"), (None, b"v2"), (b"k", b"2"), (b"z", b"z")]


def test_dirty_ratio_gates_cleaning(log, clock):
    put(log, clock, [("a", "1")])
    put(log, clock, [("a", "2")])
    put(log, clock, [("z", "z")])
    assert dirty_ratio(log, 0, clock.now_ms()) == 1.0
    assert plan_cleaning(log, 0, clock.now_ms()) is not None
    task = plan_cleaning(log, 0, clock.now_ms())
    swap_in(log, clean(task))
    assert plan_cleaning(log, task.end_offset, clock.now_ms()) is None
    log.config.min_cleanable_dirty_ratio = 0.99
    put(log, clock, [("a", "3")])
    assert plan_cleaning(log, task.end_offset, clock.now_ms()) is None  # little dirty data
    log.config.min_cleanable_dirty_ratio = 0.1
    assert plan_cleaning(log, task.end_offset, clock.now_ms()) is not None


def test_min_compaction_lag_protects_new_segments(log, clock):
    log.config.min_compaction_lag_ms = 60_000
    put(log, clock, [("a", "1")])
    put(log, clock, [("a", "2")])
    assert plan_cleaning(log, 0, clock.now_ms()) is None
    clock.advance(60_001)
    put(log, clock, [("z", "z")])
    assert plan_cleaning(log, 0, clock.now_ms()) is not None


def test_swap_refused_for_a_segment_deleted_meanwhile(log, clock):
    put(log, clock, [("a", "1")])
    put(log, clock, [("a", "2")])
    put(log, clock, [("z", "z")])
    task = plan_cleaning(log, 0, clock.now_ms())
    result = clean(task)
    assert result.cleaned
    log.delete_records_before(1)  # the first segment goes while the cleaner works
    assert swap_in(log, result) == 0
    assert not list((log.directory / ".cleaner").iterdir())
    assert not list(log.directory.glob("*.cleaned"))  # the discarded copy
    assert [r.value for r in read_all(log, 1)] == [b"2", b"z"]


def test_cleaned_log_reopens_with_same_content(tmp_path, clock, log):
    put(log, clock, [("a", "1"), ("b", "1")])
    put(log, clock, [("a", "2")])
    put(log, clock, [("z", "z")])
    clean_now(log)
    expected = [(r.offset, r.key, r.value) for r in read_all(log)]
    log.close()
    (log.directory / ".cleaner").mkdir(exist_ok=True)
    (log.directory / ".cleaner" / "00000000000000000000.log").write_bytes(b"junk")  # leftover of a crash
    again = PartitionLog(log.directory, log.config, clock.now_ms)
    again.open(clean_shutdown=False)
    assert [(r.offset, r.key, r.value) for r in read_all(again)] == expected
    assert not (log.directory / ".cleaner").exists()
    assert again.log_end_offset == 4
    again.close()
    log.segments = []


def test_aborted_transactional_batches_are_removed(log, clock):
    put(log, clock, [("a", "1")])
    aborted = make_batch(
        [b"dropped"],
        keys=[b"b"],
        timestamps=[clock.now_ms()],
        producer_id=7,
        producer_epoch=0,
        base_sequence=0,
        transactional=True,
    )
    produce(log, aborted)
    assert log.append_marker(7, 0, commit=False) is not None
    committed = make_batch(
        [b"kept"],
        keys=[b"c"],
        timestamps=[clock.now_ms()],
        producer_id=7,
        producer_epoch=0,
        base_sequence=1,
        transactional=True,
    )
    produce(log, committed)
    assert log.append_marker(7, 0, commit=True) is not None
    put(log, clock, [("z", "end")])  # closes the earlier segments so they can be cleaned
    result = clean_now(log)
    assert result is not None and result.records_removed >= 1
    values = [r.value for r in read_all(log)]
    assert b"dropped" not in values
    assert b"kept" in values and b"1" in values
