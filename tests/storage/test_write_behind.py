"""Write-behind: appends wait for the end of the loop turn, but never past a read or a response."""

import asyncio

import pytest

from kafkalite.storage.fs import FaultyFS
from kafkalite.storage.segment import WRITE_THROUGH_BYTES, LogSegment
from kafkalite.storage.write_behind import WriteBehind
from tests.helpers import BASE_TS, simple_batch
from tests.storage.test_segment import INTERVAL, append, offsets_in


def on_disk(seg: LogSegment) -> int:
    return seg.log_path.stat().st_size


@pytest.fixture
def wb_seg(tmp_path):
    wb = WriteBehind()
    seg = LogSegment(tmp_path, 0, INTERVAL, created_ms=0, write_behind=wb)
    yield wb, seg
    seg.close()


def test_without_an_event_loop_appends_are_written_at_once(wb_seg):
    _, seg = wb_seg
    append(seg, simple_batch(3, start_ts=BASE_TS))
    assert on_disk(seg) == seg.size > 0


def test_appends_in_one_loop_turn_are_written_together_at_its_end(wb_seg):
    _, seg = wb_seg

    async def scenario() -> tuple[int, int, int]:
        stored = append(seg, simple_batch(2, start_ts=BASE_TS), simple_batch(3, start_ts=BASE_TS))
        during = on_disk(seg)
        await asyncio.sleep(0)  # let the loop turn end
        return during, on_disk(seg), sum(len(b) for b in stored)

    during, after, total = asyncio.run(scenario())
    assert during == 0
    assert after == total == seg.size


def test_write_all_writes_everything_pending_at_once(wb_seg):
    wb, seg = wb_seg

    async def scenario() -> int:
        append(seg, simple_batch(2, start_ts=BASE_TS))
        wb.write_all()  # what a connection does before it sends a response
        return on_disk(seg)

    assert asyncio.run(scenario()) == seg.size > 0


def test_reads_see_pending_appends(wb_seg):
    _, seg = wb_seg

    async def scenario() -> bytes | memoryview | None:
        append(seg, simple_batch(2, start_ts=BASE_TS), simple_batch(3, start_ts=BASE_TS))
        return seg.read(0, 1 << 20, min_one=True)

    data = asyncio.run(scenario())
    assert data is not None
    assert offsets_in(bytes(data)) == [(0, 1), (2, 4)]


def test_close_writes_pending_appends(tmp_path):
    wb = WriteBehind()
    seg = LogSegment(tmp_path, 0, INTERVAL, created_ms=0, write_behind=wb)

    async def scenario() -> None:
        append(seg, simple_batch(4, start_ts=BASE_TS))
        seg.close()

    asyncio.run(scenario())
    reopened = LogSegment(tmp_path, 0, INTERVAL, created_ms=0)
    try:
        reopened.load()
        assert reopened.next_offset == 4
    finally:
        reopened.close()


def test_a_failed_write_drops_the_pending_appends_and_rolls_the_segment_back(tmp_path):
    fs = FaultyFS()
    wb = WriteBehind()
    seg = LogSegment(tmp_path, 0, INTERVAL, created_ms=0, write_behind=wb, fs=fs)

    async def scenario() -> tuple[int, int, bool, bool]:
        append(seg, simple_batch(2, start_ts=BASE_TS))
        await asyncio.sleep(0)  # written: offsets 0-1
        good = seg.size
        drops = len(seg.drops)
        append(seg, simple_batch(3, start_ts=BASE_TS + 10))
        end = seg.size
        fs.fail_next_writes(1, partial=7)  # a disk that fills mid-write
        wb.write_all()  # what the end of the turn (or a connection about to answer) does; never raises
        return good, end, seg.lost_since(drops, end), wb.failing

    good, _end, lost, failing = asyncio.run(scenario())
    try:
        assert lost and failing
        assert on_disk(seg) == seg.size == good  # the torn tail was cut back
        assert seg.next_offset == 2 and seg.max_timestamp == BASE_TS + 1
        assert offsets_in(bytes(seg.read(0, 1 << 20, min_one=True) or b"")) == [(0, 1)]

        async def retry() -> None:
            append(seg, simple_batch(3, start_ts=BASE_TS + 10))  # the client's retry, the disk has room
            wb.write_all()

        asyncio.run(retry())
        assert not wb.failing
        assert offsets_in(bytes(seg.read(0, 1 << 20, min_one=True) or b"")) == [(0, 1), (2, 4)]
        assert on_disk(seg) == seg.size
    finally:
        seg.close()
    reopened = LogSegment(tmp_path, 0, INTERVAL, created_ms=0)
    try:
        reopened.load()
        assert reopened.next_offset == 5 and reopened.size == on_disk(reopened)
    finally:
        reopened.close()


def test_bytes_written_before_a_later_failure_are_not_reported_lost(tmp_path):
    fs = FaultyFS()
    wb = WriteBehind()
    seg = LogSegment(tmp_path, 0, INTERVAL, created_ms=0, write_behind=wb, fs=fs)

    async def scenario() -> tuple[bool, bool]:
        append(seg, simple_batch(2, start_ts=BASE_TS))
        mine = (len(seg.drops), seg.size)
        wb.write_all()
        append(seg, simple_batch(2, start_ts=BASE_TS + 5))  # someone else's, in the next turn
        fs.fail_next_writes(1)
        theirs = (len(seg.drops), seg.size)
        wb.write_all()
        return seg.lost_since(*mine), seg.lost_since(*theirs)

    try:
        assert asyncio.run(scenario()) == (False, True)
    finally:
        seg.close()


def test_a_failed_large_append_raises_and_changes_nothing(tmp_path):
    fs = FaultyFS()
    wb = WriteBehind()
    seg = LogSegment(tmp_path, 0, INTERVAL, created_ms=0, write_behind=wb, fs=fs)
    try:
        append(seg, simple_batch(2, start_ts=BASE_TS))
        before = (seg.size, seg.next_offset, len(seg.offset_index.offsets))
        fs.fail_next_writes(1, partial=1000)
        with pytest.raises(OSError):
            append(seg, simple_batch(3, start_ts=BASE_TS, tag="x" * WRITE_THROUGH_BYTES))
        assert (seg.size, seg.next_offset, len(seg.offset_index.offsets)) == before
        assert on_disk(seg) == seg.size
    finally:
        seg.close()


def test_a_large_append_is_written_at_once_after_what_is_pending(wb_seg):
    _, seg = wb_seg

    async def scenario() -> tuple[int, int]:
        append(seg, simple_batch(2, start_ts=BASE_TS))
        small = on_disk(seg)
        append(seg, simple_batch(3, start_ts=BASE_TS, tag="x" * WRITE_THROUGH_BYTES))
        return small, on_disk(seg)

    small, after = asyncio.run(scenario())
    assert small == 0
    assert after == seg.size
    assert offsets_in(seg.read_batch_at(0)) == [(0, 1)]
