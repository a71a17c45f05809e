"""LogManager over any root and several log directories: placement, moves, offline directories."""

import shutil

import pytest

from kafkalite.storage.catalog import LOG_START_OFFSET_CHECKPOINT, Catalog
from kafkalite.storage.epoch_cache import LEADER_EPOCH_CHECKPOINT
from kafkalite.storage.fs import REAL_FS, FaultyFS
from kafkalite.storage.log import LogConfig
from kafkalite.storage.log_manager import LogDirOffline, LogManager, future_dir_name
from tests.helpers import simple_batch
from tests.storage.test_log import produce, read_all


@pytest.fixture
def manager(tmp_path, clock):
    made = []

    def _make(dirs=None, topics=(), clean=True, fs=REAL_FS, leader_epochs=False):
        m = LogManager(
            Catalog(tmp_path / "data", fs), clock.now_ms, log_dirs=dirs, leader_epochs=leader_epochs
        )
        m.load(topics, clean_shutdown=clean)
        made.append(m)
        return m

    yield _make
    for m in made:
        m.close()


def test_a_node_root_keeps_partitions_and_checkpoints_apart_from_the_metadata(manager, tmp_path):
    node = tmp_path / "data" / "node-2"
    m = manager([node], leader_epochs=True)
    (plog,) = m.create("t", 1, LogConfig(segment_bytes=200))
    plog.become_leader(4)
    for _ in range(4):
        produce(plog, simple_batch(2))
    plog.delete_records_before(5)
    m.checkpoint()
    assert plog.directory == node / "t-0" and m.dir_of("t", 0) == node
    assert (node / LOG_START_OFFSET_CHECKPOINT).read_text() == "0\n1\nt 0 5\n"
    assert (node / "t-0" / LEADER_EPOCH_CHECKPOINT).read_text() == "0\n1\n4 5\n"
    assert not (tmp_path / "data" / "t-0").exists() and not (tmp_path / "data" / LOG_START_OFFSET_CHECKPOINT).exists()
    m.close()
    again = manager([node], topics=[("t", 1, LogConfig())], leader_epochs=True)
    assert again.get("t", 0).log_start_offset == 5 and again.get("t", 0).epoch_cache.latest_epoch == 4


def test_new_partitions_go_to_the_directory_with_the_fewest(manager, tmp_path):
    dirs = [tmp_path / f"dir-{j}" for j in range(3)]
    m = manager(dirs)
    m.create("a", 4, LogConfig())
    assert [m.dir_of("a", i) for i in range(4)] == [dirs[0], dirs[1], dirs[2], dirs[0]]
    planned = m.partition_dir("b", 0)  # a caller preparing the directory ahead gets the same place
    assert planned == dirs[1] / "b-0"
    m.create("b", 2, LogConfig(), prepared=[planned])
    assert m.get("b", 0).directory == planned and m.dir_of("b", 1) == dirs[2]
    produce(m.get("a", 3), simple_batch(3))
    m.close()
    again = manager(dirs, topics=[("a", 4, LogConfig()), ("b", 2, LogConfig())])
    assert [again.dir_of("a", i) for i in range(4)] == [dirs[0], dirs[1], dirs[2], dirs[0]]
    assert again.get("a", 3).log_end_offset == 3
    infos = {info.path: info for info in again.describe_dirs()}
    assert set(infos[dirs[0]].partitions) == {("a", 0), ("a", 3)}
    assert infos[dirs[0]].partitions[("a", 3)] > 0 and infos[dirs[0]].total_bytes > 0


def test_one_directory_changes_nothing(manager, tmp_path):
    m = manager()
    m.create("t", 2, LogConfig())
    assert m.log_dirs == [tmp_path / "data"] and m.get("t", 1).directory == tmp_path / "data" / "t-1"
    assert m.partition_dir("t", 1) == tmp_path / "data" / "t-1"


