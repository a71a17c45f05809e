"""What a simulated follower needs of a partition log: replica appends, truncation, epochs, a set HW."""

import asyncio
import errno
import os
import subprocess
import sys
import textwrap

import pytest

from kafkalite.records.batch import InvalidBatch, iter_headers, read_leader_epoch
from kafkalite.storage.epoch_cache import LEADER_EPOCH_CHECKPOINT, EpochEntry
from kafkalite.storage.fs import FaultyFS
from kafkalite.storage.log import LogConfig, PartitionLog, UnexpectedAppendOffset
from kafkalite.storage.producer_state import SequenceError
from kafkalite.storage.write_behind import WriteBehind
from tests.helpers import simple_batch
from tests.storage.test_log import produce, read_all


def idem(n: int, seq: int, pid: int = 7, epoch: int = 0, **kw) -> bytearray:
    return simple_batch(n, producer_id=pid, producer_epoch=epoch, base_sequence=seq, **kw)


@pytest.fixture
def logs(tmp_path, clock):
    opened: list[PartitionLog] = []

    def _open(name: str, config: LogConfig | None = None, clean: bool = True, fs=None, wb=None) -> PartitionLog:
        kwargs = {"fs": fs} if fs is not None else {}
        plog = PartitionLog(tmp_path / name, config or LogConfig(), clock.now_ms, wb, leader_epochs=True, **kwargs)
        plog.open(clean_shutdown=clean)
        opened.append(plog)
        return plog

    yield _open
    for plog in opened:
        if plog.segments:
            plog.close()


def copy(leader: PartitionLog, follower: PartitionLog) -> int:
    """One follower fetch: everything the leader has past the follower's end."""
    while follower.log_end_offset < leader.log_end_offset:
        follower.append_replica(bytes(leader.read(follower.log_end_offset, 1 << 20)))
    return follower.log_end_offset


def stored(plog: PartitionLog) -> bytes:
    return bytes(plog.read(plog.log_start_offset, 1 << 30)) if plog.log_end_offset else b""


def test_a_replica_keeps_the_leaders_bytes_offsets_and_epochs(logs):
    leader, follower = logs("leader-0"), logs("follower-0")
    leader.become_leader(3)
    produce(leader, simple_batch(2), simple_batch(3))
    leader.become_leader(5)
    produce(leader, simple_batch(1))
    assert copy(leader, follower) == 6
    assert stored(follower) == stored(leader)
    data = stored(leader)
    assert [read_leader_epoch(data, h.position) for h in iter_headers(data)] == [3, 3, 5]
    assert leader.epoch_cache.entries == follower.epoch_cache.entries == [EpochEntry(3, 0), EpochEntry(5, 5)]
    assert (follower.directory / LEADER_EPOCH_CHECKPOINT).read_text() == "0\n2\n3 0\n5 5\n"
    assert [r.value for r in read_all(follower)] == [r.value for r in read_all(leader)]


def test_the_default_epoch_keeps_todays_bytes_and_no_checkpoint(tmp_path, clock):
    plog = PartitionLog(tmp_path / "t-0", LogConfig(), clock.now_ms)
    plog.open(clean_shutdown=True)
    batch = simple_batch(2)
    produce(plog, batch)
    data = bytes(plog.read(0, 1 << 20))
    assert read_leader_epoch(data, 0) == 0 and plog.epoch_cache is None
    assert not (plog.directory / LEADER_EPOCH_CHECKPOINT).exists()
    plog.close()


def test_replica_appends_must_continue_the_log(logs):
    leader, follower = logs("leader-0"), logs("follower-0")
    produce(leader, simple_batch(2))
    produce(leader, simple_batch(2))
    first = bytes(leader.read(0, 1 << 20))
    follower.append_replica(first)
    with pytest.raises(UnexpectedAppendOffset):
        follower.append_replica(first)  # again: offsets below its end
    assert follower.log_end_offset == 4
    bad = bytearray(first)
    bad[-1] ^= 0xFF
    with pytest.raises(InvalidBatch):
        logs("other-0").append_replica(bad)
    assert follower.append_replica(b"") == 4


