"""The partition logs of a simulated cluster: one LogManager per node, each holding its replicas only.

With N brokers every node keeps its own copy of the partitions it replicates under
``<data_dir>/node-K/`` (Kafka's layout of one broker's log dir). ``ClusterLogs`` is what
``Cluster`` and ``LogTasks`` talk to instead of the single LogManager: it opens, retains,
checkpoints and deletes every node's logs, and answers ``get``/``logs_of`` with the *leader's*
log, so handlers read and write the leader's copy unchanged. Which node hosts which partition,
and who leads, is ``replication.py``'s (``hosts``/``leader`` callbacks); this module never
decides it.

``ReplicaLog`` adds what one replica's copy needs beyond the single-broker log: a high watermark
the leader sets (the ISR's minimum log end offset; unset: the log end offset), the leader epoch
stamped into appended batches (``partitionLeaderEpoch`` lies outside the CRC) and a leader epoch
cache persisted as Kafka's ``leader-epoch-checkpoint``, and ``append_replica`` (a follower
writes the leader's batches with their offsets). A diverged follower is rebuilt from the new
leader's log (``NodeLogManager.rebuild``): the truncation Kafka does, by re-copying.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from kafkalite.records.batch import BatchHeader
from kafkalite.storage.catalog import Catalog, atomic_write
from kafkalite.storage.jobs import FsyncJob, Job, Submit
from kafkalite.storage.log import AppendResult, LogConfig, PartitionLog
from kafkalite.storage.log_manager import LogManager
from kafkalite.storage.producer_state import NO_PRODUCER_ID

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
_EPOCH = struct.Struct(">i")
_EPOCH_AT = 12  # partitionLeaderEpoch: after baseOffset (8) and batchLength (4)
UNDEFINED_EPOCH = -1
UNDEFINED_OFFSET = -1


def batch_epoch(data: bytes | bytearray | memoryview, header: BatchHeader) -> int:
    return int(_EPOCH.unpack_from(data, header.position + _EPOCH_AT)[0])


class ReplicaLog(PartitionLog):
    """One replica's copy of a partition on one node (cluster mode only)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hw: int | None = None
        #: Stamped into the batches this replica appends as leader.
        self.leader_epoch = 0
        #: (epoch, start offset) in epoch order: Kafka's LeaderEpochFileCache.
        self.epochs: list[tuple[int, int]] = []
        self.start_offset = 0  # where a fresh (rebuilt) copy starts: the leader's log start offset

    def open(self, clean_shutdown: bool) -> None:
        if self._fresh and self.start_offset:
            self.segments = [self._segment(self.start_offset, self._now_ms())]
            self._start_floor = self.start_offset
        else:
            super().open(clean_shutdown)
        self._load_epochs()

    # ---- the high watermark (set by the leader) --------------------------------------------------

    @property  # type: ignore[override]
    def high_watermark(self) -> int:
        end = self.log_end_offset
        hw = self._hw
        return end if hw is None or hw > end else hw

    @high_watermark.setter
    def high_watermark(self, value: int | None) -> None:
        self._hw = value

    # ---- appends -----------------------------------------------------------------------------------

    def append(self, data: bytearray, headers: list[BatchHeader]) -> AppendResult:
        """As the leader: stamp the current leader epoch, append, note a new epoch's start offset."""
        epoch = self.leader_epoch
        for header in headers:
            _EPOCH.pack_into(data, header.position + _EPOCH_AT, epoch)
        before = self.log_end_offset
        result = super().append(data, headers)
        if self.log_end_offset > before:
            self._note_epoch(epoch, before)
        return result

    def append_replica(self, data: bytearray, headers: list[BatchHeader]) -> None:
        """As a follower: write the leader's batches as they are, at their offsets."""
        self._maybe_roll(len(data), headers[-1].last_offset + 1)
        active = self.active
        active.append(data, headers)
        for header in headers:
            if header.producer_id != NO_PRODUCER_ID:
                self._track_batch(active, header, data if header.is_control else b"")
            self._note_epoch(batch_epoch(data, header), header.base_offset)

    # ---- the leader epoch cache ----------------------------------------------------------------------

    def _note_epoch(self, epoch: int, start: int) -> None:
        if epoch < 0 or (self.epochs and epoch <= self.epochs[-1][0]):
            return
        self.epochs.append((epoch, start))
        self._save_epochs()

    @property
    def latest_epoch(self) -> int:
        return self.epochs[-1][0] if self.epochs else UNDEFINED_EPOCH

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """(epoch, end offset) as Kafka's LeaderEpochFileCache.endOffsetFor answers it."""
        if epoch == UNDEFINED_EPOCH:
            return UNDEFINED_EPOCH, UNDEFINED_OFFSET
        if self.epochs and self.epochs[-1][0] == epoch:
            return epoch, self.log_end_offset
        higher = next((e for e in self.epochs if e[0] > epoch), None)
        if higher is None:
            return UNDEFINED_EPOCH, UNDEFINED_OFFSET
        floor = None
        for entry in self.epochs:
            if entry[0] <= epoch:
                floor = entry
        return (epoch if floor is None else floor[0]), higher[1]

    def _epoch_path(self) -> Path:
        return self.directory / EPOCH_CHECKPOINT

    def _load_epochs(self) -> None:
        try:
            lines = self._epoch_path().read_text().split("\n")
        except FileNotFoundError:
            return
        try:
            count = int(lines[1])
            entries = [tuple(map(int, line.split())) for line in lines[2 : 2 + count]]
        except (IndexError, ValueError):
            log.warning("ignoring a malformed %s in %s", EPOCH_CHECKPOINT, self.directory)
            return
        end = self.log_end_offset
        self.epochs = [(e, o) for e, o in entries if o < end or (o == end and e == entries[-1][0])]

    def _save_epochs(self) -> None:
        body = "".join(f"{e} {o}\n" for e, o in self.epochs)
        try:
            atomic_write(self._epoch_path(), f"0\n{len(self.epochs)}\n{body}".encode(), self._fs)
        except OSError as exc:
            log.warning("could not write %s of %s: %s", EPOCH_CHECKPOINT, self.directory.name, exc)