def test_move_copies_then_swaps_and_keeps_the_same_log(manager, tmp_path):
    dirs = [tmp_path / "d0", tmp_path / "d1"]
    m = manager(dirs, leader_epochs=True)
    (plog,) = m.create("t", 1, LogConfig(segment_bytes=200))
    plog.become_leader(2)
    for i in range(5):
        produce(plog, simple_batch(2, tag=f"v{i}"))
    plog.set_high_watermark(6)
    before = [r.value for r in read_all(plog)]
    assert m.move("t", 0, dirs[1])
    assert not m.move("t", 0, dirs[1])  # already there
    assert m.get("t", 0) is plog and plog.directory == dirs[1] / "t-0"
    assert [r.value for r in read_all(plog)] == before and plog.high_watermark == 6
    assert produce(plog, simple_batch(1)).base_offset == 10
    assert not (dirs[0] / "t-0").exists()
    assert [p.name for p in dirs[0].iterdir() if p.is_dir()] == []  # the -delete dir removed (inline jobs)
    assert plog.epoch_cache.entries == [(2, 0)]
    m.close()
    again = manager(dirs, topics=[("t", 1, LogConfig(segment_bytes=200))])
    assert again.dir_of("t", 0) == dirs[1] and again.get("t", 0).log_end_offset == 11


def test_a_move_on_a_full_target_disk_leaves_the_source(manager, tmp_path):
    dirs = [tmp_path / "d0", tmp_path / "d1"]
    fs = FaultyFS()
    m = manager(dirs, fs=fs)
    (plog,) = m.create("t", 1, LogConfig())
    produce(plog, simple_batch(3))
    fs.fill(prefix=dirs[1], partial=5)
    with pytest.raises(OSError):
        m.move("t", 0, dirs[1])
    fs.free()
    assert plog.directory == dirs[0] / "t-0" and [p for p in dirs[1].iterdir()] == []
    assert plog.log_end_offset == 3 and produce(plog, simple_batch(1)).base_offset == 3


@pytest.mark.parametrize("committed", [False, True])
def test_a_restart_completes_or_drops_an_interrupted_move(manager, tmp_path, committed):
    dirs = [tmp_path / "d0", tmp_path / "d1"]
    m = manager(dirs)
    (plog,) = m.create("t", 1, LogConfig())
    produce(plog, simple_batch(4))
    m.close()
    future = future_dir_name(dirs[1], "t-0")
    shutil.copytree(dirs[0] / "t-0", future)  # a kill -9 after the copy ...
    if committed:  # ... and after the source was renamed away
        (dirs[0] / "t-0").rename(dirs[0] / "t-0.0123-delete")
    again = manager(dirs, topics=[("t", 1, LogConfig())])
    again.attach(lambda job: job.run())
    assert again.dir_of("t", 0) == (dirs[1] if committed else dirs[0])
    assert again.get("t", 0).log_end_offset == 4
    assert sorted(p.name for d in dirs for p in d.iterdir() if p.is_dir()) == ["t-0"]


def test_an_offline_directory_leaves_the_others_serving(manager, tmp_path):
    dirs = [tmp_path / "d0", tmp_path / "d1"]
    m = manager(dirs)
    m.create("t", 2, LogConfig())
    m.mark_offline(dirs[0])
    assert m.partition_offline("t", 0) and not m.partition_offline("t", 1)
    m.create("u", 2, LogConfig())
    assert {m.dir_of("u", 0), m.dir_of("u", 1)} == {dirs[1]}
    with pytest.raises(LogDirOffline):
        m.move("t", 1, dirs[0])
    produce(m.get("t", 1), simple_batch(1))
    m.get("t", 1).delete_records_before(1)
    m.checkpoint()
    assert (dirs[1] / LOG_START_OFFSET_CHECKPOINT).exists()
    assert not (dirs[0] / LOG_START_OFFSET_CHECKPOINT).exists()
    offline = next(i for i in m.describe_dirs() if i.path == dirs[0])
    assert offline.offline and offline.partitions == {}
    m.mark_offline(dirs[1])
    with pytest.raises(LogDirOffline):
        m.create("v", 1, LogConfig())


