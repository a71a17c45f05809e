"""The partition logs of a simulated cluster: one LogManager per node, each holding its replicas only.

With N brokers every node keeps its own copy of the partitions it replicates under
``<data_dir>/node-K/`` (or ``node-K/dir-J/`` with several ``log.dirs``), in a storage
``LogManager`` of its own (``open_replica``/``delete_replica``: a node hosts only some
partitions of a topic; retention, cleaning, checkpoints and DescribeLogDirs cover them).
``ClusterLogs`` is what ``Cluster`` and ``LogTasks`` talk to instead of the single LogManager:
it opens, retains, checkpoints and deletes every node's copies, and answers ``get``/``logs_of``
with the *leader's* log, so handlers read and write the leader's copy unchanged. Which node
hosts which partition and who leads is ``replication.py``'s (the ``state_of`` callback); this
module never decides it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kafkalite.storage.catalog import Catalog
from kafkalite.storage.jobs import FsyncJob, Job, Submit
from kafkalite.storage.log import LogConfig, PartitionLog
from kafkalite.storage.log_manager import LogManager

if TYPE_CHECKING:
    from kafkalite.broker.replication import PartitionState

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]
StateOf = Callable[[str, int], "PartitionState | None"]


def node_log_dirs(data_dir: Path, node_id: int, log_dirs: int) -> list[Path]:
    """A node's log directories: ``node-K`` (one), or ``node-K/dir-J`` for J < ``log_dirs``."""
    root = data_dir / f"node-{node_id}"
    return [root] if log_dirs <= 1 else [root / f"dir-{j}" for j in range(log_dirs)]


class ClusterLogs:
    """Every node's LogManager behind the one interface ``Cluster`` and ``LogTasks`` use.

    ``get``/``logs_of`` answer with the leader's log (the list per topic is updated in place
    when leadership moves, so ``Topic.partitions`` follows it).
    """

    def __init__(
        self, catalog: Catalog, nodes: dict[int, LogManager], state_of: StateOf,
        prepare: Callable[[str, int], None], forget: Callable[[str], None],
    ) -> None:
        self.catalog = catalog
        self.nodes = nodes
        self._state_of = state_of
        self._prepare = prepare  # partition states for new partitions, before any node opens them
        self._forget = forget
        self.leaders: dict[str, list[PartitionLog]] = {}
        self._configs: dict[str, LogConfig] = {}

    def node(self, node_id: int) -> LogManager:
        return self.nodes[node_id]

    def replica(self, node_id: int, topic: str, index: int) -> PartitionLog | None:
        manager = self.nodes.get(node_id)
        return None if manager is None else manager.get(topic, index)

    def host(self, node_id: int, topic: str, index: int) -> PartitionLog:
        """Open (or create) node ``node_id``'s copy of a partition."""
        return self.nodes[node_id].open_replica(topic, index, self._configs[topic])

    def drop(self, node_id: int, topic: str, index: int) -> None:
        """Delete node ``node_id``'s copy (a reassignment removed it)."""
        self.nodes[node_id].delete_replica(topic, index)

    def _open(self, topic: str, indexes: Iterable[int], clean_shutdown: bool = True) -> None:
        config = self._configs[topic]
        for index in indexes:
            state = self._state_of(topic, index)
            for node_id in state.replicas if state is not None else ():
                if node_id in self.nodes:
                    self.nodes[node_id].open_replica(topic, index, config, clean_shutdown)

    # ---- the LogManager interface -------------------------------------------------------------------

    @property
    def fsync_policy(self) -> str:
        return next(iter(self.nodes.values())).fsync_policy

    def attach(self, submit: Submit) -> None:
        for manager in self.nodes.values():
            manager.attach(submit)

    def load(self, topics: Iterable[tuple[str, int, LogConfig]], clean_shutdown: bool) -> None:
        topics = list(topics)
        for manager in self.nodes.values():
            manager.load((), clean_shutdown)
        for name, count, config in topics:
            self._configs[name] = config
            self._prepare(name, count)
            self._open(name, range(count), clean_shutdown)
            self.leaders[name] = []
            self.refresh(name, count=count)
        self.loaded()

    def loaded(self) -> None:
        """Called once every node's logs are open (ReplicaManager sets leader epochs and HWs)."""

    def refresh(self, topic: str, index: int | None = None, count: int | None = None) -> None:
        """Point ``logs_of(topic)`` at the current leaders' logs (after an election or growth)."""
        leaders = self.leaders.setdefault(topic, [])
        if count is not None:
            del leaders[count:]
        for i in range(count if count is not None else len(leaders)) if index is None else [index]:
            plog = self._leader_log(topic, i) or (leaders[i] if i < len(leaders) else None)
            if plog is None:
                continue
            if i < len(leaders):
                leaders[i] = plog
            else:
                leaders.append(plog)

    def _leader_log(self, topic: str, index: int) -> PartitionLog | None:
        state = self._state_of(topic, index)
        if state is None:
            return None
        if state.leader >= 0:
            plog = self.replica(state.leader, topic, index)
            if plog is not None:
                return plog
        for node_id in state.replicas:  # offline: keep showing some replica's log
            found = self.replica(node_id, topic, index)
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

    def partition_dir(self, topic: str, index: int) -> Path:
        """Where the leader's copy is (new partitions: not known before placement)."""
        plog = self.get(topic, index)
        if plog is not None:
            return plog.directory
        return self.catalog.data_dir / f"{topic}-{index}"

    def create(
        self, topic: str, count: int, config: LogConfig, prepared: Collection[Path] = ()
    ) -> list[PartitionLog]:
        self._configs[topic] = config
        self._prepare(topic, count)
        self._open(topic, range(count))
        self.leaders[topic] = []
        self.refresh(topic, count=count)
        return self.leaders[topic]

    def add_partitions(self, topic: str, total: int, config: LogConfig, prepared: Collection[Path] = ()) -> None:
        before = len(self.leaders.get(topic, ()))
        self._prepare(topic, total)
        self._open(topic, range(before, total))
        self.refresh(topic, count=total)

    def remove_partitions(self, topic: str, total: int) -> None:
        for manager in self.nodes.values():
            for (name, index), _ in list(manager.all_logs()):
                if name == topic and index >= total:
                    manager.delete_replica(name, index)
        self.refresh(topic, count=total)

    def delete_topic(self, topic: str) -> None:
        for manager in self.nodes.values():
            manager.delete_topic(topic)
        self.leaders.pop(topic, None)
        self._configs.pop(topic, None)
        self._forget(topic)

    def reconfigure(self, topic: str, config: LogConfig) -> bool:
        self._configs[topic] = config
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
