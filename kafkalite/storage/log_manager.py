"""The owner of every partition log in its log directories (Kafka's LogManager).

Owns: the open ``PartitionLog`` objects (by topic name, one list per topic), the fsync policy
and the set of logs appended to since the last interval flush, retention, the two offset
checkpoints (``log-start-offset-checkpoint`` and the cleaner's ``cleaner-offset-checkpoint``,
both in Kafka's format), where the cleaner resumes, and deletion: a deleted partition's
directory is renamed to ``<topic>-<partition>.<uuid>-delete`` and removed by a job, and a
restart removes whatever such directories a crash left behind.

Log directories: by default the catalog's data directory, as always; or any list of
directories (``log_dirs``: one broker's ``log.dirs``, or a simulated node's ``<data>/node-K``,
while topics.json stays at the root). A new partition goes to the online directory holding
the fewest partitions (Kafka's rule); each directory keeps its own checkpoints. ``move``
relocates a partition to another directory as Kafka's AlterReplicaLogDirs does (a copy in
``<topic>-<partition>.<uuid>-future``, then a swap; a restart completes or discards an
interrupted one), and a directory that fails (EIO) can be marked offline, leaving the others
serving. With one directory nothing of this costs anything.

Does not own topic metadata (names, ids, configs, partition counts: ``broker/cluster.py``
derives a ``LogConfig`` and asks here for logs) and never schedules anything itself: every
blocking step is a job (``storage/jobs.py``) handed to ``submit``, which the broker points at
a worker thread once its event loop runs (until then, and in tools and unit tests, jobs run
inline). Nothing here imports asyncio; the event loop is the only caller.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kafkalite.storage.catalog import (
    CLEANER_OFFSET_CHECKPOINT,
    LOG_START_OFFSET_CHECKPOINT,
    Catalog,
    decode_checkpoint,
    encode_checkpoint,
    fsync_dir,
)
from kafkalite.storage.cleaner import CleanResult, CleanTask, dirty_ratio, plan_cleaning, swap_in
from kafkalite.storage.fs import write_all
from kafkalite.storage.handles import FileHandles
from kafkalite.storage.jobs import FsyncJob, Job, RemoveJob, Submit, WriteFileJob, run_inline
from kafkalite.storage.loader import delete_dir_name, is_delete_dir
from kafkalite.storage.log import LogConfig, PartitionLog
from kafkalite.storage.write_behind import WriteBehind

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
FUTURE_DIR_SUFFIX = "-future"


def future_dir_name(log_dir: Path, name: str) -> Path:
    """Where ``move`` copies a partition before the swap (Kafka's ``<tp>.<uuid>-future``)."""
    return log_dir / f"{name}.{uuid.uuid4().hex}{FUTURE_DIR_SUFFIX}"


def is_future_dir(path: Path) -> bool:
    return path.name.endswith(FUTURE_DIR_SUFFIX) and "." in path.name and path.is_dir()


@dataclass
class LogDirInfo:
    """One log directory as DescribeLogDirs shows it."""

    path: Path
    offline: bool
    partitions: dict[TopicPartition, int] = field(default_factory=dict)  # size in bytes
    total_bytes: int = -1
    usable_bytes: int = -1


class LogDirOffline(OSError):
    """The partition's log directory is offline (KAFKA_STORAGE_ERROR), or a move's target is."""


class LogManager:
    """Opens, flushes, checkpoints, retains, cleans and deletes the partition logs."""

    def __init__(
        self,
        catalog: Catalog,
        now_ms: Callable[[], int],
        fsync_policy: str = "never",
        write_behind: WriteBehind | None = None,
        handles: FileHandles | None = None,
        log_dirs: Sequence[Path] | None = None,
        leader_epochs: bool = False,
    ) -> None:
        """``log_dirs``: where partition logs live (default: the catalog's data directory);
        ``leader_epochs``: keep each log's leader epoch cache (a replicated cluster)."""
        self.catalog = catalog
        self.log_dirs: list[Path] = [Path(d) for d in log_dirs] if log_dirs else [catalog.data_dir]
        for directory in self.log_dirs:
            directory.mkdir(parents=True, exist_ok=True)
        self.fs = catalog.fs
        self.leader_epochs = leader_epochs
        #: Directories that failed (I/O errors): their partitions answer KAFKA_STORAGE_ERROR.
        self.offline_dirs: set[Path] = set()
        #: Placements chosen for partitions about to be created (``partition_dir``).
        self._planned: dict[TopicPartition, Path] = {}
        self._moved = False
        self.handles = handles  # the broker's bounded cache of open segment files
        self.now_ms = now_ms
        self.fsync_policy = fsync_policy
        self.write_behind = write_behind
        #: Where jobs run; the broker sets a worker thread's scheduler (see ``attach``).
        self.submit: Submit = run_inline
        self.logs: dict[str, list[PartitionLog]] = {}
        #: Logs opened one by one (``open_replica``): a simulated node hosting some partitions of a topic.
        self.replicas: dict[TopicPartition, PartitionLog] = {}
        self._checkpointed: dict[str, dict[TopicPartition, int]] = {}  # read at load, for replicas opened later
        self._dirty: set[PartitionLog] = set()
        #: First offset not yet cleaned, per compacted partition (Kafka's cleaner checkpoint).
        self.cleaner_offsets: dict[TopicPartition, int] = {}
        self._saved_start_offsets: dict[TopicPartition, int] = {}
        self._saved_cleaner_offsets: dict[TopicPartition, int] = {}
        self._leftovers: list[Path] = []
        self._checkpoint_writes: dict[Path, WriteFileJob] = {}  # the last write of each checkpoint file
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
        self._leftovers = []
        found: dict[str, Path] = {}  # partition directory name -> its log dir (several dirs only)
        futures: list[Path] = []
        for log_dir in self.log_dirs:
            names = os.listdir(log_dir)  # once: a data dir may hold thousands of partitions
            self._leftovers += sorted(p for p in (log_dir / n for n in names) if is_delete_dir(p))
            futures += sorted(p for p in (log_dir / n for n in names) if is_future_dir(p))
            if len(self.log_dirs) > 1:
                found.update((name, log_dir) for name in names if not name.startswith("."))
        if futures:
            self._complete_moves(futures, found)
        if self._leftovers:
            log.info("%d deleted partition director(ies) left to remove", len(self._leftovers))
        for name, count, config in topics:
            self.logs[name] = []
            for index in range(count):
                where = found.get(f"{name}-{index}")
                if where is not None:
                    self._planned[(name, index)] = where
            self._grow(name, count, config, clean_shutdown, fresh=False)
        starts: dict[TopicPartition, int] = {}
        cleaned: dict[TopicPartition, int] = {}
        for log_dir in self.log_dirs:
            starts.update(self._read_checkpoint(log_dir, LOG_START_OFFSET_CHECKPOINT))
            cleaned.update(self._read_checkpoint(log_dir, CLEANER_OFFSET_CHECKPOINT))
        self._checkpointed = {LOG_START_OFFSET_CHECKPOINT: starts, CLEANER_OFFSET_CHECKPOINT: cleaned}
        for (name, index), offset in starts.items():
            plog = self.get(name, index)
            if plog is not None:
                plog.restore_log_start_offset(offset)
        self._saved_start_offsets = self._start_offsets()
        # As Kafka: an entry for a partition that is gone is dropped, one past the log end reset.
        self.cleaner_offsets = {}
        for tp, offset in cleaned.items():
            plog = self.get(*tp)
            if plog is not None and plog.log_start_offset <= offset <= plog.log_end_offset:
                self.cleaner_offsets[tp] = offset
        self._saved_cleaner_offsets = dict(self.cleaner_offsets)

    def _read_checkpoint(self, log_dir: Path, name: str) -> dict[TopicPartition, int]:
        path = log_dir / name
        try:
            return decode_checkpoint(path.read_text())
        except FileNotFoundError:
            return {}

    def _complete_moves(self, futures: list[Path], found: dict[str, Path]) -> None:
        """Finish or drop what an interrupted ``move`` left (``-future`` directories).

        The removal of the source directory (renamed to ``-delete``) commits a move: a future
        directory whose partition has no live directory left is renamed into place; one whose
        source is still there is an unfinished copy, removed (the move is abandoned).
        """
        for future in futures:
            log_dir = future.parent
            name = future.name.rsplit(".", 1)[0]
            live = found.get(name) if len(self.log_dirs) > 1 else (log_dir if (log_dir / name).exists() else None)
            if live is None:
                log.info("completing the interrupted move of %s into %s", name, log_dir)
                future.rename(log_dir / name)
                fsync_dir(log_dir)
                found[name] = log_dir
            else:
                log.info("discarding the unfinished copy %s", future)
                self._leftovers.append(future)
            found.pop(future.name, None)

    def close(self) -> bool:
        """Close every log (fsync, producer snapshot): on the caller's thread, at shutdown only.

        False if any could not be flushed (a full disk): every log is closed all the same.
        """
        clean = True
        for _, plog in self.all_logs():
            clean = plog.close() and clean
        self._dirty.clear()
        return clean

    # ---- lookups -------------------------------------------------------------------------------

    def get(self, topic: str, index: int) -> PartitionLog | None:
        plogs = self.logs.get(topic)
        if plogs is None or not 0 <= index < len(plogs):
            return self.replicas.get((topic, index)) if self.replicas else None
        return plogs[index]

    def logs_of(self, topic: str) -> list[PartitionLog]:
        """The topic's logs by partition index (the list is this manager's: read it, never change it)."""
        return self.logs[topic]

    def all_logs(self) -> Iterator[tuple[TopicPartition, PartitionLog]]:
        for name, plogs in list(self.logs.items()):
            for index, plog in enumerate(plogs):
                yield (name, index), plog
        if self.replicas:
            yield from list(self.replicas.items())

    # ---- single partitions (a simulated node's replicas) -------------------------------------------

    def open_replica(self, topic: str, index: int, config: LogConfig, clean_shutdown: bool = True) -> PartitionLog:
        """Open one partition's log on its own, for a node hosting only some partitions of a topic.

        The partition's directory is loaded from whichever log directory holds it, else a new
        one is placed as any new partition is. Such logs live in ``replicas``, not in the
        topic-wide lists, and ``get``, flushing, retention, cleaning, checkpoints, ``move`` and
        ``describe_dirs`` cover them alike. Open every hosted replica right after ``load`` (with
        no topics, or some): checkpointed offsets of partitions not open at the next checkpoint
        are dropped, as Kafka drops those of partitions it no longer has. Opening one already
        open returns it.
        """
        tp = (topic, index)
        plog = self.get(topic, index)
        if plog is not None:
            return plog
        name = f"{topic}-{index}"
        existing = next((d for d in self.log_dirs if (d / name).is_dir()), None)
        planned = self._planned.pop(tp, None)
        log_dir = existing or planned or self._place()
        plog = PartitionLog(
            log_dir / name, config, self.now_ms, self.write_behind,
            self.handles, self._run, self.fs, leader_epochs=self.leader_epochs,
        )
        plog.open(clean_shutdown if existing is not None else True)
        start = self._checkpointed.get(LOG_START_OFFSET_CHECKPOINT, {}).pop(tp, None)
        if start is not None:
            plog.restore_log_start_offset(start)
            if plog.log_start_offset > 0:
                self._saved_start_offsets[tp] = plog.log_start_offset
        cleaned = self._checkpointed.get(CLEANER_OFFSET_CHECKPOINT, {}).pop(tp, None)
        if cleaned is not None and plog.log_start_offset <= cleaned <= plog.log_end_offset:
            self.cleaner_offsets[tp] = self._saved_cleaner_offsets[tp] = cleaned
        self.replicas[tp] = plog
        return plog

    def delete_replica(self, topic: str, index: int) -> bool:
        """Delete a log ``open_replica`` opened (the node no longer hosts it); False if none is open.

        The directory is renamed to ``-delete`` now and removed by a job, as a deleted topic's.
        """
        plog = self.replicas.pop((topic, index), None)
        if plog is None:
            return False
        self._dirty.discard(plog)
        plog.delete()
        self.cleaner_offsets.pop((topic, index), None)
        self.checkpoint()
        return True

    # ---- log directories -------------------------------------------------------------------------

    def dir_of(self, topic: str, index: int) -> Path | None:
        """The log directory holding a partition (None if it has no log here)."""
        plog = self.get(topic, index)
        return None if plog is None else plog.directory.parent

    def partition_offline(self, topic: str, index: int) -> bool:
        """Whether the partition's log directory is offline (answer KAFKA_STORAGE_ERROR)."""
        if not self.offline_dirs:
            return False
        return self.dir_of(topic, index) in self.offline_dirs

    def mark_offline(self, log_dir: Path) -> None:
        """Take a failed directory out of service (Kafka's LogDirFailureChannel); the others go on.

        Its logs stay open so nothing holding them breaks, but no new partition is placed there,
        and retention, cleaning and checkpoints skip it until the broker restarts.
        """
        if log_dir not in self.log_dirs:
            raise ValueError(f"{log_dir} is not one of the log directories {self.log_dirs}")
        if log_dir not in self.offline_dirs:
            log.error("log directory %s is offline", log_dir)
            self.offline_dirs.add(log_dir)

    def io_error(self, plog: PartitionLog, exc: OSError) -> bool:
        """A log's disk access failed: an I/O error (not a full disk, which kafkalite rides out
        and retries) takes its directory offline, as Kafka's LogDirFailureChannel does. Returns
        whether the directory is offline now."""
        log_dir = plog.directory.parent
        if exc.errno == errno.ENOSPC or log_dir not in self.log_dirs:
            return log_dir in self.offline_dirs
        self.mark_offline(log_dir)
        return True

    def _online(self, plog: PartitionLog) -> bool:
        return not self.offline_dirs or plog.directory.parent not in self.offline_dirs

    def _counts(self) -> dict[Path, int]:
        counts = dict.fromkeys(self.log_dirs, 0)
        for _, plog in self.all_logs():
            parent = plog.directory.parent
            if parent in counts:
                counts[parent] += 1
        for planned in self._planned.values():
            if planned in counts:
                counts[planned] += 1
        return counts

    def _place(self, counts: dict[Path, int] | None = None) -> Path:
        """The online directory holding the fewest partitions, the first listed on a tie (Kafka)."""
        online = [d for d in self.log_dirs if d not in self.offline_dirs]
        if not online:
            raise LogDirOffline(f"every log directory is offline: {', '.join(map(str, self.log_dirs))}")
        if len(self.log_dirs) == 1:
            return online[0]
        counts = self._counts() if counts is None else counts
        return min(online, key=lambda d: counts[d])

    def partition_dir(self, topic: str, index: int) -> Path:
        """The directory a partition's log is (or, for a new one, will be) in.

        For a new partition the placement is chosen now and kept, so a caller preparing
        directories ahead (``prepared`` of ``create``) and ``create`` agree.
        """
        plog = self.get(topic, index)
        if plog is not None:
            return plog.directory
        if len(self.log_dirs) == 1:
            return self.log_dirs[0] / f"{topic}-{index}"
        planned = self._planned.get((topic, index))
        if planned is None:
            planned = self._planned[(topic, index)] = self._place()
        return planned / f"{topic}-{index}"

    def describe_dirs(self) -> list[LogDirInfo]:
        """Every log directory with its partitions' sizes and its disk's space (DescribeLogDirs)."""
        infos = {d: LogDirInfo(d, d in self.offline_dirs) for d in self.log_dirs}
        for tp, plog in self.all_logs():
            info = infos.get(plog.directory.parent)
            if info is not None and not info.offline and plog.segments:
                info.partitions[tp] = plog.size_bytes
        for info in infos.values():
            if info.offline:
                continue
            try:
                usage = shutil.disk_usage(info.path)
            except OSError:
                continue
            info.total_bytes, info.usable_bytes = usage.total, usage.free
        return list(infos.values())

    def move(self, topic: str, index: int, target: Path) -> bool:
        """Move a partition's log to another log directory (AlterReplicaLogDirs); False if it is there.

        Kafka's protocol, done at once: the log is closed, copied into
        ``<target>/<topic>-<index>.<uuid>-future`` (files and directory fsynced), the source
        renamed to ``-delete`` (the commit point), the copy renamed into place, and the same
        ``PartitionLog`` object reopened there, so whoever holds it goes on using it. A kill -9
        before the commit leaves the source (the copy is removed at start-up), after it the
        copy (renamed into place at start-up). A failure before the commit (a full disk)
        removes the copy, reopens the source and raises OSError.
        """
        plog = self.get(topic, index)
        if plog is None:
            raise KeyError(f"no log for {topic}-{index}")
        target = Path(target)
        if target not in self.log_dirs:
            raise ValueError(f"{target} is not one of the log directories {self.log_dirs}")
        if target in self.offline_dirs or not self._online(plog):
            raise LogDirOffline(f"cannot move {topic}-{index} to {target}: a log directory is offline")
        source = plog.directory
        if source.parent == target:
            return False
        clean = plog.close()
        future = future_dir_name(target, source.name)
        try:
            self._copy_dir(source, future)
        except OSError:
            shutil.rmtree(future, ignore_errors=True)
            plog.reopen(clean_shutdown=clean)
            raise
        doomed = delete_dir_name(source)
        source.rename(doomed)  # committed
        future.rename(target / source.name)
        fsync_dir(target)
        plog.reopen(target / source.name, clean_shutdown=clean)
        self._dirty.discard(plog)
        self._run(RemoveJob([doomed]))
        self._moved = True
        self.checkpoint()
        log.info("moved %s-%d from %s to %s", topic, index, source.parent, target)
        return True

    def _copy_dir(self, source: Path, future: Path) -> None:
        """Copy a closed partition directory's files through the file system seam, fsynced."""
        future.mkdir()
        fs = self.fs
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            if not entry.is_file() or entry.name.endswith((".tmp", ".deleted", ".cleaned", ".swap")):
                continue
            dst = future / entry.name
            fd = fs.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                with open(entry.path, "rb") as src:
                    while chunk := src.read(1 << 20):
                        write_all(fs, fd, chunk)
                fs.fsync(fd)
            finally:
                fs.close(fd)
        fsync_dir(future)
        fsync_dir(future.parent)

    # ---- creating and deleting -------------------------------------------------------------------

    def create(
        self, topic: str, count: int, config: LogConfig, prepared: Collection[Path] = ()
    ) -> list[PartitionLog]:
        """Open a new topic's logs; ``prepared``: directories just made for them (empty, kept)."""
        self.logs[topic] = []
        try:
            self._grow(topic, count, config, clean_shutdown=True, fresh=True, prepared=prepared)
        except BaseException:
            self.delete_topic(topic)  # what was opened goes (renamed, removed by a job)
            raise
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
        counts = self._counts() if len(self.log_dirs) > 1 and len(plogs) < total else None
        for index in range(len(plogs), total):
            planned = self._planned.pop((topic, index), None)
            if planned is not None and counts is not None:
                counts[planned] -= 1  # counted as planned: it is counted as placed below
            log_dir = planned or self._place(counts)
            if counts is not None:
                counts[log_dir] += 1
            directory = log_dir / f"{topic}-{index}"
            if fresh and directory not in prepared:
                self._retire_stale_dir(directory)
            plog = PartitionLog(
                directory, config, self.now_ms, self.write_behind, self.handles, self._run, self.fs,
                leader_epochs=self.leader_epochs,
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
        if self._planned:
            self._planned = {tp: d for tp, d in self._planned.items() if tp[0] != topic}
        if self.replicas:
            plogs = plogs + [self.replicas.pop(tp) for tp in [tp for tp in self.replicas if tp[0] == topic]]
        for plog in plogs:
            self._dirty.discard(plog)
            plog.delete()
        self.cleaner_offsets = {tp: o for tp, o in self.cleaner_offsets.items() if tp[0] != topic}
        self.checkpoint()

    def _retire_stale_dir(self, directory: Path) -> None:
        """A directory no topic owns (a crash before topics.json was saved): rename it away, remove it later."""
        if directory.exists():
            target = delete_dir_name(directory)
            directory.rename(target)
            self._run(RemoveJob([target]))

    # ---- configs and retention ---------------------------------------------------------------------

    def reconfigure(self, topic: str, config: LogConfig) -> bool:
        """Apply a topic's new log config; stricter retention is enforced at once. True if it was."""
        tightened = False
        hosted = [plog for tp, plog in self.replicas.items() if tp[0] == topic] if self.replicas else []
        for plog in self.logs.get(topic, []) + hosted:
            before, plog.config = plog.config, config
            if plog.segments and _retention_tightened(before, config) and self._online(plog):
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
            if plog.segments and self._online(plog):
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
        """Jobs writing the checkpoints that changed since they were last written (may be none).

        Each log directory has its own files, listing its own partitions (Kafka's layout).
        """
        jobs: list[Job] = []
        starts = self._start_offsets()
        moved, self._moved = self._moved, False  # a partition changed directory: every file is rewritten
        if moved or starts != self._saved_start_offsets or self._failed(LOG_START_OFFSET_CHECKPOINT):
            self._saved_start_offsets = starts
            jobs += self._write(LOG_START_OFFSET_CHECKPOINT, starts)
        if moved or self.cleaner_offsets != self._saved_cleaner_offsets or self._failed(CLEANER_OFFSET_CHECKPOINT):
            self._saved_cleaner_offsets = dict(self.cleaner_offsets)
            jobs += self._write(CLEANER_OFFSET_CHECKPOINT, self.cleaner_offsets)
        return jobs

    def _write(self, name: str, offsets: dict[TopicPartition, int]) -> list[WriteFileJob]:
        by_dir: dict[Path, dict[TopicPartition, int]] = {d: {} for d in self.log_dirs}
        if len(self.log_dirs) == 1:
            by_dir[self.log_dirs[0]] = offsets
        else:
            for tp, offset in offsets.items():
                where = self.dir_of(*tp)
                if where in by_dir:
                    by_dir[where][tp] = offset
        jobs = []
        for log_dir, entries in by_dir.items():
            if log_dir in self.offline_dirs:
                continue
            job = WriteFileJob(log_dir / name, encode_checkpoint(entries), fs=self.fs)
            self._checkpoint_writes[log_dir / name] = job
            jobs.append(job)
        return jobs

    def _failed(self, name: str) -> bool:
        """Whether the last write of a checkpoint failed (a full disk): then it is written again."""
        return any(
            job.failed for path, job in self._checkpoint_writes.items()
            if path.name == name and path.parent not in self.offline_dirs
        )

    def checkpoint(self) -> None:
        """Write changed checkpoints through ``submit`` (jobs keep their order in the worker)."""
        for job in self.checkpoint_jobs():
            self.submit(job)

    # ---- the cleaner ---------------------------------------------------------------------------------

    def pick_cleaning(self, now_ms: int) -> tuple[TopicPartition, PartitionLog, CleanTask] | None:
        """The dirtiest compacted partition that is due, with what to clean (Kafka's LogCleanerManager)."""
        best: tuple[float, TopicPartition, PartitionLog] | None = None
        for tp, plog in self.all_logs():
            if not plog.config.compact or len(plog.segments) < 2 or not self._online(plog):
                continue
            first_dirty = self.cleaner_offsets.get(tp, 0)
            if first_dirty > plog.log_end_offset:  # truncated since (a follower): clean from there
                first_dirty = self.cleaner_offsets[tp] = plog.log_end_offset
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
