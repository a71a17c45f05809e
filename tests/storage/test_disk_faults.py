"""Storage on a failing disk (FaultyFS): failed appends roll back whole, nothing else fails.

What a client sees of these is in compat_tests/test_disk_full.py; here each fault is injected
at one exact point of the log engine.
"""

import asyncio
import errno

import pytest

from kafkalite.storage.catalog import Catalog
from kafkalite.storage.fs import FaultyFS, atomic_write
from kafkalite.storage.log import LogConfig, PartitionLog
from kafkalite.storage.metadata_log import MetadataLog
from kafkalite.storage.producer_state import SequenceError
from kafkalite.storage.write_behind import WriteBehind
from tests.helpers import BASE_TS, simple_batch
from tests.storage.test_log import produce, read_all


def idem(n: int, seq: int, pid: int = 7, tag: str = "m") -> bytearray:
    return simple_batch(n, producer_id=pid, producer_epoch=0, base_sequence=seq, tag=tag)


@pytest.fixture
def faulty(tmp_path, clock):
    fs = FaultyFS()
    wb = WriteBehind()
    log = PartitionLog(tmp_path / "t-0", LogConfig(index_interval_bytes=1), clock.now_ms, wb, fs=fs)
    log.open(clean_shutdown=True)
    yield fs, wb, log
    log.close()


def test_a_dropped_write_rolls_back_offsets_indexes_and_producer_state(faulty, tmp_path, clock):
    fs, wb, log = faulty

    async def scenario() -> None:
        produce(log, idem(2, 0))
        wb.write_all()
        entries = len(log.active.offset_index.offsets)
        produce(log, idem(3, 2))  # pending: sequences 2-4 at offsets 2-4
        produce(log, idem(1, 0, pid=8))  # a producer first seen in this turn
        fs.fail_next_writes(1)
        wb.write_all()
        assert log.log_end_offset == 2
        assert len(log.active.offset_index.offsets) == entries
        assert 8 not in log.producer_state.producers
        # The retry is new to the log (not a duplicate of a batch that never landed) ...
        assert produce(log, idem(3, 2)).base_offset == 2
        # ... and a batch after the lost one is still out of order.
        with pytest.raises(SequenceError):
            produce(log, idem(1, 9))
        wb.write_all()

    asyncio.run(scenario())
    assert [r.value for r in read_all(log)] == [b"m-0", b"m-1", b"m-0", b"m-1", b"m-2"]
    log.close()
    reopened = PartitionLog(tmp_path / "t-0", LogConfig(), clock.now_ms)
    reopened.open(clean_shutdown=False)
    try:
        assert reopened.log_end_offset == 5
        assert reopened.active.offset_index.sane(reopened.active.size)
    finally:
        reopened.close()


def test_a_read_that_writes_pending_bytes_on_a_full_disk_sees_the_rolled_back_log(faulty):
    fs, wb, log = faulty

    async def scenario() -> list:
        produce(log, simple_batch(2))
        wb.write_all()
        produce(log, simple_batch(2, tag="lost"))
        fs.fill()
        return read_all(log)  # the fetch writes what is pending first: it fails and is dropped

    assert [r.value for r in asyncio.run(scenario())] == [b"m-0", b"m-1"]
    assert wb.failing


def test_a_roll_on_a_full_disk_goes_on_without_writing_the_old_indexes(tmp_path, clock):
    fs = FaultyFS()
    log = PartitionLog(tmp_path / "t-0", LogConfig(segment_bytes=1), clock.now_ms, None, fs=fs)
    log.open(clean_shutdown=True)
    try:
        produce(log, simple_batch(3))
        fs.fill(prefix=tmp_path / "t-0" / "00000000000000000000.index")
        produce(log, simple_batch(3))  # rolls; the sealed segment's index cannot be written
        assert len(log.segments) == 2
        assert log.segments[0].offset_index.offsets  # kept in memory, written at close
        assert fs.refused_writes == 1
    finally:
        fs.free()
        log.close()


def test_close_on_a_full_disk_closes_everything_and_says_it_was_not_clean(faulty):
    fs, _wb, log = faulty

    async def scenario() -> bool:
        produce(log, simple_batch(2))
        fs.fill()
        fs.fail_next_syncs(1)
        return log.close()

    assert asyncio.run(scenario()) is False
    assert log.segments == []


def test_atomic_write_on_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path):
    fs = FaultyFS()
    path = tmp_path / "topics.json"
    atomic_write(path, b"old", fs)
    fs.fill()
    with pytest.raises(OSError) as raised:
        atomic_write(path, b"new", fs)
    assert raised.value.errno == errno.ENOSPC
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["topics.json"]


def test_a_failed_fsync_raises_eio(tmp_path):
    fs = FaultyFS()
    mlog = MetadataLog(tmp_path / "m.log", fs=fs)
    list(mlog.replay())
    mlog.open()
    mlog.append_batch([{"a": 1}])
    fs.fail_next_syncs(1, prefix=tmp_path / "m.log")
    with pytest.raises(OSError) as raised:
        mlog.flush()
    assert raised.value.errno == errno.EIO
    mlog.close()  # the next fsync works
    assert fs.refused_syncs == 1


