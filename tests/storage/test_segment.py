import os
import struct

import pytest

from kafkalite.records.batch import HEADER_SIZE, iter_headers
from kafkalite.storage.segment import LogSegment, segment_name
from tests.helpers import BASE_TS, assign_offsets, simple_batch

INTERVAL = 4096


def open_segment(path, base=0, interval=INTERVAL) -> LogSegment:
    return LogSegment(path, base, interval, created_ms=0)


def append(seg: LogSegment, *batches: bytearray) -> list[bytes]:
    """Append each batch in its own call; return the stored bytes of each."""
    stored = []
    for batch in batches:
        data = bytearray(batch)
        headers, _ = assign_offsets(data, seg.next_offset)
        seg.append(data, headers)
        stored.append(bytes(data))
    return stored


def offsets_in(data: bytes) -> list[tuple[int, int]]:
    return [(h.base_offset, h.last_offset) for h in iter_headers(data)]


@pytest.fixture
def seg(tmp_path):
    s = open_segment(tmp_path)
    yield s
    s.close()


@pytest.fixture
def filled(seg):
    """Three batches of five records: offsets 0-4, 5-9, 10-14, timestamps BASE_TS + offset."""
    stored = append(seg, *(simple_batch(5, start_ts=BASE_TS + 5 * i, tag=f"b{i}") for i in range(3)))
    return seg, stored


def test_segment_name_is_20_digits():
    assert segment_name(0) == "00000000000000000000"
    assert segment_name(123456789) == "00000000000123456789"


def test_files_named_after_base_offset(tmp_path):
    s = open_segment(tmp_path, base=42)
    try:
        # A new segment costs one file; its indexes are written with their first entries.
        assert {p.name for p in tmp_path.iterdir()} == {"00000000000000000042.log"}
        append(s, simple_batch(1))
        s.flush_all()
        assert {p.name for p in tmp_path.iterdir()} == {
            "00000000000000000042.log",
            "00000000000000000042.index",
            "00000000000000000042.timeindex",
        }
        assert s.next_offset == 43
    finally:
        s.close()


def test_append_tracks_size_offsets_and_timestamps(filled):
    seg, stored = filled
    assert seg.size == sum(map(len, stored))
    assert seg.log_path.stat().st_size == seg.size
    assert seg.next_offset == 15
    assert seg.max_timestamp == BASE_TS + 14
    assert seg.max_timestamp_offset == 10


def test_read_from_first_offset_returns_everything(filled):
    seg, stored = filled
    data = seg.read(0, 1 << 20, min_one=False)
    assert data == b"".join(stored)
    assert offsets_in(data) == [(0, 4), (5, 9), (10, 14)]


@pytest.mark.parametrize(("offset", "first_batch"), [(5, 1), (7, 1), (9, 1), (10, 2), (14, 2), (3, 0)])
def test_read_inside_a_batch_returns_the_whole_batch(filled, offset, first_batch):
    seg, stored = filled
    data = seg.read(offset, 1 << 20, min_one=False)
    assert data == b"".join(stored[first_batch:])


@pytest.mark.parametrize("offset", [15, 16, 1000])
def test_read_past_end_is_empty(filled, offset):
    seg, _ = filled
    assert seg.read(offset, 1 << 20, min_one=True) is None


def test_max_bytes_trims_to_whole_batches(filled):
    seg, stored = filled
    two = len(stored[0]) + len(stored[1])
    assert seg.read(0, two, min_one=False) == stored[0] + stored[1]
    assert seg.read(0, two + len(stored[2]) - 1, min_one=False) == stored[0] + stored[1]
    assert seg.read(0, two - 1, min_one=False) == stored[0]
    assert seg.read(5, len(stored[1]) + 10, min_one=False) == stored[1]


def test_max_bytes_below_first_batch_without_min_one_is_empty(filled):
    seg, stored = filled
    assert seg.read(0, len(stored[0]) - 1, min_one=False) == b""
    assert seg.read(0, 0, min_one=False) == b""


