"""Metadata-log compaction off the loop: records appended while the worker writes are kept."""

from kafkalite.storage.jobs import FsyncJob
from kafkalite.storage.metadata_log import CompactionJob, MetadataLog


def records(log: MetadataLog) -> list[dict]:
    return list(MetadataLog(log.path).replay())


def test_compaction_keeps_records_appended_while_the_worker_ran(tmp_path):
    log = MetadataLog(tmp_path / "m.log", compact_bytes=100)
    list(log.replay())
    log.open()
    for i in range(10):
        log.append({"k": "a", "v": i})
    job = log.compaction_job(lambda: [{"k": "a", "v": 9}])
    assert isinstance(job, CompactionJob)
    assert log.compaction_job(lambda: []) is None  # one at a time
    job.run()  # the worker thread
    log.append({"k": "b", "v": 1})  # the loop went on meanwhile
    following = log.finish_compaction()
    assert isinstance(following, CompactionJob)  # a second round copies the new record
    following.run()
    done = log.finish_compaction()
    assert isinstance(done, FsyncJob) and done.dirs == [tmp_path]
    done.run()
    log.append({"k": "c", "v": 1})
    log.close()
    assert records(log) == [{"k": "a", "v": 9}, {"k": "b", "v": 1}, {"k": "c", "v": 1}]
    assert not (tmp_path / "m.log.compact").exists()


def test_an_interrupted_compaction_leaves_the_log_whole(tmp_path):
    log = MetadataLog(tmp_path / "m.log", compact_bytes=10)
    list(log.replay())
    log.open()
    log.append({"k": "a", "v": 1})
    log.append({"k": "a", "v": 2})
    job = log.compaction_job(lambda: [{"k": "a", "v": 2}])
    job.run()
    # crash: the loop never swapped the file in
    again = MetadataLog(tmp_path / "m.log")
    assert list(again.replay()) == [{"k": "a", "v": 1}, {"k": "a", "v": 2}]
    assert not (tmp_path / "m.log.compact").exists()
    log.close()
