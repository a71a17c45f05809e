"""Lazy segment files: a bounded cache of open descriptors, indexes read on first use."""

import os

from kafkalite.storage.handles import FileHandles, LazyFile, default_capacity
from kafkalite.storage.log import LogConfig, PartitionLog
from tests.helpers import simple_batch
from tests.storage.test_log import produce, read_all


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_cache_closes_the_least_recently_used_file(tmp_path):
    handles = FileHandles(2)
    a, b, c = (LazyFile(tmp_path / name, handles) for name in "abc")
    os.pwrite(a.fd(), b"A", 0)
    os.pwrite(b.fd(), b"B", 0)
    a.fd()  # a is now the most recently used
    os.pwrite(c.fd(), b"C", 0)
    assert (a.is_open, b.is_open, c.is_open) == (True, False, True)
    assert len(handles) == 2 and handles.evicted == 1
    assert os.pread(b.fd(), 1, 0) == b"B"  # reopened transparently
    assert not a.is_open
    handles.close_all()
    assert len(handles) == 0


def test_sweep_closes_files_unused_since_the_previous_sweep(tmp_path):
    handles = FileHandles(10)
    busy, quiet = LazyFile(tmp_path / "busy", handles), LazyFile(tmp_path / "quiet", handles)
    busy.fd()
    quiet.fd()
    assert handles.sweep_idle() == 0  # both used since the (absent) previous sweep
    busy.fd()
    assert handles.sweep_idle() == 1
    assert busy.is_open and not quiet.is_open


def test_default_capacity_leaves_room_for_sockets():
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert 16 <= default_capacity() <= max(16, soft - 256) or soft == resource.RLIM_INFINITY
    assert FileHandles(-1).capacity == default_capacity()


def test_two_caches_are_independent(tmp_path):
    one, two = FileHandles(1), FileHandles(1)
    a, b = LazyFile(tmp_path / "a", one), LazyFile(tmp_path / "b", two)
    a.fd()
    b.fd()
    assert a.is_open and b.is_open  # b's cache never closes a's file


def test_many_partitions_hold_at_most_capacity_descriptors(tmp_path, clock):
    handles = FileHandles(8)
    before = len(open_fds())
    logs = [PartitionLog(tmp_path / f"t-{i}", LogConfig(), clock.now_ms, handles=handles) for i in range(40)]
    for plog in logs:
        plog.open(clean_shutdown=True)
        produce(plog, simple_batch(2, tag=plog.directory.name))
    assert len(handles) == 8
    assert len(open_fds()) - before <= 8
    for plog in logs:  # every log reads back through reopened descriptors
        assert [r.value for r in read_all(plog)] == [f"{plog.directory.name}-{i}".encode() for i in range(2)]
    assert len(open_fds()) - before <= 8
    for plog in logs:
        plog.close()
    assert len(handles) == 0 and len(open_fds()) == before


def test_sealed_segments_cost_nothing_until_read(tmp_path, clock):
    config = LogConfig(segment_bytes=1)  # every batch rolls a new segment
    plog = PartitionLog(tmp_path / "t-0", config, clock.now_ms)
    plog.open(clean_shutdown=True)
    for i in range(6):
        produce(plog, simple_batch(3, tag=f"b{i}"))
    plog.close()

    handles = FileHandles(100)
    again = PartitionLog(tmp_path / "t-0", config, clock.now_ms, handles=handles)
    again.open(clean_shutdown=True)
    sealed = again.segments[:-1]
    assert len(sealed) == 5  # the sixth batch is in the active segment
    assert not any(seg.loaded or seg.offset_index.loaded or seg.time_index.loaded for seg in sealed)
    assert len(handles) == 1  # only the active segment's log was read (its tail after the last index entry)
    assert again.log_end_offset == 18
    records = read_all(again, 7)  # reads the segments holding offsets 7 onwards
    assert [r.offset for r in records] == list(range(7, 18))
    assert not sealed[0].loaded and not sealed[1].loaded  # offsets 0-5: never asked for
    assert sealed[2].loaded and sealed[2].offset_index.loaded
    again.close()


def test_a_segment_closed_by_the_cache_keeps_pending_appends(tmp_path, clock):
    """Appended bytes waiting for the write-behind are written through a reopened descriptor."""
    from kafkalite.storage.write_behind import WriteBehind

    handles = FileHandles(1)
    wb = WriteBehind()
    a = PartitionLog(tmp_path / "a-0", LogConfig(), clock.now_ms, wb, handles)
    b = PartitionLog(tmp_path / "b-0", LogConfig(), clock.now_ms, wb, handles)
    a.open(clean_shutdown=True)
    b.open(clean_shutdown=True)
    produce(a, simple_batch(1, tag="a"))  # no event loop: written at once
    produce(b, simple_batch(1, tag="b"))
    assert not a.active._file.is_open
    produce(a, simple_batch(1, tag="a2"))
    assert [r.value for r in read_all(a)] == [b"a-0", b"a2-0"]
    assert [r.value for r in read_all(b)] == [b"b-0"]
    a.close()
    b.close()


def test_out_of_descriptors_gives_back_half_the_cache(tmp_path):
    """EMFILE on open (sockets used what the cap left): the cache closes files and retries."""
    import subprocess
    import sys

    script = f"""
import os, resource
from pathlib import Path
from kafkalite.storage.handles import FileHandles, LazyFile
handles = FileHandles(10_000)  # a cap far above the limit below
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
files = [LazyFile(Path({str(tmp_path)!r}) / f"f{{i}}", handles) for i in range(200)]
for f in files:
    os.pwrite(f.fd(), b"x", 0)
assert all(os.pread(f.fd(), 1, 0) == b"x" for f in files)
print(len(handles) < 64, handles.evicted > 0)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["True", "True"], out.stderr