@pytest.mark.parametrize("max_bytes", [0, 5, 30, HEADER_SIZE + 1])
def test_min_one_returns_an_oversized_first_batch(filled, max_bytes):
    seg, stored = filled
    assert seg.read(0, max_bytes, min_one=True) == stored[0]
    assert seg.read(12, max_bytes, min_one=True) == stored[2]


def test_sequential_reads_follow_on(filled):
    seg, stored = filled
    assert seg.read(0, len(stored[0]), min_one=False) == stored[0]
    assert seg.read(5, len(stored[1]), min_one=False) == stored[1]
    assert seg.read(10, 1 << 20, min_one=False) == stored[2]
    assert seg.read(15, 1 << 20, min_one=False) is None
    # a reader going back gets the right batch too
    assert seg.read(6, len(stored[1]), min_one=True) == stored[1]


def test_reads_see_later_appends(filled):
    seg, stored = filled
    assert seg.read(10, 1 << 20, min_one=False) == stored[2]
    (more,) = append(seg, simple_batch(2, start_ts=BASE_TS + 15))
    assert seg.read(15, 1 << 20, min_one=False) == more
    assert seg.read(10, 1 << 20, min_one=False) == stored[2] + more


def test_position_of(filled):
    seg, stored = filled
    assert seg.position_of(0) == (0, 0)
    assert seg.position_of(8) == (len(stored[0]), 5)
    assert seg.position_of(15) is None


def test_index_entry_every_interval(tmp_path):
    seg = open_segment(tmp_path, interval=1)
    try:
        stored = append(seg, *(simple_batch(2) for _ in range(4)))
        assert list(seg.offset_index.offsets) == [0, 2, 4, 6]
        positions = [sum(map(len, stored[:i])) for i in range(4)]
        assert list(seg.offset_index.positions) == positions
        assert list(seg.time_index.offsets) == [0]  # all batches share the same max timestamp
    finally:
        seg.close()


def test_sparse_index_with_large_interval(tmp_path):
    seg = open_segment(tmp_path, interval=1 << 20)
    try:
        append(seg, *(simple_batch(2, start_ts=BASE_TS + 10 * i) for i in range(4)))
        assert list(seg.offset_index.offsets) == [0]
        assert seg.read(6, 1 << 20, min_one=False)[:8] == (6).to_bytes(8, "big")
    finally:
        seg.close()


def test_time_index_and_batches_from_timestamp(tmp_path):
    seg = open_segment(tmp_path, interval=1)
    try:
        append(seg, *(simple_batch(2, start_ts=BASE_TS + 100 * i) for i in range(4)))
        assert list(seg.time_index.timestamps) == [BASE_TS + 1, BASE_TS + 101, BASE_TS + 201, BASE_TS + 301]
        found = [h.base_offset for h in seg.batches_from_timestamp(BASE_TS + 150)]
        assert found[0] <= 2
        assert found[-1] == 6
        assert [h.base_offset for h in seg.batches_from_offset(5)] == [4, 6]
    finally:
        seg.close()


def test_reopen_and_load_gives_same_state(tmp_path):
    seg = open_segment(tmp_path, interval=100)
    stored = append(seg, *(simple_batch(3, start_ts=BASE_TS + 10 * i) for i in range(6)))
    expected = (seg.next_offset, seg.max_timestamp, seg.max_timestamp_offset, seg.size)
    index = list(seg.offset_index.offsets)
    seg.flush_all()
    seg.close()
    again = open_segment(tmp_path, interval=100)
    try:
        again.load()
        assert (again.next_offset, again.max_timestamp, again.max_timestamp_offset, again.size) == expected
        assert expected[0] == 18
        assert list(again.offset_index.offsets) == index
        assert again.read(0, 1 << 20, min_one=False) == b"".join(stored)
        assert again.read(16, 1 << 20, min_one=False) == stored[5]
    finally:
        again.close()


def test_recover_on_intact_segment_truncates_nothing(tmp_path):
    seg = open_segment(tmp_path)
    stored = append(seg, *three_batches())
    seg.close()
    again = open_segment(tmp_path)
    try:
        assert again.recover() == 0
        assert again.next_offset == 12
        assert again.max_timestamp == BASE_TS + 23
        assert again.read(0, 1 << 20, min_one=False) == b"".join(stored)
    finally:
        again.close()


