"""The compaction swap (Kafka's .cleaned -> .swap -> final protocol) survives a crash at every step.

A "crash" is an exception raised before a step; the log object is then abandoned, and a new
one opens the directory as after kill -9. It must hold either the old segment or the cleaned
one, with indexes that describe the log they sit beside, and no leftovers.
"""

import contextlib

import pytest

from kafkalite.records.batch import read_header
from kafkalite.storage.cleaner import clean, plan_cleaning, swap_in
from kafkalite.storage.loader import remove_leftovers
from kafkalite.storage.log import LogConfig, PartitionLog
from tests.helpers import make_batch
from tests.storage.test_log import produce, read_all

# Every batch indexed, so an old index beside a new log would point at the wrong batches.
CONFIG = dict(segment_bytes=1 << 20, index_interval_bytes=1, retention_ms=-1, delete=False, compact=True)
PRE_COMMIT = ["swap.index", "swap.timeindex", "swap.log"]
POST_COMMIT = [
    "delete.log", "delete.index", "delete.timeindex", "rename.index", "rename.timeindex", "rename.log", "open",
]


class Crash(Exception):
    pass


def put(log, clock, key, value):
    produce(log, make_batch([value.encode()], keys=[key.encode()], timestamps=[clock.now_ms()]))


def compacted_log(directory, clock, jobs):
    """Segment 0 holds a:1 b:1 c:1 (a:1 shadowed by a:2 in segment 1); the active one holds z."""
    log = PartitionLog(directory, LogConfig(**CONFIG), clock.now_ms, submit=jobs.append)
    log.open(clean_shutdown=True)
    for key in "abc":
        put(log, clock, key, "1")
    log.roll()
    put(log, clock, "a", "2")
    log.roll()
    put(log, clock, "z", "z")
    return log


def content(log):
    return [(r.offset, r.key, r.value) for r in read_all(log, log.log_start_offset)]


def assert_indexes_match_logs(log):
    for seg in log.segments:
        for rel, pos in zip(seg.offset_index.offsets, seg.offset_index.positions, strict=True):
            assert read_header(seg.read_batch_at(pos), 0).base_offset == seg.base_offset + rel


SUFFIXES = (".log", ".index", ".timeindex")
STEM = "00000000000000000000"


def files_of_segment_0(directory, extra=""):
    return {s: (directory / f"{STEM}{s}{extra}").read_bytes() for s in SUFFIXES}


def assert_old_or_new_files(directory, old_files, new_files):
    """After the loader's clean-up: the old log with its old indexes, or the new log with new (or no) indexes."""
    remove_leftovers(directory)
    log_bytes = (directory / f"{STEM}.log").read_bytes()
    assert log_bytes in (old_files[".log"], new_files[".log"])
    expected = old_files if log_bytes == old_files[".log"] else new_files
    for suffix in (".index", ".timeindex"):
        path = directory / f"{STEM}{suffix}"
        assert not path.exists() or path.read_bytes() == expected[suffix], suffix
    return log_bytes == new_files[".log"]


def abandon(log):
    for seg in log.segments:
        with contextlib.suppress(OSError):
            seg.close()


