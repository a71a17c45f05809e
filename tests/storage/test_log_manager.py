"""The LogManager: checkpoints (Kafka's format), asynchronous deletion, fsync jobs off live segments."""

import os

import pytest

from kafkalite.storage.catalog import CLEANER_OFFSET_CHECKPOINT, LOG_START_OFFSET_CHECKPOINT, Catalog
from kafkalite.storage.cleaner import clean
from kafkalite.storage.fs import REAL_FS, FaultyFS
from kafkalite.storage.jobs import FsyncJob, RemoveJob
from kafkalite.storage.log import LogConfig
from kafkalite.storage.log_manager import LogManager
from tests.helpers import make_batch, simple_batch
from tests.storage.test_log import produce, read_all

COMPACT = LogConfig(segment_bytes=1, retention_ms=-1, delete=False, compact=True)


class Jobs(list):
    """A scheduler that holds jobs until the test runs them (a worker thread that lags)."""

    def run_all(self):
        while self:
            self.pop(0).run()


@pytest.fixture
def manager(tmp_path, clock):
    made = []

    def _make(policy="never", jobs=None, topics=(), clean=True, fs=REAL_FS):
        m = LogManager(Catalog(tmp_path / "data", fs), clock.now_ms, policy)
        m.load(topics, clean_shutdown=clean)
        if jobs is not None:
            m.attach(jobs.append)
        made.append(m)
        return m

    yield _make
    for m in made:
        m.close()


def put(plog, clock, key, value):
    produce(plog, make_batch([value.encode()], keys=[key.encode()], timestamps=[clock.now_ms()]))


def test_cleaner_progress_survives_a_restart_in_kafkas_checkpoint_format(manager, clock, tmp_path):
    jobs = Jobs()
    m = manager(jobs=jobs)
    (plog,) = m.create("c", 1, COMPACT)
    for value in "123":
        put(plog, clock, "k", value)
    put(plog, clock, "z", "z")
    tp, picked, task = m.pick_cleaning(clock.now_ms())
    assert (tp, picked) == (("c", 0), plog)
    m.finish_cleaning(tp, plog, clean(task))
    assert m.cleaner_offsets == {("c", 0): 3}
    jobs.run_all()
    path = tmp_path / "data" / CLEANER_OFFSET_CHECKPOINT
    assert path.read_text() == "0\n1\nc 0 3\n"
    m.close()
    again = manager(topics=[("c", 1, COMPACT)])
    assert again.cleaner_offsets == {("c", 0): 3}
    assert again.pick_cleaning(clock.now_ms()) is None  # nothing dirty since: no second cleaning


def test_log_start_offsets_checkpoint_round_trip(manager, clock, tmp_path):
    jobs = Jobs()
    m = manager(jobs=jobs)
    (plog,) = m.create("t", 1, LogConfig())
    produce(plog, simple_batch(5))
    plog.delete_records_before(3)
    m.checkpoint()
    assert not (tmp_path / "data" / LOG_START_OFFSET_CHECKPOINT).exists()  # written by the job
    jobs.run_all()
    assert (tmp_path / "data" / LOG_START_OFFSET_CHECKPOINT).read_text() == "0\n1\nt 0 3\n"
    m.close()
    again = manager(topics=[("t", 1, LogConfig())])
    assert again.get("t", 0).log_start_offset == 3


def test_deleting_a_topic_renames_now_and_removes_later(manager, tmp_path):
    jobs = Jobs()
    m = manager(jobs=jobs)
    (plog,) = m.create("gone", 1, LogConfig())
    produce(plog, simple_batch(3))
    m.delete_topic("gone")
    data = tmp_path / "data"
    assert not (data / "gone-0").exists()
    (renamed,) = [p for p in data.iterdir() if p.name.startswith("gone-0.")]
    assert renamed.name.endswith("-delete") and len(renamed.name) == len("gone-0.") + 32 + len("-delete")
    assert m.get("gone", 0) is None
    assert any(isinstance(job, RemoveJob) for job in jobs)
    jobs.run_all()
    assert not renamed.exists()


def test_a_restart_removes_deleted_directories_left_by_a_crash(manager, tmp_path):
    data = tmp_path / "data"
    leftover = data / "old-0.0123456789abcdef0123456789abcdef-delete"
    leftover.mkdir(parents=True)
    (leftover / "00000000000000000000.log").write_bytes(b"x" * 100)
    jobs = Jobs()
    manager(jobs=jobs)
    assert leftover.exists()  # not removed on the start-up path: by a job
    jobs.run_all()
    assert not leftover.exists()