def reopened(tmp_path, build, damage):
    """Write batches with a first segment, damage the file, return a new segment over it."""
    seg = open_segment(tmp_path)
    stored = append(seg, *build)
    seg.close()
    damage(seg.log_path, stored)
    return open_segment(tmp_path), stored


def three_batches():
    return [simple_batch(4, start_ts=BASE_TS + 10 * i, tag=f"t{i}") for i in range(3)]


def test_recover_truncates_garbage_tail(tmp_path):
    def damage(path, _stored):
        with open(path, "ab") as fh:
            fh.write(b"\x07garbage-after-the-last-batch")

    seg, stored = reopened(tmp_path, three_batches(), damage)
    try:
        assert seg.recover() == len(b"\x07garbage-after-the-last-batch")
        assert seg.size == sum(map(len, stored))
        assert seg.log_path.stat().st_size == seg.size
        assert seg.next_offset == 12
        assert seg.read(0, 1 << 20, min_one=False) == b"".join(stored)
    finally:
        seg.close()


@pytest.mark.parametrize("cut", [1, 10, 60, 70])
def test_recover_truncates_a_batch_cut_mid_way(tmp_path, cut):
    def damage(path, stored):
        os.truncate(path, sum(map(len, stored)) - cut)

    seg, stored = reopened(tmp_path, three_batches(), damage)
    try:
        assert seg.recover() == len(stored[2]) - cut
        assert seg.size == len(stored[0]) + len(stored[1])
        assert seg.next_offset == 8
        assert seg.max_timestamp == BASE_TS + 13
        assert seg.read(0, 1 << 20, min_one=True) == stored[0] + stored[1]
        assert seg.read(8, 1 << 20, min_one=True) is None
    finally:
        seg.close()


def test_recover_truncates_last_batch_with_bad_crc(tmp_path):
    def damage(path, stored):
        with open(path, "r+b") as fh:
            fh.seek(sum(map(len, stored)) - 3)
            fh.write(b"\xee")

    seg, stored = reopened(tmp_path, three_batches(), damage)
    try:
        assert seg.recover() == len(stored[2])
        assert seg.next_offset == 8
        assert seg.log_path.stat().st_size == len(stored[0]) + len(stored[1])
    finally:
        seg.close()


def test_recover_stops_at_first_corrupt_batch(tmp_path):
    def damage(path, stored):
        with open(path, "r+b") as fh:
            fh.seek(len(stored[0]) + HEADER_SIZE + 6)
            fh.write(b"\xaa\xbb")

    seg, stored = reopened(tmp_path, three_batches(), damage)
    try:
        assert seg.recover() == len(stored[1]) + len(stored[2])
        assert seg.next_offset == 4
    finally:
        seg.close()


def test_recover_rejects_offsets_going_backwards(tmp_path):
    seg = open_segment(tmp_path)
    stored = append(seg, simple_batch(3))
    again = bytearray(simple_batch(2))  # written with offsets 0-1 again
    headers, _ = assign_offsets(again, 0)
    seg.append(again, headers)
    seg.close()
    seg = open_segment(tmp_path)
    try:
        assert seg.recover() == len(again)
        assert seg.next_offset == 3
        assert seg.read(0, 1 << 20, min_one=False) == stored[0]
    finally:
        seg.close()


def test_recover_rebuilds_indexes(tmp_path):
    seg = open_segment(tmp_path, interval=1)
    append(seg, *three_batches())
    index = (list(seg.offset_index.offsets), list(seg.offset_index.positions), list(seg.time_index.timestamps))
    seg.close()
    seg.offset_index.path.write_bytes(b"")
    seg.time_index.path.write_bytes(b"")
    again = open_segment(tmp_path, interval=1)
    try:
        again.recover()
        got = (list(again.offset_index.offsets), list(again.offset_index.positions), list(again.time_index.timestamps))
        assert got == index
    finally:
        again.close()