def test_a_gap_from_a_compacted_leader_is_kept(logs):
    leader, follower = logs("leader-0"), logs("follower-0")
    produce(leader, simple_batch(2))
    produce(leader, simple_batch(3))
    tail = bytearray(leader.read(2, 1 << 20))  # offsets 2..4: as if 0..1 were compacted away
    assert follower.append_replica(tail) == 5
    assert follower.log_start_offset == 0 and [r.offset for r in read_all(follower, 2)] == [2, 3, 4]


def test_a_follower_learns_producers_and_open_transactions(logs):
    leader, follower = logs("leader-0"), logs("follower-0")
    produce(leader, idem(2, 0))
    produce(leader, idem(1, 0, pid=9, transactional=True))
    copy(leader, follower)
    assert follower.last_stable_offset == 2  # pid 9's transaction is open from offset 2
    follower.become_leader(1)
    # a retry of pid 7's batch is a duplicate; a gap is refused; the next sequence is accepted
    assert produce(follower, idem(2, 0)).base_offset == 0
    with pytest.raises(SequenceError):
        produce(follower, idem(1, 5))
    assert produce(follower, idem(1, 2)).base_offset == 3
    assert follower.append_marker(9, 0, commit=False) == 4
    assert follower.last_stable_offset == follower.log_end_offset == 5
    assert follower.aborted_transactions(0, 5)[0].first_offset == 2


def test_the_high_watermark_once_set_bounds_what_consumers_see(logs):
    plog = logs("t-0")
    produce(plog, simple_batch(3))
    assert plog.high_watermark == 3 and not plog.high_watermark_is_set
    assert plog.set_high_watermark(1) == 1
    produce(plog, simple_batch(2))
    assert plog.high_watermark == 1 and plog.log_end_offset == 5
    assert plog.set_high_watermark(99) == 5
    assert plog.set_high_watermark(-4) == 0
    produce(plog, idem(1, 0, transactional=True))  # open transaction at offset 5
    plog.set_high_watermark(4)
    assert plog.last_stable_offset == 4  # the HW bounds the LSO
    plog.set_high_watermark(6)
    assert plog.last_stable_offset == 5
    plog.clear_high_watermark()
    assert plog.high_watermark == 6


def test_truncate_to_drops_the_tail_and_rebuilds_state(logs):
    config = LogConfig(segment_bytes=300, index_interval_bytes=1)
    plog = logs("t-0", config)
    plog.become_leader(1)
    for i in range(6):
        produce(plog, idem(2, 2 * i))
    plog.become_leader(2)
    for i in range(6, 10):
        produce(plog, idem(2, 2 * i))
    assert len(plog.segments) > 3
    plog.set_high_watermark(20)
    assert plog.truncate_to(9) == 8  # the batch holding 9 (8..9) goes whole
    assert plog.log_end_offset == 8 and plog.high_watermark == 8
    assert plog.epoch_cache.entries == [EpochEntry(1, 0)]
    assert [r.offset for r in read_all(plog)] == list(range(8))
    # the producer's sequence is back where the log ends: 8 is next, the old 12 a gap
    with pytest.raises(SequenceError):
        produce(plog, idem(2, 12))
    assert produce(plog, idem(2, 8)).base_offset == 8
    assert not [p for p in plog.directory.iterdir() if p.name.endswith(".snapshot") and int(p.stem) > 10]
    assert plog.truncate_to(50) == 10  # past the end: nothing
    before = len(list(plog.directory.glob("*.log")))
    plog.close()
    again = logs("t-0", config)
    assert again.log_end_offset == 10 and len(list(again.directory.glob("*.log"))) == before
    assert again.epoch_cache.entries == [EpochEntry(1, 0), EpochEntry(2, 8)]  # still stamping epoch 2
    assert [r.offset for r in read_all(again)] == list(range(10))


