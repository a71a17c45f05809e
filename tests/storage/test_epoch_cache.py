"""The leader epoch cache: Kafka's LeaderEpochFileCache rules and its checkpoint file."""

import errno

import pytest

from kafkalite.storage.epoch_cache import (
    LEADER_EPOCH_CHECKPOINT,
    EpochEntry,
    LeaderEpochCache,
    decode_entries,
    encode_entries,
)
from kafkalite.storage.fs import FaultyFS


def cache_with(tmp_path, *entries: tuple[int, int]) -> LeaderEpochCache:
    cache = LeaderEpochCache(tmp_path)
    for epoch, offset in entries:
        cache.assign(epoch, offset)
    return cache


def test_checkpoint_file_is_kafkas_format(tmp_path):
    cache_with(tmp_path, (0, 0), (2, 10), (5, 42))
    assert (tmp_path / LEADER_EPOCH_CHECKPOINT).read_text() == "0\n3\n0 0\n2 10\n5 42\n"
    again = LeaderEpochCache.read(tmp_path)
    assert again is not None and again.entries == [EpochEntry(0, 0), EpochEntry(2, 10), EpochEntry(5, 42)]


def test_unreadable_or_missing_checkpoints_read_as_none(tmp_path):
    assert LeaderEpochCache.read(tmp_path) is None
    for text in ("1\n1\n0 0\n", "0\n2\n0 0\n", "0\nx\n", "0\n1\n0\n"):
        (tmp_path / LEADER_EPOCH_CHECKPOINT).write_text(text)
        assert LeaderEpochCache.read(tmp_path) is None, text
    assert decode_entries(encode_entries([]).decode()) == []


def test_assign_keeps_the_first_start_offset_of_the_latest_epoch(tmp_path):
    cache = cache_with(tmp_path, (1, 5))
    assert not cache.assign(1, 9)  # same epoch, later offset: nothing to change
    assert cache.assign(1, 3)  # same epoch, earlier offset: replaced
    assert cache.entries == [EpochEntry(1, 3)]


def test_assign_removes_non_monotonic_entries(tmp_path):
    cache = cache_with(tmp_path, (1, 0), (3, 10), (4, 20))
    assert cache.assign(2, 15)  # epochs 3 and 4 are >= 2
    assert cache.entries == [EpochEntry(1, 0), EpochEntry(2, 15)]
    assert cache.assign(5, 12)  # the entry at 15 starts later
    assert cache.entries == [EpochEntry(1, 0), EpochEntry(5, 12)]
    with pytest.raises(ValueError):
        cache.assign(-1, 0)


def test_end_offset_for_follows_kafka(tmp_path):
    cache = cache_with(tmp_path, (2, 10), (4, 20), (7, 35))
    leo = 50
    assert cache.end_offset_for(-1, leo) == (-1, -1)  # UNDEFINED
    assert cache.end_offset_for(7, leo) == (7, leo)  # the latest: the log end
    assert cache.end_offset_for(4, leo) == (4, 35)
    assert cache.end_offset_for(5, leo) == (4, 35)  # largest epoch <= 5, ended by the next start
    assert cache.end_offset_for(2, leo) == (2, 20)
    assert cache.end_offset_for(1, leo) == (1, 10)  # below every epoch: the first start offset
    assert cache.end_offset_for(8, leo) == (-1, -1)  # above every epoch
    assert LeaderEpochCache(tmp_path / "none").end_offset_for(0, leo) == (-1, -1)


def test_truncation_from_both_ends(tmp_path):
    cache = cache_with(tmp_path, (0, 0), (1, 10), (2, 20), (3, 30))
    assert not cache.truncate_from_end(31)
    assert cache.truncate_from_end(20)
    assert cache.entries == [EpochEntry(0, 0), EpochEntry(1, 10)]
    assert cache.truncate_from_start(15)
    assert cache.entries == [EpochEntry(1, 15)]
    assert LeaderEpochCache.read(tmp_path).entries == [EpochEntry(1, 15)]
    assert not cache.truncate_from_start(3)
    cache.truncate_from_start(15)  # exclusive: an entry at 15 stays
    assert cache.entries == [EpochEntry(1, 15)]
    assert cache.epoch_for_offset(14) is None and cache.epoch_for_offset(99) == 1
    assert cache.previous_epoch(1) is None


def test_a_failed_write_removes_the_file_and_is_retried(tmp_path):
    fs = FaultyFS()
    cache = LeaderEpochCache(tmp_path, fs)
    cache.assign(0, 0)
    fs.fill()
    assert cache.assign(1, 5)  # in memory; the file is gone, so a restart rebuilds from the batches
    assert cache.dirty
    assert not (tmp_path / LEADER_EPOCH_CHECKPOINT).exists()
    assert not list(tmp_path.glob("*.tmp"))
    assert not cache.flush()
    fs.free()
    assert cache.flush() and not cache.dirty
    assert LeaderEpochCache.read(tmp_path).entries == [EpochEntry(0, 0), EpochEntry(1, 5)]


def test_a_failed_fsync_counts_as_a_failed_write(tmp_path):
    fs = FaultyFS()
    cache = LeaderEpochCache(tmp_path, fs)
    fs.fail_next_syncs(1, errno.EIO)
    cache.assign(3, 7)
    assert cache.dirty and not (tmp_path / LEADER_EPOCH_CHECKPOINT).exists()
