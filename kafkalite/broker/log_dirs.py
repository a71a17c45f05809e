"""Which log directories a node has and which of its replicas live in each: what the log-dir APIs read.

DescribeLogDirs and AlterReplicaLogDirs answer for the node the request came to. A node's log
dirs are its LogManager's ``log_dirs`` (``log.dirs``, else the data dir for a single broker and
``<data_dir>/node-K`` in a simulated cluster, as replica_logs lays them out). A replica's log
dir is the parent of its partition folder, so any layout the storage layer picks is reported as
it is on disk. Replicas a node hosts are those the replica manager
places on it; their logs come from the node's own copies (``cluster.logs.replica``) when the
cluster keeps one per node, else the single broker's log. Nothing here changes state except
``move``, which hands a replica to its LogManager's ``move`` (a future log, then a swap).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kafkalite.broker.broker import BrokerState
    from kafkalite.storage.log import PartitionLog


def node_logs(state: BrokerState, node_id: int) -> Any:
    """The LogManager holding ``node_id``'s replicas (one per node in a simulated cluster)."""
    logs = state.cluster.logs
    node = getattr(logs, "node", None)
    return node(node_id) if node is not None and state.nodes.count > 1 else logs


def node_log_dirs(state: BrokerState, node_id: int) -> list[Path]:
    """The node's log dirs (its LogManager's), absolute, in configuration order."""
    return [Path(d).resolve() for d in node_logs(state, node_id).log_dirs]


def replica_log(state: BrokerState, node_id: int, topic: str, index: int) -> PartitionLog | None:
    """``node_id``'s copy of the partition, or None if it hosts none."""
    st = state.replicas.state(topic, index)
    if st is None or node_id not in st.replicas:
        return None
    replica = getattr(state.cluster.logs, "replica", None)
    if replica is not None and state.nodes.count > 1:
        found: PartitionLog | None = replica(node_id, topic, index)
        return found
    return state.cluster.partition(topic, index)


def log_dir_of(state: BrokerState, node_id: int, plog: PartitionLog) -> Path:
    """The log dir holding ``plog`` (the parent of its partition folder)."""
    directory = getattr(plog, "directory", None)
    if directory is not None:
        return Path(directory).resolve().parent
    return node_log_dirs(state, node_id)[0]


def hosted(state: BrokerState, node_id: int, wanted: list[tuple[str, list[int] | None]]) -> Iterator[
    tuple[str, int, PartitionLog]
]:
    """(topic, index, log) of each wanted partition the node hosts; ``None`` indexes: all of a topic."""
    for name, indexes in wanted:
        topic = state.cluster.topics.get(name)
        if topic is None:
            continue
        count = len(topic.partitions)
        for index in range(count) if indexes is None else indexes:
            if not 0 <= index < count:
                continue
            plog = replica_log(state, node_id, name, index)
            if plog is not None:
                yield name, index, plog


def offset_lag(plog: PartitionLog) -> int:
    """Kafka's offset lag of a current (not future) replica: its high watermark less its log end, never
    negative. A follower's high watermark is the one its leader gave it, so this is almost always 0;
    a lagging follower shows in the ISR, not here (Kafka's ReplicaManager.getLogEndOffsetLag)."""
    return max(0, plog.high_watermark - plog.log_end_offset)


def offline_dirs(state: BrokerState, node_id: int) -> set[Path]:
    """The node's log dirs taken out of service after an I/O error (KAFKA_STORAGE_ERROR)."""
    return {Path(d).resolve() for d in getattr(node_logs(state, node_id), "offline_dirs", ())}


def move(state: BrokerState, node_id: int, topic: str, index: int, target: Path) -> bool:
    """Move the node's replica to ``target`` (one of its log dirs); False if the storage cannot.

    Raises what the LogManager's ``move`` raises (OSError when the copy fails or a dir is offline).
    """
    logs = node_logs(state, node_id)
    mover = getattr(logs, "move", None)
    own = next((Path(d) for d in getattr(logs, "log_dirs", ()) if Path(d).resolve() == target), None)
    if mover is None or own is None:
        return False
    mover(topic, index, own)
    return True