def test_truncate_removes_the_aborted_transactions_it_cuts(logs):
    plog = logs("t-0")
    produce(plog, idem(1, 0, transactional=True))
    plog.append_marker(7, 0, commit=False)
    produce(plog, idem(1, 1, transactional=True))
    assert len(plog.aborted_transactions(0, 10)) == 1
    plog.truncate_to(1)  # the abort marker goes: the transaction is open again
    assert plog.aborted_transactions(0, 10) == [] and plog.last_stable_offset == 0
    assert plog.producer_state.in_transaction(7)


def test_truncate_below_the_log_start_empties_the_log(logs):
    plog = logs("t-0", LogConfig(segment_bytes=200))
    for _ in range(5):
        produce(plog, simple_batch(2))
    plog.delete_records_before(6)
    assert plog.truncate_to(3) == 3
    assert (plog.log_start_offset, plog.log_end_offset) == (3, 3)
    assert produce(plog, simple_batch(1)).base_offset == 3
    plog.truncate_fully_and_start_at(40)
    assert (plog.log_start_offset, plog.log_end_offset, len(plog.segments)) == (40, 40, 1)
    assert plog.epoch_cache.entries == []
    plog.close()
    again = logs("t-0")
    assert (again.log_start_offset, again.log_end_offset) == (40, 40)


def test_the_epoch_cache_is_rebuilt_from_batches_when_its_file_is_missing(logs):
    plog = logs("t-0", LogConfig(segment_bytes=200))
    for epoch in (0, 0, 4, 4, 6):
        plog.become_leader(epoch)
        produce(plog, simple_batch(2))
    entries = plog.epoch_cache.entries
    plog.close()
    (plog.directory / LEADER_EPOCH_CHECKPOINT).unlink()
    again = logs("t-0", LogConfig(segment_bytes=200), clean=False)
    assert again.epoch_cache.entries == entries == [EpochEntry(0, 0), EpochEntry(4, 4), EpochEntry(6, 8)]
    assert again.leader_epoch == 6
    assert (again.directory / LEADER_EPOCH_CHECKPOINT).exists()


def test_disk_full_mid_replica_append_writes_nothing(logs, tmp_path):
    leader = logs("leader-0")
    for i in range(3):
        produce(leader, idem(2, 2 * i))
    fs = FaultyFS()
    follower = logs("follower-0", fs=fs)
    follower.append_replica(bytes(leader.read(0, 1)))  # the first batch only
    fs.fill(partial=10)  # a disk that fills ten bytes into the write
    with pytest.raises(OSError):
        follower.append_replica(bytes(leader.read(follower.log_end_offset, 1 << 20)))
    assert follower.log_end_offset == 2 and follower.producer_state.producers[7].last_seq == 1
    assert os.path.getsize(follower.active.log_path) == follower.active.size  # cut back: no torn batch
    fs.free()
    assert copy(leader, follower) == leader.log_end_offset == 6
    assert stored(follower) == stored(leader)


def test_disk_full_mid_deferred_replica_append_rolls_producers_back(logs):
    leader = logs("leader-0")
    produce(leader, idem(2, 0))
    produce(leader, idem(2, 2))
    fs = FaultyFS()
    wb = WriteBehind()
    follower = logs("follower-0", fs=fs, wb=wb)

    async def scenario() -> None:
        follower.append_replica(bytes(leader.read(0, 1 << 20)))  # deferred: written at the end of the turn
        fs.fill()
        wb.write_all()  # refused: the appends are undone, producer 7 forgotten
        assert follower.log_end_offset == 0 and 7 not in follower.producer_state.producers
        fs.free()

    asyncio.run(scenario())
    assert copy(leader, follower) == 4 and follower.producer_state.producers[7].last_seq == 3


def test_disk_full_mid_truncate_still_truncates(logs):
    fs = FaultyFS()
    plog = logs("t-0", LogConfig(segment_bytes=300, index_interval_bytes=1), fs=fs)
    for i in range(8):
        produce(plog, idem(2, 2 * i))
    plog.become_leader(3)
    produce(plog, idem(2, 16))
    fs.fill()
    assert plog.truncate_to(5) == 4
    assert plog.epoch_cache.entries == [EpochEntry(0, 0)]
    assert [r.offset for r in read_all(plog)] == [0, 1, 2, 3]
    fs.free()
    assert produce(plog, idem(2, 4)).base_offset == 4
    plog.close()
    again = logs("t-0", LogConfig(segment_bytes=300, index_interval_bytes=1))
    assert [r.offset for r in read_all(again)] == [0, 1, 2, 3, 4, 5]
    assert again.epoch_cache.entries == [EpochEntry(0, 0), EpochEntry(3, 4)]  # the append at 4 was epoch 3


