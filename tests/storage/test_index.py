import pytest

from kafkalite.storage.index import OffsetIndex, TimeIndex


@pytest.fixture
def oidx(tmp_path):
    idx = OffsetIndex(tmp_path / "00000000000000000000.index")
    yield idx
    idx.close()


@pytest.fixture
def tidx(tmp_path):
    idx = TimeIndex(tmp_path / "00000000000000000000.timeindex")
    yield idx
    idx.close()


def fill(idx: OffsetIndex) -> None:
    for rel, pos in [(0, 0), (10, 4096), (20, 8192), (35, 12000)]:
        idx.append(rel, pos)


def test_offset_index_lookup(oidx):
    fill(oidx)
    assert oidx.lookup(0) == (0, 0)
    assert oidx.lookup(9) == (0, 0)
    assert oidx.lookup(10) == (10, 4096)
    assert oidx.lookup(19) == (10, 4096)
    assert oidx.lookup(34) == (20, 8192)
    assert oidx.lookup(10_000) == (35, 12000)


def test_offset_index_lookup_below_first_entry_and_empty(oidx):
    assert oidx.lookup(5) == (0, 0)
    oidx.append(7, 100)
    assert oidx.lookup(6) == (0, 0)
    assert oidx.lookup(7) == (7, 100)


def test_offset_index_entries_reach_the_file_on_flush(oidx):
    fill(oidx)
    # kept in memory until the segment is flushed (the index creates its file only then)
    assert not oidx.path.exists() or oidx.path.stat().st_size == 0
    oidx.flush()
    data = oidx.path.read_bytes()
    assert len(data) == 4 * 8
    assert data[8:16] == (10).to_bytes(4, "big") + (4096).to_bytes(4, "big")


def test_offset_index_reload(tmp_path):
    idx = OffsetIndex(tmp_path / "r.index")
    fill(idx)
    idx.close()
    again = OffsetIndex(tmp_path / "r.index")
    try:
        assert list(again.offsets) == [0, 10, 20, 35]
        assert list(again.positions) == [0, 4096, 8192, 12000]
        assert again.lookup(25) == (20, 8192)
    finally:
        again.close()


def test_offset_index_ignores_partial_trailing_entry(tmp_path):
    path = tmp_path / "x.index"
    path.write_bytes((1).to_bytes(4, "big") + (64).to_bytes(4, "big") + b"\x00\x00\x00")
    idx = OffsetIndex(path)
    try:
        assert list(idx.offsets) == [1]
        assert list(idx.positions) == [64]
    finally:
        idx.close()


def test_offset_index_truncate_to_position(oidx):
    fill(oidx)
    oidx.truncate_to_position(8192)
    assert list(oidx.offsets) == [0, 10]
    assert list(oidx.positions) == [0, 4096]
    assert oidx.path.stat().st_size == 16
    oidx.truncate_to_position(5000)  # between entries: drops the entry past it only
    assert list(oidx.positions) == [0, 4096]
    oidx.truncate_to_position(4000)
    assert list(oidx.positions) == [0]
    reloaded = OffsetIndex(oidx.path)
    try:
        assert list(reloaded.offsets) == [0]
    finally:
        reloaded.close()


def test_offset_index_truncate_past_end_keeps_everything(oidx):
    fill(oidx)
    oidx.truncate_to_position(12001)
    assert list(oidx.offsets) == [0, 10, 20, 35]
    oidx.flush()
    assert oidx.path.stat().st_size == 32


def test_offset_index_append_after_truncate(oidx):
    fill(oidx)
    oidx.truncate_to_position(4096)
    oidx.append(12, 5000)
    assert oidx.lookup(15) == (12, 5000)
    oidx.flush()
    reloaded = OffsetIndex(oidx.path)
    try:
        assert list(zip(reloaded.offsets, reloaded.positions)) == [(0, 0), (12, 5000)]
    finally:
        reloaded.close()


def test_offset_index_clear(oidx):
    fill(oidx)
    oidx.clear()
    assert len(oidx.offsets) == 0
    assert oidx.lookup(50) == (0, 0)
    assert oidx.path.stat().st_size == 0


def test_offset_index_sane(oidx):
    assert oidx.sane(0)
    fill(oidx)
    assert oidx.sane(12001)
    assert not oidx.sane(12000)  # last entry points at the end of the log


@pytest.mark.parametrize(
    "entries",
    [
        [(0, 0), (0, 100)],  # offsets not strictly increasing
        [(0, 0), (5, 0)],  # positions not strictly increasing
        [(3, 10), (2, 20)],
        [(-1, -1)],
        [(0, -5)],
    ],
)
def test_offset_index_insane(oidx, entries):
    for rel, pos in entries:
        oidx.append(rel, pos)
    assert not oidx.sane(1_000_000)


def test_time_index_lookup(tidx):
    for ts, rel in [(1000, 0), (2000, 10), (3000, 20)]:
        tidx.append(ts, rel)
    assert tidx.last_timestamp == 3000
    assert tidx.lookup(500) == 0
    assert tidx.lookup(1000) == 0
    assert tidx.lookup(1001) == 0
    assert tidx.lookup(2000) == 0  # the entry for 2000 is not strictly before it
    assert tidx.lookup(2001) == 10
    assert tidx.lookup(10_000) == 20


def test_time_index_ignores_non_increasing_entries(tidx):
    tidx.append(1000, 0)
    tidx.append(1000, 5)  # same timestamp
    tidx.append(900, 6)  # older timestamp
    tidx.append(2000, 0)  # offset not increasing
    tidx.append(2000, 8)
    assert list(tidx.timestamps) == [1000, 2000]
    assert list(tidx.offsets) == [0, 8]
    tidx.flush()
    assert tidx.path.stat().st_size == 2 * 12
    assert tidx.sane()


def test_time_index_empty(tidx):
    assert tidx.last_timestamp == -1
    assert tidx.lookup(123) == 0
    assert tidx.sane()


def test_time_index_reload_and_truncate(tidx):
    for ts, rel in [(1000, 0), (2000, 10), (3000, 20)]:
        tidx.append(ts, rel)
    tidx.truncate_to_offset(10)
    assert list(tidx.timestamps) == [1000]
    reloaded = TimeIndex(tidx.path)
    try:
        assert list(reloaded.timestamps) == [1000]
        assert list(reloaded.offsets) == [0]
    finally:
        reloaded.close()
    tidx.truncate_to_offset(50)
    assert list(tidx.offsets) == [0]


def test_time_index_sane_detects_garbage(tmp_path):
    path = tmp_path / "g.timeindex"
    path.write_bytes(b"\xff" * 24)
    idx = TimeIndex(path)
    try:
        assert len(idx.timestamps) == 2
        assert not idx.sane()
    finally:
        idx.close()


def test_time_index_clear(tidx):
    tidx.append(1, 1)
    tidx.clear()
    assert tidx.last_timestamp == -1
    assert tidx.path.stat().st_size == 0