def test_a_broker_with_several_log_dirs_spreads_its_partitions(tmp_path):
    from kafkalite.broker.broker import BrokerState
    from kafkalite.clock import ManualClock
    from kafkalite.config import BrokerConfig

    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    config = BrokerConfig.from_properties({"log.dirs": f"{d1},{d2}"})
    state = BrokerState(config, ManualClock())
    state.open()
    try:
        state.cluster.create_topic("t", 3)
        assert [state.log_manager.dir_of("t", i) for i in range(3)] == [d1, d2, d1]
        assert (d1 / "topics.json").exists() and not (d2 / "topics.json").exists()
    finally:
        state.close()
    state = BrokerState(config, ManualClock())
    state.open()
    try:
        assert [state.log_manager.dir_of("t", i) for i in range(3)] == [d1, d2, d1]
    finally:
        state.close()


def test_a_node_opens_only_the_replicas_it_hosts(manager, tmp_path):
    node = [tmp_path / "node-3" / "dir-0", tmp_path / "node-3" / "dir-1"]
    m = manager(node, leader_epochs=True)
    p1 = m.open_replica("t", 1, LogConfig())
    p3 = m.open_replica("t", 3, LogConfig())
    assert m.open_replica("t", 1, LogConfig()) is p1 and m.get("t", 3) is p3 and m.get("t", 0) is None
    assert {m.dir_of("t", 1), m.dir_of("t", 3)} == set(node)
    produce(p3, simple_batch(4))
    p3.delete_records_before(2)
    m.checkpoint()
    assert sorted(tp for tp, _ in m.all_logs()) == [("t", 1), ("t", 3)]
    assert m.move("t", 3, next(d for d in node if d != m.dir_of("t", 3)))
    m.close()
    again = manager(node, leader_epochs=True)
    q3 = again.open_replica("t", 3, LogConfig())
    assert (q3.log_start_offset, q3.log_end_offset) == (2, 4) and q3.epoch_cache is not None
    assert again.delete_replica("t", 3) and not again.delete_replica("t", 3)
    again.open_replica("t", 1, LogConfig())
    again.delete_topic("t")
    assert again.replicas == {}
    assert sorted(p.name for d in node for p in d.iterdir() if p.is_dir()) == []


def test_an_io_error_takes_the_directory_offline_a_full_disk_does_not(manager, tmp_path):
    import errno

    dirs = [tmp_path / "d0", tmp_path / "d1"]
    m = manager(dirs)
    m.create("t", 2, LogConfig())
    assert not m.io_error(m.get("t", 0), OSError(errno.ENOSPC, "full"))
    assert m.offline_dirs == set()
    assert m.io_error(m.get("t", 0), OSError(errno.EIO, "broken"))
    assert m.offline_dirs == {dirs[0]} and not m.partition_offline("t", 1)


def test_a_checkpoint_refused_by_one_full_directory_is_written_again(tmp_path, clock):
    dirs = [tmp_path / "d0", tmp_path / "d1"]
    fs = FaultyFS()
    m = LogManager(Catalog(tmp_path / "data", fs), clock.now_ms, log_dirs=dirs)
    m.load((), clean_shutdown=True)
    m.create("t", 2, LogConfig())
    for i in range(2):
        produce(m.get("t", i), simple_batch(3))
        m.get("t", i).delete_records_before(2)
    fs.fill(prefix=dirs[0])
    with pytest.raises(OSError):
        m.checkpoint()  # inline jobs: the failure surfaces (a worker logs it)
    assert not (dirs[0] / LOG_START_OFFSET_CHECKPOINT).exists()
    fs.free()
    m.checkpoint()  # nothing changed, but the failed write is retried
    assert (dirs[0] / LOG_START_OFFSET_CHECKPOINT).read_text() == "0\n1\nt 0 2\n"
    assert (dirs[1] / LOG_START_OFFSET_CHECKPOINT).read_text() == "0\n1\nt 1 2\n"
    m.close()


def test_end_offset_for_epoch_without_a_cache_is_the_current_epoch(tmp_path, clock):
    from kafkalite.storage.log import PartitionLog

    plog = PartitionLog(tmp_path / "t-0", LogConfig(), clock.now_ms)
    plog.open(clean_shutdown=True)
    produce(plog, simple_batch(3))
    assert plog.end_offset_for_epoch(0) == (0, 3) and plog.end_offset_for_epoch(1) == (-1, -1)
    plog.close()