_KILLER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {root!r})
    from kafkalite.storage import log as logmod
    from kafkalite.storage.log import LogConfig, PartitionLog
    steps = int(sys.argv[1])
    seen = 0
    real = logmod.PartitionLog._retire

    def retire(seg):
        global seen
        seen += 1
        if seen > steps:
            os._exit(9)  # a kill -9 between two steps of the truncation
        return real(seg)

    logmod.PartitionLog._retire = staticmethod(retire)
    plog = PartitionLog(logmod.Path({directory!r}), LogConfig(segment_bytes=200), lambda: 0, leader_epochs=True)
    plog.open(clean_shutdown=False)
    plog.truncate_to(5)
    os._exit(0)
    """
)


@pytest.mark.parametrize("steps", [0, 1, 2, 99])
def test_a_kill_during_truncation_leaves_a_log_that_recovers(logs, tmp_path, steps):
    plog = logs("t-0", LogConfig(segment_bytes=200))
    for i in range(8):
        produce(plog, idem(2, 2 * i))
    assert len(plog.segments) == 4  # 0..3, 4..7, 8..11, 12..15
    plog.close()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = _KILLER.format(root=root, directory=str(plog.directory))
    done = subprocess.run([sys.executable, "-c", script, str(steps)], check=False, timeout=60)
    assert done.returncode in (0, 9)
    again = logs("t-0", LogConfig(segment_bytes=200), clean=False)
    offsets = [r.offset for r in read_all(again)]
    assert offsets == list(range(again.log_end_offset))  # a prefix, no hole
    assert again.log_end_offset == {0: 16, 1: 12}.get(steps, 4)
    again.truncate_to(5)
    assert again.log_end_offset == 4
    assert produce(again, idem(2, 4)).base_offset == 4


def test_retention_keeps_what_is_above_a_set_high_watermark(logs, clock):
    plog = logs("t-0", LogConfig(segment_bytes=200, retention_ms=1000))
    for _ in range(4):
        produce(plog, simple_batch(2, start_ts=clock.now_ms()))
    plog.set_high_watermark(2)
    clock.advance(5000)
    plog.enforce_retention()
    assert plog.log_start_offset <= 2
    plog.set_high_watermark(8)
    plog.enforce_retention()
    assert plog.log_start_offset == 8


def test_markers_replicate_and_end_the_transaction_on_the_follower(logs):
    leader, follower = logs("leader-0"), logs("follower-0")
    produce(leader, idem(1, 0, transactional=True))
    produce(leader, idem(1, 0, pid=8, transactional=True))
    leader.append_marker(7, 0, commit=True, coordinator_epoch=3)
    leader.append_marker(8, 0, commit=False)
    copy(leader, follower)  # the markers arrive among data batches, in one append
    assert not follower.producer_state.in_transaction(7)
    assert follower.producer_state.producers[7].coordinator_epoch == 3
    assert [tuple(t) for t in follower.aborted_transactions(0, 10)] == [(8, 1, 3)]
    assert follower.last_stable_offset == 4


def test_a_failed_fsync_of_the_epoch_checkpoint_does_not_fail_the_append(logs):
    fs = FaultyFS()
    plog = logs("t-0", fs=fs)
    fs.fail_next_syncs(1, errno.EIO)
    plog.become_leader(2)
    assert produce(plog, simple_batch(1)).base_offset == 0
    assert plog.epoch_cache.dirty and not (plog.directory / LEADER_EPOCH_CHECKPOINT).exists()
    plog.close()  # writes it again
    assert (plog.directory / LEADER_EPOCH_CHECKPOINT).read_text() == "0\n1\n2 0\n"
