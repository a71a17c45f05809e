"""Partition leadership and replication: the single owner of replicas, ISR, leaders and epochs.

With one broker every partition has one replica on node ``node.id``, its leader, in epoch 0,
and the high watermark is the log end offset; nothing here costs the single-broker hot path.
With N brokers (``nodes.Nodes``) each replica keeps its own copy on disk (a log per node),
followers copy the leader's batches in the background, the high watermark is the ISR's minimum
log end offset, acks=all waits for the ISR, and a stopped node's leaderships move (clean or
unclean election, advancing the leader epoch) as Kafka's controller moves them.

Handlers never pick a log themselves for a client request: they ask ``leader_problem`` whether
the node the request came in on leads the partition, then read or write ``Cluster.partition``
(the leader's log). Coordinators are placed as Kafka places them: the leader of partition
``abs(java_hash(key)) % 50`` of ``__consumer_offsets`` / ``__transaction_state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from kafkalite.errors import ErrorCode

if TYPE_CHECKING:
    from kafkalite.broker.cluster import Cluster
    from kafkalite.broker.nodes import Nodes

CoordinatorKind = Literal["group", "transaction"]
ElectionKind = Literal["preferred", "unclean"]

#: Kafka's offsets.topic.num.partitions and transaction.state.log.num.partitions defaults.
INTERNAL_PARTITIONS = 50


def java_string_hash(key: str) -> int:
    """Java's String.hashCode (UTF-16 code units), as Kafka hashes a group or transactional id."""
    h = 0
    data = key.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def internal_partition(key: str) -> int:
    """Kafka's Utils.abs(key.hashCode) % 50 (Utils.abs maps MIN_VALUE to 0)."""
    h = java_string_hash(key)
    return (0 if h == -(1 << 31) else abs(h)) % INTERNAL_PARTITIONS


@dataclass
class PartitionState:
    """What the controller knows of one partition (Kafka's PartitionRegistration)."""

    replicas: list[int]
    isr: list[int]
    leader: int  # -1: offline (no live replica may lead)
    leader_epoch: int = 0
    partition_epoch: int = 0
    #: An ongoing reassignment (AlterPartitionReassignments): replicas joining and leaving.
    adding_replicas: list[int] = field(default_factory=list)
    removing_replicas: list[int] = field(default_factory=list)

    def offline_replicas(self, nodes: Nodes) -> list[int]:
        return [r for r in self.replicas if not nodes.is_alive(r)]


class ReplicaManager:
    """Leaders, replicas and ISR of every partition, and the replication between node logs.

    This single-broker version is the contract the cluster work fills in; its answers are what
    a one-node Kafka gives.
    """

    def __init__(self, nodes: Nodes, cluster: Cluster) -> None:
        self.nodes = nodes
        self.cluster = cluster
        #: A simulated cluster's replica lists, as CreateTopics / CreatePartitions assigned them.
        #: (A placeholder until the replication work: leader = first live replica, ISR = live ones.)
        self._assigned: dict[tuple[str, int], list[int]] = {}

    # ---- what handlers read --------------------------------------------------------------------

    def state(self, topic: str, index: int) -> PartitionState | None:
        """The partition's state, or None if the partition does not exist."""
        if self.cluster.partition(topic, index) is None:
            return None
        if not self.nodes.multi:
            node = self.nodes.ids[0]
            return PartitionState(replicas=[node], isr=[node], leader=node)
        replicas = self._assigned.get((topic, index))
        if replicas is None:  # created without CreateTopics (auto-created, loaded from disk)
            factor = min(max(self.cluster.config.default_replication_factor, 1), self.nodes.count)
            replicas = self._assigned[(topic, index)] = self.place(1, factor, index)[0]
        alive = [r for r in replicas if self.nodes.is_alive(r)]
        return PartitionState(replicas=list(replicas), isr=alive, leader=alive[0] if alive else -1)

    def leader_problem(self, topic: str, index: int, node_id: int) -> ErrorCode:
        """NONE if ``node_id`` leads the partition now; else the error a client request gets.

        UNKNOWN_TOPIC_OR_PARTITION (no such partition), LEADER_NOT_AVAILABLE (offline: no leader),
        NOT_LEADER_OR_FOLLOWER (another node leads it).
        """
        state = self.state(topic, index)
        if state is None:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        if state.leader < 0:
            return ErrorCode.LEADER_NOT_AVAILABLE
        return ErrorCode.NONE if state.leader == node_id else ErrorCode.NOT_LEADER_OR_FOLLOWER

    def min_isr_problem(self, topic: str, index: int) -> ErrorCode:
        """NOT_ENOUGH_REPLICAS when an acks=all produce must be refused before the append."""
        return ErrorCode.NONE

    async def wait_replicated(self, topic: str, index: int, end_offset: int, timeout_ms: int) -> ErrorCode:
        """acks=all: wait until the high watermark reaches ``end_offset`` (the batch's last offset + 1).

        NONE once replicated; NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
        min.insync.replicas meanwhile; REQUEST_TIMED_OUT after ``timeout_ms``;
        NOT_LEADER_OR_FOLLOWER if leadership moved (the batch may be truncated).
        """
        return ErrorCode.NONE

    def coordinator_node(self, kind: CoordinatorKind, key: str) -> int:
        """The node coordinating a group or transactional id; -1 while none is available."""
        alive = self.nodes.alive_ids()
        return alive[0] if alive else -1

    def coordinator_problem(self, kind: CoordinatorKind, key: str, node_id: int) -> ErrorCode:
        """NONE if ``node_id`` coordinates ``key``; NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE."""
        node = self.coordinator_node(kind, key)
        if node < 0:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        return ErrorCode.NONE if node == node_id else ErrorCode.NOT_COORDINATOR

    # ---- what admin APIs and faults change -------------------------------------------------------

    def place(self, partitions: int, replication_factor: int, first_index: int = 0) -> list[list[int]]:
        """Replica lists for new partitions, as Kafka's placer makes them (TopicError when impossible)."""
        if not self.nodes.multi:
            return [[self.nodes.ids[0]] for _ in range(partitions)]
        ids = self.nodes.alive_ids() or self.nodes.ids
        return [
            [ids[(first_index + i + j) % len(ids)] for j in range(replication_factor)] for i in range(partitions)
        ]

    def assign(self, topic: str, first_index: int, replicas: list[list[int]]) -> None:
        """Record the replica lists of new partitions ``first_index``.. of ``topic`` (CreateTopics,
        CreatePartitions, after the partitions are created). A single broker records nothing."""
        if not self.nodes.multi:
            return
        for offset, replica_list in enumerate(replicas):
            self._assigned[(topic, first_index + offset)] = list(replica_list)

    def forget(self, topic: str) -> None:
        """A deleted topic's partitions."""
        for key in [k for k in self._assigned if k[0] == topic]:
            del self._assigned[key]

    def elect(self, topic: str, index: int, kind: ElectionKind) -> tuple[ErrorCode, str | None]:
        """ElectLeaders for one partition: (error, message) as Kafka answers it."""
        return ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."

    def reassign(self, topic: str, index: int, replicas: list[int] | None) -> tuple[ErrorCode, str | None]:
        """Start (or with None cancel) a reassignment: (error, message) as Kafka answers it."""
        return ErrorCode.NONE, None

    def move_coordinator(self, kind: CoordinatorKind, key: str, node_id: int | None = None) -> int:
        """Move the coordinator of ``key`` to another live node (a fault); returns the new node."""
        return self.coordinator_node(kind, key)