def test_retention_renames_segments_to_deleted_and_a_job_unlinks_them(manager, clock, tmp_path):
    jobs = Jobs()
    m = manager(jobs=jobs)
    (plog,) = m.create("r", 1, LogConfig(segment_bytes=1, retention_ms=-1, retention_bytes=0))
    for _ in range(3):
        produce(plog, simple_batch(1))
    jobs.run_all()  # the rolls' fsyncs and snapshots
    assert m.retention_pass() == 2
    directory = tmp_path / "data" / "r-0"
    deleted = sorted(p.name for p in directory.glob("*.deleted"))
    assert "00000000000000000000.log.deleted" in deleted and "00000000000000000001.log.deleted" in deleted
    assert plog.log_start_offset == 2
    jobs.run_all()
    assert not list(directory.glob("*.deleted"))
    assert [r.offset for r in read_all(plog, 2)] == [2]


def test_a_roll_hands_its_fsync_to_a_job_that_holds_no_segment(manager, tmp_path):
    jobs = Jobs()
    m = manager(jobs=jobs)
    (plog,) = m.create("f", 1, LogConfig(segment_bytes=1))
    produce(plog, simple_batch(2))
    produce(plog, simple_batch(2))  # rolls segment 0
    (job,) = [j for j in jobs if isinstance(j, FsyncJob)]
    sealed = plog.segments[0]
    assert os.fstat(job.fds[0]).st_ino == os.stat(sealed.log_path).st_ino  # a duplicate of its descriptor
    m.delete_topic("f")  # the loop goes on: the log is closed and its directory renamed
    job.run()  # still fine: it fsyncs its own descriptor, and the snapshot's directory is gone
    assert job.fds == []  # the duplicate is closed


def test_fsync_jobs_of_the_interval_policy(manager):
    m = manager(policy="interval")
    a, b = m.create("i", 2, LogConfig())
    produce(a, simple_batch(1))
    produce(b, simple_batch(1))
    m.appended(a)
    m.appended(b)
    m.appended(a)
    job = m.dirty_sync_job()
    assert len(job.fds) == 2
    a.roll()  # the loop keeps changing the segments; the job is unaffected
    job.run()
    assert job.fds == []  # the duplicates are closed
    assert m.dirty_sync_job() is None  # nothing appended since


def test_a_late_snapshot_job_never_writes_into_a_recreated_topic(manager, tmp_path):
    jobs = Jobs()
    m = manager(jobs=jobs)
    (plog,) = m.create("again", 1, LogConfig(segment_bytes=1))
    produce(plog, simple_batch(2))
    produce(plog, simple_batch(2))  # a roll: its snapshot job waits in the queue
    m.delete_topic("again")
    m.create("again", 1, LogConfig())  # same name, same directory path, before the worker ran
    jobs.run_all()
    assert not list((tmp_path / "data" / "again-0").glob("*.snapshot"))


def test_a_cleaner_checkpoint_past_the_log_end_is_reset(manager, tmp_path):
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / CLEANER_OFFSET_CHECKPOINT).write_text("0\n2\nc 0 99\ngone 0 5\n")
    m = manager(topics=[("c", 1, COMPACT)])
    assert m.cleaner_offsets == {}  # c-0 holds nothing at 99; "gone" has no log


def test_a_failed_checkpoint_write_is_retried(manager, clock, tmp_path):
    fs = FaultyFS()
    jobs = Jobs()
    m = manager(jobs=jobs, fs=fs)
    (plog,) = m.create("t", 1, LogConfig())
    produce(plog, simple_batch(5))
    plog.delete_records_before(2)
    m.checkpoint()

    fs.fill(prefix=tmp_path / "data" / LOG_START_OFFSET_CHECKPOINT)  # the checkpoint's temporary file
    with pytest.raises(OSError):
        jobs.run_all()
    fs.free()
    jobs.clear()
    m.checkpoint()  # nothing changed since, but the last write failed: written again
    jobs.run_all()
    assert (tmp_path / "data" / LOG_START_OFFSET_CHECKPOINT).read_text() == "0\n1\nt 0 2\n"