def test_a_failed_metadata_log_append_lands_nothing(tmp_path):
    fs = FaultyFS()
    mlog = MetadataLog(tmp_path / "m.log", fs=fs)
    list(mlog.replay())
    mlog.open()
    mlog.append_batch([{"a": 1}])
    fs.fail_next_writes(1, partial=5)
    with pytest.raises(OSError):
        mlog.append_batch([{"b": 2}, {"c": 3}])
    mlog.close()
    assert list(MetadataLog(tmp_path / "m.log").replay()) == [{"a": 1}]


def test_a_durable_append_whose_fsync_fails_lands_nothing(tmp_path):
    fs = FaultyFS()
    mlog = MetadataLog(tmp_path / "m.log", fs=fs)
    list(mlog.replay())
    mlog.open()
    mlog.append_durably([{"a": 1}], sync=True)
    fs.fail_next_syncs(1, prefix=tmp_path / "m.log")
    with pytest.raises(OSError) as raised:
        mlog.append_durably([{"b": 2}], sync=True)
    assert raised.value.errno == errno.EIO
    mlog.append_durably([{"c": 3}], sync=True)  # appended where the failed record was cut back
    mlog.close()
    assert list(MetadataLog(tmp_path / "m.log").replay()) == [{"a": 1}, {"c": 3}]


def test_atomic_write_private_is_0600_even_over_a_stale_temporary(tmp_path):
    path = tmp_path / "broker-configs.json"
    (tmp_path / "broker-configs.json.tmp").write_bytes(b"left by a crash")
    (tmp_path / "broker-configs.json.tmp").chmod(0o644)
    atomic_write(path, b"{}", private=True)
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_bytes() == b"{}"


def test_faults_can_be_limited_to_a_path_prefix(tmp_path):
    fs = FaultyFS()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fs.fill(prefix=tmp_path / "a")
    atomic_write(tmp_path / "b" / "f", b"fine", fs)
    with pytest.raises(OSError):
        atomic_write(tmp_path / "a" / "f", b"full", fs)
    assert fs.full and fs.refused_writes == 1


def test_tombstones_name_deleted_topics_until_cleared(tmp_path):
    import uuid

    catalog = Catalog(tmp_path, FaultyFS())
    gone = uuid.uuid4()
    catalog.fs.fill()  # type: ignore[attr-defined]
    catalog.mark_topic_deleted(gone)  # an empty file: no data blocks
    assert catalog.deleted_topic_ids() == {gone}
    catalog.clear_deleted_topics()
    assert catalog.deleted_topic_ids() == set()


def test_timestamps_roll_back_too(faulty):
    fs, wb, log = faulty

    async def scenario() -> None:
        produce(log, simple_batch(2, start_ts=BASE_TS))
        wb.write_all()
        produce(log, simple_batch(2, start_ts=BASE_TS + 1000))
        fs.fail_next_writes(1)
        wb.write_all()

    asyncio.run(scenario())
    assert log.active.max_timestamp == BASE_TS + 1
    assert log.max_timestamp_offset() == (1, BASE_TS + 1)


def test_a_large_append_after_a_dropped_write_takes_the_rolled_back_offsets(faulty):
    fs, wb, log = faulty

    async def scenario() -> tuple[int, int]:
        produce(log, idem(2, 0))
        wb.write_all()
        produce(log, idem(3, 2))  # waits: offsets 2-4, sequences 2-4
        fs.fail_next_writes(1)  # ... and will not be written
        large = simple_batch(2, producer_id=7, producer_epoch=0, base_sequence=2, tag="x" * (64 << 10))
        result = produce(log, large)  # the client's retry, large enough to be written at once
        return result.base_offset, log.log_end_offset

    assert asyncio.run(scenario()) == (2, 4)
    assert [r.offset for r in read_all(log)] == [0, 1, 2, 3]


def test_off_loop_jobs_go_through_the_file_system_seam(tmp_path, clock):
    """Fsync, snapshot and checkpoint jobs run in a worker, but a FaultyFS still fails them on demand."""
    from kafkalite.storage.jobs import WriteFileJob

    fs = FaultyFS()
    plog = PartitionLog(tmp_path / "t-0", LogConfig(), clock.now_ms, fs=fs)
    plog.open(clean_shutdown=True)
    produce(plog, simple_batch(2))
    job = plog.sync_job()
    fs.fail_next_syncs(1)
    with pytest.raises(OSError) as failed:
        job.run()
    assert failed.value.errno == errno.EIO
    plog.sync_job().run()  # the next one succeeds

    snapshot = plog._snapshot_job()
    fs.fill()
    with pytest.raises(OSError):
        snapshot.run()
    checkpoint = WriteFileJob(tmp_path / "checkpoint", b"0\n0\n", fs=fs)
    with pytest.raises(OSError):
        checkpoint.run()
    assert checkpoint.failed and not (tmp_path / "checkpoint").exists()
    fs.free()
    plog.close()
