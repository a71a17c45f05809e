"""The owner of every partition log in the data directory (Kafka's LogManager).

Owns: the open ``PartitionLog`` objects (by topic name, one list per topic), the fsync policy
and the set of logs appended to since the last interval flush, retention, the two offset
checkpoints (``log-start-offset-checkpoint`` and the cleaner's ``cleaner-offset-checkpoint``,
both in Kafka's format), where the cleaner resumes, and deletion: a deleted partition's
directory is renamed to ``<topic>-<partition>.<uuid>-delete`` and removed by a job, and a
restart removes whatever such directories a crash left behind.

Does not own topic metadata (names, ids, configs, partition counts: ``broker/cluster.py``
derives a ``LogConfig`` and asks here for logs) and never schedules anything itself: every
blocking step is a job (``storage/jobs.py``) handed to ``submit``, which the broker points at
a worker thread once its event loop runs (until then, and in tools and unit tests, jobs run
inline). Nothing here imports asyncio; the event loop is the only caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

from kafkalite.storage.catalog import (
    CLEANER_OFFSET_CHECKPOINT,
    LOG_START_OFFSET_CHECKPOINT,
    Catalog,
    encode_checkpoint,
)
from kafkalite.storage.cleaner import CleanResult, CleanTask, dirty_ratio, plan_cleaning, swap_in
from kafkalite.storage.handles import FileHandles
from kafkalite.storage.jobs import FsyncJob, Job, RemoveJob, Submit, WriteFileJob, run_inline
from kafkalite.storage.loader import delete_dir_name, is_delete_dir
from kafkalite.storage.log import LogConfig, PartitionLog
from kafkalite.storage.write_behind import WriteBehind

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]


class LogManager:
    """Opens, flushes, checkpoints, retains, cleans and deletes the partition logs."""

    def __init__(
        self,
        catalog: Catalog,
        now_ms: Callable[[], int],
        fsync_policy: str = "never",
        write_behind: WriteBehind | None = None,
        handles: FileHandles | None = None,
    ) -> None:
        self.catalog = catalog
        self.handles = handles  # the broker's bounded cache of open segment files
        self.now_ms = now_ms
        self.fsync_policy = fsync_policy
        self.write_behind = write_behind
        #: Where jobs run; the broker sets a worker thread's scheduler (see ``attach``).
        self.submit: Submit = run_inline
        self.logs: dict[str, list[PartitionLog]] = {}
        self._dirty: set[PartitionLog] = set()
        #: First offset not yet cleaned, per compacted partition (Kafka's cleaner checkpoint).
        self.cleaner_offsets: dict[TopicPartition, int] = {}
        self._saved_start_offsets: dict[TopicPartition, int] = {}
        self._saved_cleaner_offsets: dict[TopicPartition, int] = {}
        self._leftovers: list[Path] = []
        self._checkpoint_writes: dict[str, WriteFileJob] = {}  # the last write of each checkpoint file
        self.cleanings = 0

    # ---- opening and closing -----------------------------------------------------------------

    def _run(self, job: Job) -> None:
        """What every log hands its jobs to: the current ``submit`` (read at each call)."""
        self.submit(job)

    def attach(self, submit: Submit) -> None:
        """Run jobs through ``submit`` from now on; start removing leftovers of deleted partitions."""
        self.submit = submit
        leftovers, self._leftovers = self._leftovers, []
        if leftovers:
            submit(RemoveJob(leftovers))

    def load(self, topics: Iterable[tuple[str, int, LogConfig]], clean_shutdown: bool) -> None:
        """Open every partition of ``topics`` ((name, partition count, config)) and the checkpoints."""
        self._leftovers = sorted(p for p in self.catalog.data_dir.iterdir() if is_delete_dir(p))
        if self._leftovers:
            log.info("%d deleted partition director(ies) left to remove", len(self._leftovers))
        for name, count, config in topics:
            self.logs[name] = []
            self._grow(name, count, config, clean_shutdown, fresh=False)
        for (name, index), offset in self.catalog.load_checkpoint(LOG_START_OFFSET_CHECKPOINT).items():
            plog = self.get(name, index)
            if plog is not None:
                plog.restore_log_start_offset(offset)
        self._saved_start_offsets = self._start_offsets()
        # As Kafka: an entry for a partition that is gone is dropped, one past the log end reset.
        self.cleaner_offsets = {}
        for tp, offset in self.catalog.load_checkpoint(CLEANER_OFFSET_CHECKPOINT).items():
            plog = self.get(*tp)
            if plog is not None and plog.log_start_offset <= offset <= plog.log_end_offset:
                self.cleaner_offsets[tp] = offset
        self._saved_cleaner_offsets = dict(self.cleaner_offsets)

    def close(self) -> bool:
        """Close every log (fsync, producer snapshot): on the caller's thread, at shutdown only.

        False if any could not be flushed (a full disk): every log is closed all the same.
        """
        clean = True
        for plogs in self.logs.values():
            for plog in plogs:
                clean = plog.close() and clean
        self._dirty.clear()
        return clean

    # ---- lookups -------------------------------------------------------------------------------

    def get(self, topic: str, index: int) -> PartitionLog | None:
        plogs = self.logs.get(topic)
        if plogs is None or not 0 <= index < len(plogs):
            return None
        return plogs[index]

    def logs_of(self, topic: str) -> list[PartitionLog]:
        """The topic's logs by partition index (the list is this manager's: read it, never change it)."""
        return self.logs[topic]

    def all_logs(self) -> Iterator[tuple[TopicPartition, PartitionLog]]:
        for name, plogs in list(self.logs.items()):
            for index, plog in enumerate(plogs):
                yield (name, index), plog

    # ---- creating and deleting -------------------------------------------------------------------

    def create(
        self, topic: str, count: int, config: LogConfig, prepared: Collection[Path] = ()
    ) -> list[PartitionLog]:
        """Open a new topic's logs; ``prepared``: directories just made for them (empty, kept)."""
        self.logs[topic] = []
        self._grow(topic, count, config, clean_shutdown=True, fresh=True, prepared=prepared)
        return self.logs[topic]

    def add_partitions(self, topic: str, total: int, config: LogConfig, prepared: Collection[Path] = ()) -> None:
        """Grow ``topic`` to ``total`` partitions; ``prepared``: directories just made for them (empty)."""
        self._grow(topic, total, config, clean_shutdown=True, fresh=True, prepared=prepared)

    def _grow(
        self, topic: str, total: int, config: LogConfig, clean_shutdown: bool, fresh: bool,
        prepared: Collection[Path] = (),
    ) -> None:
        """Open partitions up to ``total``; ``fresh`` ones start empty (a stale directory is retired)."""
        plogs = self.logs[topic]
        for index in range(len(plogs), total):
            directory = self.catalog.partition_dir(topic, index)
            if fresh and directory not in prepared:
                self._retire_stale_dir(topic, index)
            plog = PartitionLog(
                directory, config, self.now_ms, self.write_behind, self.handles, self._run, self.catalog.fs
            )
            plog.open(clean_shutdown)
            plogs.append(plog)

    def remove_partitions(self, topic: str, total: int) -> None:
        """Undo ``add_partitions`` beyond ``total`` (saving topics.json failed): delete the new ones."""
        plogs = self.logs[topic]
        while len(plogs) > total:
            plog = plogs.pop()
            self._dirty.discard(plog)
            plog.delete()

    def delete_topic(self, topic: str) -> None:
        """Forget a topic's logs: each directory is renamed to ``-delete`` now and removed by a job."""
        plogs = self.logs.pop(topic, [])
        for plog in plogs:
            self._dirty.discard(plog)
            plog.delete()
        self.cleaner_offsets = {tp: o for tp, o in self.cleaner_offsets.items() if tp[0] != topic}
        self.checkpoint()

    def _retire_stale_dir(self, topic: str, index: int) -> None:
        """A directory no topic owns (a crash before topics.json was saved): rename it away, remove it later."""
        directory = self.catalog.partition_dir(topic, index)
        if directory.exists():
            target = delete_dir_name(directory)
            directory.rename(target)
            self._run(RemoveJob([target]))

    # ---- configs and retention ---------------------------------------------------------------------

    def reconfigure(self, topic: str, config: LogConfig) -> bool:
        """Apply a topic's new log config; stricter retention is enforced at once. True if it was."""
        tightened = False
        for plog in self.logs.get(topic, []):
            before, plog.config = plog.config, config
            if plog.segments and _retention_tightened(before, config):
                tightened = True
                try:
                    plog.enforce_retention()
                except OSError:
                    log.exception("retention failed for %s", plog.directory.name)
        return tightened

    def retention_pass(self) -> int:
        """Apply retention to every partition (Kafka's cleanup task); returns segments deleted."""
        deleted = 0
        for _, plog in self.all_logs():
            if plog.segments:
                try:
                    deleted += plog.enforce_retention()
                except OSError:
                    log.exception("retention failed for %s", plog.directory.name)
        self.checkpoint()  # also retries a checkpoint whose last write failed
        return deleted

    # ---- the fsync policy ----------------------------------------------------------------------

    def appended(self, plog: PartitionLog) -> None:
        """Note a fresh append for the ``interval`` policy."""
        if self.fsync_policy == "interval":
            self._dirty.add(plog)

    def sync_job(self, plogs: Iterable[PartitionLog]) -> FsyncJob:
        """One fsync job for these logs' appends so far (captured now, on the loop)."""
        job = FsyncJob(fs=self.catalog.fs)
        for plog in plogs:
            if plog.segments:
                job.fds.extend(plog.sync_job().fds)
        return job

    def dirty_sync_job(self) -> FsyncJob | None:
        """The ``interval`` policy: an fsync job for logs appended to since the last one."""
        dirty, self._dirty = self._dirty, set()
        job = self.sync_job(dirty)
        return job if job else None

    # ---- checkpoints -------------------------------------------------------------------------------

    def _start_offsets(self) -> dict[TopicPartition, int]:
        return {
            tp: plog.log_start_offset for tp, plog in self.all_logs() if plog.segments and plog.log_start_offset > 0
        }

    def checkpoint_jobs(self) -> list[Job]:
        """Jobs writing the checkpoints that changed since they were last written (may be none)."""
        jobs: list[Job] = []
        starts = self._start_offsets()
        if starts != self._saved_start_offsets or self._failed(LOG_START_OFFSET_CHECKPOINT):
            self._saved_start_offsets = starts
            jobs.append(self._write(LOG_START_OFFSET_CHECKPOINT, starts))
        if self.cleaner_offsets != self._saved_cleaner_offsets or self._failed(CLEANER_OFFSET_CHECKPOINT):
            self._saved_cleaner_offsets = dict(self.cleaner_offsets)
            jobs.append(self._write(CLEANER_OFFSET_CHECKPOINT, self.cleaner_offsets))
        return jobs

    def _write(self, name: str, offsets: dict[TopicPartition, int]) -> WriteFileJob:
        job = WriteFileJob(self.catalog.checkpoint_path(name), encode_checkpoint(offsets), fs=self.catalog.fs)
        self._checkpoint_writes[name] = job
        return job

    def _failed(self, name: str) -> bool:
        """Whether the last write of a checkpoint failed (a full disk): then it is written again."""
        job = self._checkpoint_writes.get(name)
        return job is not None and job.failed

    def checkpoint(self) -> None:
        """Write changed checkpoints through ``submit`` (jobs keep their order in the worker)."""
        for job in self.checkpoint_jobs():
            self.submit(job)

    # ---- the cleaner ---------------------------------------------------------------------------------

    def pick_cleaning(self, now_ms: int) -> tuple[TopicPartition, PartitionLog, CleanTask] | None:
        """The dirtiest compacted partition that is due, with what to clean (Kafka's LogCleanerManager)."""
        best: tuple[float, TopicPartition, PartitionLog] | None = None
        for tp, plog in self.all_logs():
            if not plog.config.compact or len(plog.segments) < 2:
                continue
            first_dirty = self.cleaner_offsets.get(tp, 0)
            if plan_cleaning(plog, first_dirty, now_ms) is None:
                continue
            ratio = dirty_ratio(plog, first_dirty, now_ms)
            if best is None or ratio > best[0]:
                best = (ratio, tp, plog)
        if best is None:
            return None
        _, tp, plog = best
        task = plan_cleaning(plog, self.cleaner_offsets.get(tp, 0), now_ms)
        return None if task is None else (tp, plog, task)

    def finish_cleaning(self, tp: TopicPartition, plog: PartitionLog, result: CleanResult) -> int:
        """Swap the cleaned segments in (on the loop), record and checkpoint the new first dirty offset."""
        if self.get(*tp) is not plog:  # deleted (or recreated) while it was being cleaned
            swap_in(plog, result)  # its segments are gone: this discards the copies
            return 0
        swapped = swap_in(plog, result)
        if swapped < len(result.cleaned):  # some copies were discarded (retention, shutdown): clean again later
            return swapped
        self.cleaner_offsets[tp] = result.task.end_offset
        self.cleanings += 1
        self.checkpoint()
        return swapped


def _retention_tightened(before: LogConfig, after: LogConfig) -> bool:
    """Whether ``after`` may delete data that ``before`` kept (-1 means no limit)."""

    def stricter(old: int, new: int) -> bool:
        return new >= 0 and (old < 0 or new < old)

    if not after.delete:
        return False
    return (
        not before.delete
        or stricter(before.retention_ms, after.retention_ms)
        or stricter(before.retention_bytes, after.retention_bytes)
    )