@pytest.mark.parametrize("garbage", [b"\xff" * 16, b"\x00\x00\x00\x05\x00\x10\x00\x00" * 3, bytes(range(200, 237))])
def test_damaged_index_is_rebuilt_on_load(tmp_path, garbage):
    seg = open_segment(tmp_path, interval=1)
    stored = append(seg, *three_batches())
    good = list(zip(seg.offset_index.offsets, seg.offset_index.positions))
    seg.close()
    seg.offset_index.path.write_bytes(garbage)
    again = open_segment(tmp_path, interval=1)
    try:
        again.load()
        assert again.next_offset == 12
        assert again.max_timestamp == BASE_TS + 23
        assert list(zip(again.offset_index.offsets, again.offset_index.positions)) == good
        assert again.offset_index.path.read_bytes() == b"".join(struct.pack(">ii", *e) for e in good)
        assert again.read(5, 1 << 20, min_one=False) == stored[1] + stored[2]
    finally:
        again.close()


def test_damaged_time_index_is_rebuilt_on_load(tmp_path):
    seg = open_segment(tmp_path, interval=1)
    append(seg, *three_batches())
    seg.close()
    seg.time_index.path.write_bytes(struct.pack(">qi", 5000, 4) + struct.pack(">qi", 10, 8))
    again = open_segment(tmp_path, interval=1)
    try:
        again.load()  # lazy: the check and the rebuild happen on first use
        assert again.max_timestamp == BASE_TS + 23
        assert list(again.time_index.timestamps) == [BASE_TS + 3, BASE_TS + 13, BASE_TS + 23]
        assert again.max_timestamp_offset == 8
    finally:
        again.close()


def test_load_recovers_a_torn_tail(tmp_path):
    def damage(path, stored):
        os.truncate(path, sum(map(len, stored)) - 5)

    seg, stored = reopened(tmp_path, three_batches(), damage)
    try:
        seg.load()
        assert seg.next_offset == 8
        assert seg.size == len(stored[0]) + len(stored[1])
        assert seg.log_path.stat().st_size == seg.size
    finally:
        seg.close()


def test_batches_larger_than_the_scan_chunk(tmp_path):
    big = [simple_batch(1, tag="x" * 300_000), simple_batch(1, tag="y" * 700_000), simple_batch(3)]
    big += [simple_batch(1, tag="z" * 400_000), simple_batch(2)]
    seg = open_segment(tmp_path, interval=1 << 30)
    stored = append(seg, *big)
    seg.close()
    again = open_segment(tmp_path, interval=1 << 30)
    try:
        assert again.recover() == 0
        assert again.next_offset == 8
        assert again.read(5, 1 << 30, min_one=False) == stored[3] + stored[4]
        assert again.read(7, 10, min_one=True) == stored[4]
    finally:
        again.close()


def test_nonzero_base_offset(tmp_path):
    seg = open_segment(tmp_path, base=1000, interval=1)
    try:
        stored = append(seg, simple_batch(3), simple_batch(3))
        assert seg.next_offset == 1006
        assert list(seg.offset_index.offsets) == [0, 3]
        assert seg.read(1004, 1 << 20, min_one=False) == stored[1]
        assert seg.read(999, 1 << 20, min_one=False) == b"".join(stored)
    finally:
        seg.close()


def test_delete_removes_files(tmp_path):
    seg = open_segment(tmp_path)
    append(seg, simple_batch(1))
    seg.delete()
    assert list(tmp_path.iterdir()) == []


def test_missing_time_index_is_rebuilt_on_load(tmp_path):
    seg = open_segment(tmp_path, interval=1)
    append(
        seg,
        simple_batch(2, start_ts=BASE_TS + 500),
        simple_batch(2, start_ts=BASE_TS + 100),
        simple_batch(2, start_ts=BASE_TS + 200),
    )
    seg.close()
    seg.time_index.path.unlink()
    again = open_segment(tmp_path, interval=1)
    try:
        again.load()
        assert again.max_timestamp == BASE_TS + 501
        assert again.max_timestamp_offset == 0
        assert list(again.time_index.timestamps) == [BASE_TS + 501]
    finally:
        again.close()