Hosts = Callable[[int, str, int], bool]


class NodeLogManager(LogManager):
    """One node's logs: ``logs[topic][i]`` is None where this node holds no replica of partition i."""

    def __init__(self, node_id: int, hosts: Hosts, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.node_id = node_id
        self._hosts = hosts

    def _open_log(self, topic: str, index: int, config: LogConfig, clean_shutdown: bool, start: int = 0) -> ReplicaLog:
        plog = ReplicaLog(
            self.catalog.partition_dir(topic, index), config, self.now_ms, self.write_behind, self.handles,
            self._run, self.catalog.fs,
        )
        plog.start_offset = start
        plog.open(clean_shutdown)
        return plog

    def _grow(
        self, topic: str, total: int, config: LogConfig, clean_shutdown: bool, fresh: bool,
        prepared: Collection[Path] = (),
    ) -> None:
        plogs: list[Any] = self.logs[topic]
        for index in range(len(plogs), total):
            if not self._hosts(self.node_id, topic, index):
                plogs.append(None)
                continue
            if fresh:
                self._retire_stale_dir(topic, index)
            plogs.append(self._open_log(topic, index, config, clean_shutdown))

    def host(self, topic: str, index: int, config: LogConfig, start: int = 0) -> ReplicaLog:
        """Open a new (empty) replica here: a reassignment added this node."""
        plogs: list[Any] = self.logs.setdefault(topic, [])
        while len(plogs) <= index:
            plogs.append(None)
        existing = plogs[index]
        if existing is not None:
            return existing  # type: ignore[no-any-return]
        self._retire_stale_dir(topic, index)
        plogs[index] = plog = self._open_log(topic, index, config, True, start)
        return plog

    def drop(self, topic: str, index: int) -> None:
        """Delete this node's replica (a reassignment removed it, or it is rebuilt)."""
        plogs: list[Any] = self.logs.get(topic, [])
        if index < len(plogs) and plogs[index] is not None:
            plog = plogs[index]
            plogs[index] = None
            self._dirty.discard(plog)
            plog.delete()

    def rebuild(self, topic: str, index: int, start: int) -> ReplicaLog:
        """An empty copy from ``start`` in place of a diverged one (Kafka truncates; we re-copy)."""
        plog = self.get(topic, index)
        config = plog.config if plog is not None else None
        self.drop(topic, index)
        assert config is not None
        return self.host(topic, index, config, start)

    def all_logs(self) -> Iterator[tuple[TopicPartition, PartitionLog]]:
        for name, plogs in list(self.logs.items()):
            for index, plog in enumerate(plogs):
                if plog is not None:
                    yield (name, index), plog

    def close(self) -> bool:
        clean = True
        for _, plog in self.all_logs():
            clean = plog.close() and clean
        self._dirty.clear()
        return clean

    def remove_partitions(self, topic: str, total: int) -> None:
        plogs: list[Any] = self.logs[topic]
        while len(plogs) > total:
            plog = plogs.pop()
            if plog is not None:
                self._dirty.discard(plog)
                plog.delete()

    def delete_topic(self, topic: str) -> None:
        plogs = self.logs.pop(topic, [])
        for plog in plogs:
            if plog is not None:
                self._dirty.discard(plog)
                plog.delete()
        self.cleaner_offsets = {tp: o for tp, o in self.cleaner_offsets.items() if tp[0] != topic}
        self.checkpoint()

    def reconfigure(self, topic: str, config: LogConfig) -> bool:
        tightened = False
        saved = self.logs.get(topic)
        if saved is None:
            return False
        self.logs[topic] = [p for p in saved if p is not None]
        try:
            tightened = super().reconfigure(topic, config)
        finally:
            self.logs[topic] = saved
        return tightened


Leader = Callable[[str, int], int]


class ClusterLogs:
    """Every node's LogManager behind the one interface ``Cluster`` and ``LogTasks`` use.

    ``get``/``logs_of`` answer with the leader's log (the list per topic is updated in place
    when leadership moves, so ``Topic.partitions`` follows it).
    """

    def __init__(
        self, catalog: Catalog, nodes: dict[int, NodeLogManager], leader: Leader,
        prepare: Callable[[str, int], None], forget: Callable[[str], None],
    ) -> None:
        self.catalog = catalog
        self.nodes = nodes
        self._leader = leader
        self._prepare = prepare  # partition states for new partitions, before any node opens them
        self._forget = forget
        self.leaders: dict[str, list[PartitionLog]] = {}

    def node(self, node_id: int) -> NodeLogManager:
        return self.nodes[node_id]

    def replica(self, node_id: int, topic: str, index: int) -> ReplicaLog | None:
        manager = self.nodes.get(node_id)
        return None if manager is None else manager.get(topic, index)  # type: ignore[return-value]

    # ---- the LogManager interface -------------------------------------------------------------------

    @property
    def fsync_policy(self) -> str:
        return next(iter(self.nodes.values())).fsync_policy

    def attach(self, submit: Submit) -> None:
        for manager in self.nodes.values():
            manager.attach(submit)

    def load(self, topics: Iterable[tuple[str, int, LogConfig]], clean_shutdown: bool) -> None:
        topics = list(topics)
        for name, count, _ in topics:
            self._prepare(name, count)
        for manager in self.nodes.values():
            manager.load(topics, clean_shutdown)
        for name, _, _ in topics:
            self.leaders[name] = []
            self.refresh(name)

    def refresh(self, topic: str, index: int | None = None) -> None:
        """Point ``logs_of(topic)`` at the current leaders' logs (after an election or growth)."""
        count = max((len(m.logs.get(topic, ())) for m in self.nodes.values()), default=0)
        leaders = self.leaders.setdefault(topic, [])
        del leaders[count:]
        for i in range(count) if index is None else [index]:
            plog = self._leader_log(topic, i) or (leaders[i] if i < len(leaders) else None)
            if plog is None:
                continue
            if i < len(leaders):
                leaders[i] = plog
            else:
                leaders.append(plog)

    def _leader_log(self, topic: str, index: int) -> PartitionLog | None:
        leader = self._leader(topic, index)
        if leader >= 0:
            plog = self.replica(leader, topic, index)
            if plog is not None:
                return plog
        for manager in self.nodes.values():  # offline: keep showing some replica's log
            found = manager.get(topic, index)
            if found is not None:
                return found
        return None

    def close(self) -> bool:
        clean = True
        for manager in self.nodes.values():
            clean = manager.close() and clean
        return clean

    def get(self, topic: str, index: int) -> PartitionLog | None:
        plogs = self.leaders.get(topic)
        if plogs is None or not 0 <= index < len(plogs):
            return None
        return plogs[index]

    def logs_of(self, topic: str) -> list[PartitionLog]:
        return self.leaders[topic]

    def all_logs(self) -> Iterator[tuple[TopicPartition, PartitionLog]]:
        for name, plogs in list(self.leaders.items()):
            for index, plog in enumerate(plogs):
                yield (name, index), plog

    def create(
        self, topic: str, count: int, config: LogConfig, prepared: Collection[Path] = ()
    ) -> list[PartitionLog]:
        self._prepare(topic, count)
        for manager in self.nodes.values():
            manager.create(topic, count, config)
        self.leaders[topic] = []
        self.refresh(topic)
        return self.leaders[topic]

    def add_partitions(self, topic: str, total: int, config: LogConfig, prepared: Collection[Path] = ()) -> None:
        self._prepare(topic, total)
        for manager in self.nodes.values():
            manager.add_partitions(topic, total, config)
        self.refresh(topic)

    def remove_partitions(self, topic: str, total: int) -> None:
        for manager in self.nodes.values():
            manager.remove_partitions(topic, total)
        self.refresh(topic)

    def delete_topic(self, topic: str) -> None:
        for manager in self.nodes.values():
            manager.delete_topic(topic)
        self.leaders.pop(topic, None)
        self._forget(topic)

    def reconfigure(self, topic: str, config: LogConfig) -> bool:
        tightened = False
        for manager in self.nodes.values():
            tightened = manager.reconfigure(topic, config) or tightened
        return tightened

    def retention_pass(self) -> int:
        return sum(manager.retention_pass() for manager in self.nodes.values())

    def appended(self, plog: PartitionLog) -> None:
        for manager in self.nodes.values():
            manager.appended(plog)
            return

    def sync_job(self, plogs: Iterable[PartitionLog]) -> FsyncJob:
        return next(iter(self.nodes.values())).sync_job(plogs)

    def dirty_sync_job(self) -> FsyncJob | None:
        job: FsyncJob | None = None
        for manager in self.nodes.values():
            found = manager.dirty_sync_job()
            if found is None:
                continue
            if job is None:
                job = found
            else:
                job.fds.extend(found.fds)
        return job

    def checkpoint_jobs(self) -> list[Job]:
        return [job for manager in self.nodes.values() for job in manager.checkpoint_jobs()]

    def checkpoint(self) -> None:
        for manager in self.nodes.values():
            manager.checkpoint()

    def pick_cleaning(self, now_ms: int) -> Any:
        for manager in self.nodes.values():
            picked = manager.pick_cleaning(now_ms)
            if picked is not None:
                return picked
        return None

    def finish_cleaning(self, tp: TopicPartition, plog: PartitionLog, result: Any) -> int:
        for manager in self.nodes.values():
            if manager.get(*tp) is plog:
                return manager.finish_cleaning(tp, plog, result)
        return next(iter(self.nodes.values())).finish_cleaning(tp, plog, result)

    @property
    def cleanings(self) -> int:
        return sum(manager.cleanings for manager in self.nodes.values())

    @property
    def cleaner_offsets(self) -> dict[TopicPartition, int]:
        merged: dict[TopicPartition, int] = {}
        for manager in self.nodes.values():
            merged.update(manager.cleaner_offsets)
        return merged