@pytest.mark.parametrize("crash_at", [*PRE_COMMIT, *POST_COMMIT, "before-removal"])
def test_crash_at_each_swap_step_leaves_old_or_new_segment(tmp_path, clock, crash_at):
    directory = tmp_path / "c-0"
    jobs = []  # fsync and removal jobs: never run, the crash comes first
    log = compacted_log(directory, clock, jobs)
    old = content(log)
    for job in jobs:
        job.run()  # the rolls' fsyncs and snapshots
    jobs.clear()
    log.segments[0].offset_index.flush()
    log.segments[0].time_index.flush()
    old_files = files_of_segment_0(directory)
    result = clean(plan_cleaning(log, 0, clock.now_ms(), force=True))
    assert [seg.base_offset for seg in result.cleaned] == [0]
    new_files = files_of_segment_0(directory, ".cleaned")
    assert new_files[".index"] != old_files[".index"]

    def step(name):
        if name == crash_at:
            raise Crash(name)

    if crash_at == "before-removal":
        assert log.replace_segment(result.cleaned[0], step)
        assert sorted(p.name for p in directory.glob("*.deleted"))  # renamed, not yet removed
    else:
        with pytest.raises(Crash):
            log.replace_segment(result.cleaned[0], step)
    abandon(log)
    assert assert_old_or_new_files(directory, old_files, new_files) == (crash_at not in PRE_COMMIT)

    again = PartitionLog(directory, LogConfig(**CONFIG), clock.now_ms)
    again.open(clean_shutdown=False)
    try:
        new = [entry for entry in old if entry[0] != 0]  # a:1 at offset 0 is the only record cleaned
        assert content(again) == (old if crash_at in PRE_COMMIT else new)
        assert_indexes_match_logs(again)
        leftovers = [p.name for p in directory.iterdir() if p.suffix in (".cleaned", ".swap", ".deleted")]
        assert leftovers == []
        assert [seg.base_offset for seg in again.segments] == [0, 3, 4]
    finally:
        again.close()
    for job in jobs:
        job.discard()


def test_crash_while_cleaning_keeps_the_old_segment(tmp_path, clock):
    directory = tmp_path / "c-0"
    jobs = []
    log = compacted_log(directory, clock, jobs)
    old = content(log)
    clean(plan_cleaning(log, 0, clock.now_ms(), force=True))  # .cleaned files written, never swapped
    assert (directory / "00000000000000000000.log.cleaned").exists()
    abandon(log)
    again = PartitionLog(directory, LogConfig(**CONFIG), clock.now_ms)
    again.open(clean_shutdown=False)
    try:
        assert content(again) == old
        assert not list(directory.glob("*.cleaned"))
    finally:
        again.close()


def test_a_live_swap_removes_the_old_files_through_a_job(tmp_path, clock):
    directory = tmp_path / "c-0"
    jobs = []
    log = compacted_log(directory, clock, jobs)
    jobs.clear()
    result = clean(plan_cleaning(log, 0, clock.now_ms(), force=True))
    assert swap_in(log, result) == 1
    deleted = sorted(p.name for p in directory.glob("*.deleted"))
    assert deleted == [f"00000000000000000000{s}.deleted" for s in (".index", ".log", ".timeindex")]
    for job in jobs:
        job.run()
    assert not list(directory.glob("*.deleted"))
    assert [r.key for r in read_all(log)] == [b"b", b"c", b"a", b"z"]
    assert_indexes_match_logs(log)
    log.close()


@pytest.mark.parametrize("fail_at", ["delete.index", "rename.timeindex"])
def test_an_io_error_after_the_commit_completes_the_swap_in_place(tmp_path, clock, fail_at):
    directory = tmp_path / "c-0"
    jobs = []
    log = compacted_log(directory, clock, jobs)
    result = clean(plan_cleaning(log, 0, clock.now_ms(), force=True))

    def step(name):
        if name == fail_at:
            raise OSError(5, "injected EIO")

    assert log.replace_segment(result.cleaned[0], step)
    try:
        assert [r.key for r in read_all(log)] == [b"b", b"c", b"a", b"z"]
        assert_indexes_match_logs(log)
        assert not list(directory.glob("*.swap"))
    finally:
        log.close()


def test_an_io_error_before_the_commit_keeps_the_old_segment_open(tmp_path, clock):
    directory = tmp_path / "c-0"
    jobs = []
    log = compacted_log(directory, clock, jobs)
    old = content(log)
    result = clean(plan_cleaning(log, 0, clock.now_ms(), force=True))

    def step(name):
        if name == "swap.log":
            raise OSError(5, "injected EIO")

    with pytest.raises(OSError):
        log.replace_segment(result.cleaned[0], step)
    try:
        assert content(log) == old
        assert not [p for p in directory.iterdir() if p.suffix in (".cleaned", ".swap")]
    finally:
        log.close()
