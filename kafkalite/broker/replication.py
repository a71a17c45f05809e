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

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kafkalite.broker.cluster import TopicError
from kafkalite.errors import ErrorCode

if TYPE_CHECKING:
    from kafkalite.broker.cluster import Cluster
    from kafkalite.broker.nodes import Nodes
    from kafkalite.broker.replica_logs import ClusterLogs

log = logging.getLogger(__name__)

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

    def to_record(self, topic: str, index: int) -> dict[str, Any]:
        return {
            "type": "partition", "topic": topic, "index": index, "replicas": self.replicas, "isr": self.isr,
            "leader": self.leader, "leader_epoch": self.leader_epoch, "partition_epoch": self.partition_epoch,
            "adding": self.adding_replicas, "removing": self.removing_replicas,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PartitionState:
        return cls(
            list(record["replicas"]), list(record["isr"]), record["leader"], record["leader_epoch"],
            record["partition_epoch"], list(record.get("adding", [])), list(record.get("removing", [])),
        )

    def copy(self) -> PartitionState:
        return PartitionState(
            list(self.replicas), list(self.isr), self.leader, self.leader_epoch, self.partition_epoch,
            list(self.adding_replicas), list(self.removing_replicas),
        )


#: The virtual partitions coordinators live on (their data is the shared coordinator state).
INTERNAL_TOPICS: dict[str, str] = {"group": "__consumer_offsets", "transaction": "__transaction_state"}
TopicPartition = tuple[str, int]
#: Kafka's defaults: ISR shrink after this lag, and the preferred-leader rebalance.
REPLICA_LAG_TIME_MAX_MS = 30_000
LEADER_IMBALANCE_CHECK_INTERVAL_S = 300
LEADER_IMBALANCE_PER_BROKER_PERCENTAGE = 10
_COPY_BYTES = 1 << 20


class PlacementError(TopicError):
    """Replicas cannot be placed (Kafka's InvalidReplicationFactorException): INVALID_REPLICATION_FACTOR."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_REPLICATION_FACTOR, message)


class _BrokerList:
    """One rack's brokers, iterated from a moving offset per placement round (Kafka's BrokerList)."""

    def __init__(self, brokers: list[int], rng: random.Random, previous: int | None = None) -> None:
        self.brokers = sorted(brokers)
        self.index = 0
        self.epoch = 0
        if not self.brokers:
            self.offset = 0
        elif previous is not None:
            self.offset = (previous + 1) % len(self.brokers)
        else:
            self.offset = rng.randrange(len(self.brokers))

    def next(self, epoch: int) -> int:
        if not self.brokers:
            return -1
        if epoch != self.epoch:
            self.epoch, self.index = epoch, 0
            self.offset = (self.offset + 1) % len(self.brokers)
        if self.index >= len(self.brokers):
            return -1
        broker = self.brokers[(self.index + self.offset) % len(self.brokers)]
        self.index += 1
        return broker


def striped_placement(
    brokers: list[tuple[int, str | None, bool]], partitions: int, replication_factor: int,
    rng: random.Random, existing: list[list[int]] | None = None,
) -> list[list[int]]:
    """Kafka's StripedReplicaPlacer: leaders striped over racks and brokers, followers on other racks.

    ``brokers``: (id, rack, fenced). A fenced (stopped) broker may hold a follower but never
    the first replica. ``existing``: the topic's current assignments (CreatePartitions goes on
    from where they left off).
    """
    if replication_factor <= 0:
        raise PlacementError(
            f"Invalid replication factor {replication_factor}: the replication factor must be positive."
        )
    unfenced_count = sum(1 for _, _, fenced in brokers if not fenced)
    if unfenced_count == 0:
        raise PlacementError("All brokers are currently fenced.")
    if replication_factor > len(brokers):
        raise PlacementError(
            f"The target replication factor of {replication_factor} cannot be reached because only "
            f"{len(brokers)} broker(s) are registered."
        )
    rack_of = {b: rack for b, rack, _ in brokers}
    racks: dict[str | None, tuple[list[int], list[int]]] = {}
    for broker, rack, fenced in brokers:
        racks.setdefault(rack, ([], []))[1 if fenced else 0].append(broker)
    names = sorted(racks, key=lambda r: (r is not None, r or ""))
    existing = existing or []
    lists: dict[str | None, tuple[_BrokerList, _BrokerList]] = {}
    for name, (unfenced, fenced) in racks.items():
        previous = None
        for assignment in reversed(existing):
            hit = next((b for b in assignment if rack_of.get(b, "\0") == name), None)
            if hit is not None:
                ordered = sorted(unfenced)
                previous = ordered.index(hit) if hit in ordered else None
                break
        lists[name] = (_BrokerList(unfenced, rng, previous), _BrokerList(fenced, rng))
    if existing and existing[-1] and existing[-1][0] in rack_of and rack_of[existing[-1][0]] in names:
        offset = (names.index(rack_of[existing[-1][0]]) + 1) % len(names)
    else:
        offset = rng.randrange(len(names))
    epoch = 0
    result: list[list[int]] = []
    for _ in range(partitions):
        if epoch == unfenced_count and unfenced_count > 1:
            rng.shuffle(names)
            for unfenced_list, fenced_list in lists.values():
                rng.shuffle(unfenced_list.brokers)
                rng.shuffle(fenced_list.brokers)
            epoch = 0
        if offset == len(names):
            offset = 0
        first = offset
        chosen: list[int] = []
        while True:
            pick = lists[names[first]][0].next(epoch)
            if pick >= 0:
                chosen.append(pick)
                break
            first = (first + 1) % len(names)
        rack_index = offset
        for _ in range(1, replication_factor):
            pick = -1
            while pick < 0:
                if rack_index == first:
                    first = -1
                else:
                    unfenced_list, fenced_list = lists[names[rack_index]]
                    pick = unfenced_list.next(epoch)
                    if pick < 0:
                        pick = fenced_list.next(epoch)
                rack_index = (rack_index + 1) % len(names)
            chosen.append(pick)
        epoch += 1
        offset += 1
        result.append(chosen)
    return result


class ReplicaManager:
    """Leaders, replicas and ISR of every partition, and the replication between node logs.

    With one node (``clustered`` False) the answers are a one-node Kafka's and nothing is kept.
    With N nodes the partition states live in ``partitions.log`` at the data dir's root (records,
    then replay: every change is a record applied by ``_apply``, the path loading takes too),
    each node's copies in its own LogManager (``replica_logs.ClusterLogs``, which ``Cluster``
    uses as its log manager), and followers copy the leader's new batches on the loop right
    after each append.
    """

    def __init__(self, nodes: Nodes, cluster: Cluster) -> None:
        self.nodes = nodes
        self.cluster = cluster
        self.clustered = nodes.count > 1
        #: Wakes fetchers parked on a partition (BrokerState points it at its AppendNotifier).
        self.notify: Callable[[TopicPartition], None] = lambda key: None
        if not self.clustered:
            return
        from kafkalite.broker.replica_logs import ClusterLogs, node_log_dirs
        from kafkalite.storage.log_manager import LogManager
        from kafkalite.storage.metadata_log import MetadataLog

        config = cluster.config
        base = cluster.logs
        catalog = base.catalog
        self._rng = random.Random()
        self._states: dict[TopicPartition, PartitionState] = {}
        self._pending: dict[str, dict[int, list[int]]] = {}
        self._waiters: dict[TopicPartition, list[tuple[int, asyncio.Future[ErrorCode]]]] = {}
        self._scheduled: set[TopicPartition] = set()
        self._caught_up: dict[tuple[TopicPartition, int], int] = {}
        self._paused_since: dict[int, int] = {}
        self.lag_time_max_ms = int(config.get("replica.lag.time.max.ms") or REPLICA_LAG_TIME_MAX_MS)
        self.auto_rebalance = _truthy(config.get("auto.leader.rebalance.enable"), True)
        self.imbalance_interval_ms = 1000 * int(
            config.get("leader.imbalance.check.interval.seconds") or LEADER_IMBALANCE_CHECK_INTERVAL_S
        )
        self.imbalance_percentage = int(
            config.get("leader.imbalance.per.broker.percentage") or LEADER_IMBALANCE_PER_BROKER_PERCENTAGE
        )
        now = cluster.clock.now_ms()
        self._next_lag_check = now
        self._next_rebalance = now + self.imbalance_interval_ms
        dirs = len(config.log_dirs)
        managers = {
            node_id: LogManager(
                catalog, base.now_ms, base.fsync_policy, base.write_behind, base.handles,
                log_dirs=node_log_dirs(catalog.data_dir, node_id, dirs), leader_epochs=True,
            )
            for node_id in nodes.ids
        }
        self.logs: ClusterLogs = ClusterLogs(catalog, managers, self._states_get, self._prepare, self._forget)
        cluster.logs = self.logs  # type: ignore[assignment]
        self.logs.loaded = self._loaded  # type: ignore[method-assign]
        self.log = MetadataLog(catalog.data_dir / "partitions.log", fs=catalog.fs)
        for record in self.log.replay():
            self._apply(record)
        self.log.open()
        for kind in INTERNAL_TOPICS:
            self._place_internal(kind)
        nodes.watch(self._on_node_event)

    # ---- records, then replay -------------------------------------------------------------------

    def _apply(self, record: dict[str, Any]) -> None:
        if record["type"] == "partition":
            self._states[(record["topic"], record["index"])] = PartitionState.from_record(record)
        elif record["type"] == "topic_deleted":
            topic = record["topic"]
            for key in [k for k in self._states if k[0] == topic]:
                del self._states[key]

    def _commit(self, records: list[dict[str, Any]]) -> None:
        """Persist controller changes, then apply them (a failed write is logged: the cluster goes on)."""
        if not records:
            return
        try:
            self.log.append_durably(records, self.cluster.config.fsync == "always")
        except OSError as exc:
            log.warning("could not persist partition states (%s): kept in memory", exc)
        for record in records:
            self._apply(record)
        self.log.compact_quietly(self.snapshot)

    def close(self) -> None:
        """At shutdown: close partitions.log (the logs themselves are the LogManagers')."""
        if self.clustered:
            self.log.close()

    def snapshot(self) -> list[dict[str, Any]]:
        return [st.to_record(t, i) for (t, i), st in sorted(self._states.items())]

    def _change(self, key: TopicPartition, new: PartitionState) -> None:
        """Record ``new`` as the partition's state (partition epoch advanced), then react to it."""
        old = self._states.get(key)
        new.partition_epoch = (old.partition_epoch + 1) if old is not None else 0
        self._commit([new.to_record(*key)])
        if key[0] in _INTERNAL_NAMES:
            return
        if old is None or old.leader != new.leader:
            self._leadership_moved(key, old, new)
        self._update_hw(key)

    # ---- what handlers read --------------------------------------------------------------------

    def state(self, topic: str, index: int) -> PartitionState | None:
        """The partition's state, or None if the partition does not exist."""
        if self.clustered:
            if self.cluster.partition(topic, index) is None:
                return None
            return self._states.get((topic, index))
        if self.cluster.partition(topic, index) is None:
            return None
        node = self.nodes.ids[0]
        return PartitionState(replicas=[node], isr=[node], leader=node)

    def leader_problem(self, topic: str, index: int, node_id: int) -> ErrorCode:
        """NONE if ``node_id`` leads the partition now; else the error a client request gets.

        UNKNOWN_TOPIC_OR_PARTITION (no such partition), NOT_LEADER_OR_FOLLOWER (another node leads it, or none
        does: Kafka's broker answers a partition it does not lead so whether or not it has a leader, as a 3-node
        Kafka 4.4 does for Produce with the only replica stopped; only Metadata says LEADER_NOT_AVAILABLE).
        """
        state = self.state(topic, index)
        if state is None:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return ErrorCode.NONE if state.leader == node_id >= 0 else ErrorCode.NOT_LEADER_OR_FOLLOWER

    def min_insync_replicas(self, topic: str) -> int:
        t = self.cluster.topics.get(topic)
        if t is None:
            return 1
        return int(self.cluster.topic_config(t, "min.insync.replicas"))

    def min_isr_problem(self, topic: str, index: int) -> ErrorCode:
        """NOT_ENOUGH_REPLICAS when an acks=all produce must be refused before the append."""
        if not self.clustered:
            return ErrorCode.NONE
        st = self._states.get((topic, index))
        if st is None or len(st.isr) >= self.min_insync_replicas(topic):
            return ErrorCode.NONE
        return ErrorCode.NOT_ENOUGH_REPLICAS

    async def wait_replicated(self, topic: str, index: int, end_offset: int, timeout_ms: int) -> ErrorCode:
        """acks=all: wait until the high watermark reaches ``end_offset`` (the batch's last offset + 1).

        NONE once replicated; NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
        min.insync.replicas meanwhile; REQUEST_TIMED_OUT after ``timeout_ms``;
        NOT_LEADER_OR_FOLLOWER if leadership moved (the batch may be truncated).
        """
        if not self.clustered:
            return ErrorCode.NONE
        key = (topic, index)
        leader_log = self.cluster.partition(topic, index)
        if leader_log is not None:
            # The leader's bytes reach its disk before followers copy them, as in Kafka: a write the
            # disk refuses (full, I/O error) drops the batch here, and the answer says so at once.
            leader_log.write_pending()
        self._replicate(key)  # followers copy now (the scheduled round then finds nothing to do)
        done = self._replicated(key, end_offset)
        if done is not None:
            return done
        future: asyncio.Future[ErrorCode] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append((end_offset, future))
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(timeout_ms, 0) / 1000)
        except TimeoutError:
            return ErrorCode.REQUEST_TIMED_OUT
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                self._waiters[key] = [w for w in waiters if w[1] is not future]

    def _replicated(self, key: TopicPartition, end_offset: int) -> ErrorCode | None:
        st = self._states.get(key)
        plog = self.cluster.partition(*key)
        if st is None or plog is None:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        if plog.log_end_offset < end_offset:  # the leader's write failed: the batch was dropped
            return ErrorCode.KAFKA_STORAGE_ERROR
        if plog.high_watermark < end_offset:
            return None
        if len(st.isr) < self.min_insync_replicas(key[0]):
            return ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
        return ErrorCode.NONE

    def coordinator_node(self, kind: CoordinatorKind, key: str) -> int:
        """The node coordinating a group or transactional id; -1 while none is available."""
        if not self.clustered:
            alive = self.nodes.alive_ids()
            return alive[0] if alive else -1
        st = self._states.get((INTERNAL_TOPICS[kind], internal_partition(key)))
        return -1 if st is None else st.leader

    def coordinator_problem(self, kind: CoordinatorKind, key: str, node_id: int) -> ErrorCode:
        """NONE if ``node_id`` coordinates ``key``; NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE."""
        node = self.coordinator_node(kind, key)
        if node < 0:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        return ErrorCode.NONE if node == node_id else ErrorCode.NOT_COORDINATOR

    # ---- what admin APIs and faults change -------------------------------------------------------

    def place(
        self, partitions: int, replication_factor: int, first_index: int = 0, topic: str | None = None
    ) -> list[list[int]]:
        """Replica lists for new partitions, as Kafka's placer makes them (PlacementError when impossible).

        ``topic``: an existing topic grown by CreatePartitions (placement goes on from its partitions).
        """
        if not self.clustered:
            if replication_factor > 1:
                raise PlacementError(
                    f"The target replication factor of {replication_factor} cannot be reached because only "
                    "1 broker(s) are registered."
                )
            return [[self.nodes.ids[0]] for _ in range(partitions)]
        brokers = [(n.node_id, n.rack, not n.alive) for n in self.nodes.all()]
        existing = None
        if topic is not None:
            existing = [st.replicas for (t, _), st in sorted(self._states.items()) if t == topic]
        return striped_placement(brokers, partitions, replication_factor, self._rng, existing)

    def assign(self, topic: str, first_index: int, replicas: list[list[int]]) -> None:
        """The replica lists of the next partitions ``first_index``.. of ``topic`` to be created.

        CreateTopics and CreatePartitions call it (with ``place()``'s answer or the request's
        manual assignment) just *before* ``cluster.create_topic``/``add_partitions``, which open
        each replica's log on its node; partitions created without it (auto-created topics) are
        placed with ``default.replication.factor``. A single broker records nothing.
        """
        if self.clustered:
            self._pending.setdefault(topic, {}).update(
                {first_index + i: list(replica_list) for i, replica_list in enumerate(replicas)}
            )

    def forget(self, topic: str) -> None:
        """A deleted topic's partitions (already forgotten when its logs were deleted: kept for callers)."""

    def elect(self, topic: str, index: int, kind: ElectionKind) -> tuple[ErrorCode, str | None]:
        """ElectLeaders for one partition: (error, message) as Kafka answers it."""
        if not self.clustered:
            return ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."
        key = (topic, index)
        st = self._states.get(key)
        if st is None or self.cluster.partition(topic, index) is None:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."
        if kind == "preferred":
            preferred = st.replicas[0]
            if st.leader == preferred:
                return ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."
            if not self.nodes.is_alive(preferred) or preferred not in st.isr:
                return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, "The preferred leader was not available."
            new = st.copy()
            new.leader, new.leader_epoch = preferred, st.leader_epoch + 1
            self._change(key, new)
            return ErrorCode.NONE, None
        if st.leader >= 0:
            return ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."
        candidate = next((r for r in st.replicas if self.nodes.is_alive(r)), None)
        if candidate is None:
            return ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, "Eligible topic partition leaders are not available."
        new = st.copy()
        new.leader, new.leader_epoch, new.isr = candidate, st.leader_epoch + 1, [candidate]
        self._change(key, new)
        return ErrorCode.NONE, None

    def reassign(self, topic: str, index: int, replicas: list[int] | None) -> tuple[ErrorCode, str | None]:
        """Start (or with None cancel) a reassignment: (error, message) as Kafka answers it."""
        if not self.clustered:
            if replicas is None:
                return ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No reassignment is in progress for this partition."
            if replicas != self.nodes.ids[:1]:
                return ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The replica assignment names unknown brokers."
            return ErrorCode.NONE, None
        key = (topic, index)
        st = self._states.get(key)
        if st is None or self.cluster.partition(topic, index) is None:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."
        if replicas is None:
            if not st.adding_replicas and not st.removing_replicas:
                return ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No reassignment is in progress for this partition."
            original = [r for r in st.replicas if r not in st.adding_replicas]
            self._finish_reassignment(key, st, original)
            return ErrorCode.NONE, None
        if not replicas:
            message = "The manual partition assignment includes an empty replica list."
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, message
        if len(set(replicas)) != len(replicas):
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes duplicate replicas."
        unknown = [r for r in replicas if r not in self.nodes.ids]
        if unknown:
            return (
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"The manual partition assignment includes broker {unknown[0]}, but no such broker is registered.",
            )
        original = [r for r in st.replicas if r not in st.adding_replicas] if st.adding_replicas else st.replicas
        adding = [r for r in replicas if r not in original]
        removing = [r for r in original if r not in replicas]
        new = st.copy()
        new.replicas = list(replicas) + removing
        new.adding_replicas, new.removing_replicas = adding, removing
        new.isr = [r for r in st.isr if r in new.replicas]
        if not adding:
            self._finish_reassignment(key, new, list(replicas))
            return ErrorCode.NONE, None
        self._change(key, new)
        config = self.cluster.partition(topic, index)
        assert config is not None
        for r in adding:
            self.logs.host(r, topic, index)
        self._schedule(key)
        return ErrorCode.NONE, None

    def reassignments(self) -> dict[TopicPartition, PartitionState]:
        """Partitions with a reassignment going on (ListPartitionReassignments)."""
        if not self.clustered:
            return {}
        return {
            k: st for k, st in self._states.items()
            if (st.adding_replicas or st.removing_replicas) and k[0] not in _INTERNAL_NAMES
        }

    def _finish_reassignment(self, key: TopicPartition, st: PartitionState, target: list[int]) -> None:
        """The replicas become ``target``: the others leave (their copies go), leadership follows."""
        gone = [r for r in st.replicas if r not in target]
        new = st.copy()
        new.replicas = list(target)
        new.adding_replicas, new.removing_replicas = [], []
        new.isr = [r for r in st.isr if r in target] or [r for r in target if self.nodes.is_alive(r)][:1]
        if new.leader not in target or new.leader not in new.isr:
            candidate = next((r for r in target if r in new.isr and self.nodes.is_alive(r)), -1)
            new.leader, new.leader_epoch = candidate, st.leader_epoch + 1
        elif gone:  # Kafka bumps the leader epoch whenever replicas leave (PartitionChangeBuilder), to fence them
            new.leader_epoch = st.leader_epoch + 1
        self._change(key, new)
        for r in gone:
            self.logs.drop(r, *key)

    def move_coordinator(self, kind: CoordinatorKind, key: str, node_id: int | None = None) -> int:
        """Move the coordinator of ``key`` to another live node (a fault); returns the new node."""
        if not self.clustered:
            return self.coordinator_node(kind, key)
        tp = (INTERNAL_TOPICS[kind], internal_partition(key))
        st = self._states[tp]
        if node_id is not None:
            self.nodes.get(node_id)  # UnknownNode for an id this cluster lacks
            target = node_id
        else:
            others = [r for r in st.replicas if r != st.leader and self.nodes.is_alive(r)]
            others = others or [n for n in self.nodes.alive_ids() if n != st.leader]
            if not others:
                return st.leader
            target = others[0]
        new = st.copy()
        if target not in new.replicas:
            new.replicas.append(target)
        if target not in new.isr:
            new.isr.append(target)
        if new.leader != target:
            new.leader, new.leader_epoch = target, st.leader_epoch + 1
        self._change(tp, new)
        return target

    # ---- placement of new partitions and internal topics -------------------------------------------

    def _prepare(self, topic: str, total: int) -> None:
        """States for the partitions of ``topic`` below ``total`` that have none yet (before logs open)."""
        pending = self._pending.pop(topic, {})
        missing = [i for i in range(total) if (topic, i) not in self._states]
        if not missing:
            return
        unassigned = [i for i in missing if i not in pending]
        if unassigned:
            rf = min(max(1, int(self.cluster.config.get("default.replication.factor") or 1)), self.nodes.count)
            placed = self.place(len(unassigned), rf, topic=topic)
            pending.update(zip(unassigned, placed, strict=True))
        records = []
        for i in missing:
            replicas = pending[i]
            alive = [r for r in replicas if self.nodes.is_alive(r)]
            leader = alive[0] if alive else -1
            isr = alive or replicas[:1]
            records.append(PartitionState(list(replicas), isr, leader).to_record(topic, i))
        self._commit(records)

    def _forget(self, topic: str) -> None:
        self._commit([{"type": "topic_deleted", "topic": topic}])
        self._pending.pop(topic, None)

    def _place_internal(self, kind: CoordinatorKind) -> None:
        """The coordinators' virtual partitions: RF min(3, N), placed once and kept (as Kafka keeps them)."""
        name = INTERNAL_TOPICS[kind]
        if (name, 0) in self._states:
            return
        rf = min(3, self.nodes.count)
        placed = striped_placement(
            [(n.node_id, n.rack, False) for n in self.nodes.all()], INTERNAL_PARTITIONS, rf,
            random.Random(name),
        )
        self._commit([PartitionState(r, list(r), r[0]).to_record(name, i) for i, r in enumerate(placed)])

    def _loaded(self) -> None:
        """After a (re)start: leaders stamp their epoch again, high watermarks are recomputed."""
        for key in sorted(self._states):
            st = self._states[key]
            if st.leader < 0:  # offline when the cluster stopped: a live ISR member leads again
                for r in st.isr:
                    if self.nodes.is_alive(r):
                        self._unfence(key, r)
                        break
                continue
            if key[0] in _INTERNAL_NAMES:
                continue
            leader_log: Any = self.logs.replica(st.leader, *key)
            if leader_log is not None:
                if leader_log.leader_epoch != st.leader_epoch:
                    leader_log.become_leader(st.leader_epoch)
                self._update_hw(key)
                if len(st.isr) < len(st.replicas):
                    self._schedule(key)  # followers out of the ISR catch up

    def _states_get(self, topic: str, index: int) -> PartitionState | None:
        return self._states.get((topic, index))

    # ---- replication -----------------------------------------------------------------------------

    def appended(self, topic: str, index: int) -> None:
        """The leader's log of this partition grew: followers copy it soon (on the loop)."""
        self._schedule((topic, index))

    def _schedule(self, key: TopicPartition) -> None:
        if key in self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (tools, unit tests): at once
            self._replicate(key)
            return
        self._scheduled.add(key)
        loop.call_soon(self._run_scheduled, key)

    def _run_scheduled(self, key: TopicPartition) -> None:
        self._scheduled.discard(key)
        try:
            self._replicate(key)
        except Exception:
            log.exception("replicating %s-%d failed", *key)

    def _replicate(self, key: TopicPartition) -> None:
        """Every live, unpaused follower copies what it lacks; the ISR and high watermark follow."""
        st = self._states.get(key)
        if st is None or st.leader < 0:
            return
        leader_log = self.logs.replica(st.leader, *key)
        if leader_log is None:
            return
        now = self.cluster.clock.now_ms()
        joined: list[int] = []
        for r in st.replicas:
            if r == st.leader:
                continue
            node = self.nodes.get(r)
            if not node.alive or node.replication_paused:
                continue
            flog = self._copy(r, key, leader_log)
            if flog is None:
                continue
            if flog.log_end_offset >= leader_log.log_end_offset:
                self._caught_up[(key, r)] = now
            if r not in st.isr and flog.log_end_offset >= max(leader_log.high_watermark, self._epoch_start(leader_log)):
                joined.append(r)
        if joined:
            new = st.copy()
            new.isr = st.isr + joined
            self._change(key, new)
            st = self._states[key]
            if st.adding_replicas and all(r in st.isr for r in st.adding_replicas):
                self._finish_reassignment(key, st, [r for r in st.replicas if r not in st.removing_replicas])
        else:
            self._update_hw(key)

    @staticmethod
    def _epoch_start(plog: Any) -> int:
        """Where the leader's current epoch starts (a follower joins the ISR only past it)."""
        entry = plog.epoch_cache.latest_entry() if plog.epoch_cache is not None else None
        return int(entry.start_offset) if entry is not None else 0

    def _copy(self, node_id: int, key: TopicPartition, leader_log: Any) -> Any:
        """Copy the leader's batches from this follower's log end offset; returns the follower's log."""
        from kafkalite.storage.log import OffsetOutOfRange

        flog: Any = self.logs.replica(node_id, *key)
        if flog is None:
            flog = self.logs.host(node_id, *key)
        while flog.log_end_offset < leader_log.log_end_offset:
            try:
                data = leader_log.read(flog.log_end_offset, _COPY_BYTES)
            except OffsetOutOfRange:  # retention removed what it lacks: start over at the leader's start
                flog.truncate_fully_and_start_at(leader_log.log_start_offset)
                continue
            if not data:
                break
            before = flog.log_end_offset
            try:
                flog.append_replica(data)
            except OSError as exc:  # the follower's disk refused it: it falls behind (and out of the ISR)
                log.warning("node %d could not copy %s-%d: %s", node_id, *key, exc)
                break
            if flog.log_end_offset <= before:
                break
            self.logs.node(node_id).appended(flog)
        flog.set_high_watermark(min(leader_log.high_watermark, flog.log_end_offset))
        if leader_log.log_start_offset > flog.log_start_offset:  # DeleteRecords reaches followers too
            with contextlib.suppress(OffsetOutOfRange):
                flog.delete_records_before(min(leader_log.log_start_offset, flog.high_watermark))
        return flog

    def _update_hw(self, key: TopicPartition) -> None:
        """The leader's high watermark is the ISR's minimum log end offset; raising it wakes waiters."""
        st = self._states.get(key)
        if st is None or st.leader < 0:
            return
        leader_log: Any = self.logs.replica(st.leader, *key)
        if leader_log is None:
            return
        hw = leader_log.log_end_offset
        for r in st.isr:
            if r != st.leader:
                flog = self.logs.replica(r, *key)
                hw = min(hw, flog.log_end_offset if flog is not None else 0)
        was_set = leader_log.high_watermark_is_set
        before = leader_log.high_watermark
        if leader_log.set_high_watermark(hw) > before or not was_set:
            self.notify(key)
        waiters = self._waiters.get(key)
        if waiters:
            for end, future in waiters:
                if not future.done():
                    code = self._replicated(key, end)
                    if code is not None:
                        future.set_result(code)

    def _leadership_moved(self, key: TopicPartition, old: PartitionState | None, new: PartitionState) -> None:
        """A new leader (or none): its log serves clients, followers truncate to it, waiters learn it."""
        self.logs.refresh(key[0], key[1])
        for _, future in self._waiters.pop(key, []):
            if not future.done():
                future.set_result(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        if new.leader < 0:
            return
        leader_log: Any = self.logs.replica(new.leader, *key)
        if leader_log is None:
            return
        leader_log.become_leader(new.leader_epoch)
        # The leader's own data stays (it may hold more than the old high watermark: Kafka keeps it).
        for r in new.replicas:
            if r == new.leader:
                continue
            flog: Any = self.logs.replica(r, *key)
            if flog is None or not self.nodes.is_alive(r):
                continue
            self._truncate_follower(r, key, flog, leader_log)
        self.notify(key)
        self._schedule(key)

    def _truncate_follower(self, node_id: int, key: TopicPartition, flog: Any, leader_log: Any) -> None:
        """KIP-101: the follower keeps only what the leader's epochs vouch for; the rest goes."""
        end = flog.log_end_offset
        cache = flog.epoch_cache
        epoch = cache.latest_epoch if cache is not None else -1
        if epoch >= 0:
            _, leader_end = leader_log.end_offset_for_epoch(epoch)
            if leader_end < 0:  # the leader never had this epoch: keep what precedes it only
                entry = cache.latest_entry()
                leader_end = entry.start_offset if entry is not None else 0
            end = min(end, leader_end)
        end = min(end, leader_log.log_end_offset)
        if end < flog.log_end_offset:
            log.info("node %d truncates %s-%d from %d to %d", node_id, *key, flog.log_end_offset, end)
            flog.truncate_to(end)
            if flog.log_end_offset > end or end < flog.log_start_offset:
                flog.truncate_fully_and_start_at(leader_log.log_start_offset)

    # ---- node events and elections ------------------------------------------------------------------

    def _unclean_allowed(self, topic: str) -> bool:
        t = self.cluster.topics.get(topic)
        if t is None:
            return False
        return _truthy(self.cluster.topic_config(t, "unclean.leader.election.enable"), False)

    def _on_node_event(self, node: Any, event: Any) -> None:
        from kafkalite.broker.nodes import NodeEvent

        node_id = node.node_id
        if event in (NodeEvent.STOPPED, NodeEvent.KILLED):
            for key in sorted(self._states):
                self._fence(key, node_id)
        elif event == NodeEvent.STARTED:
            for key in sorted(self._states):
                self._unfence(key, node_id)
        elif event == NodeEvent.PAUSED:
            self._paused_since[node_id] = self.cluster.clock.now_ms()
        elif event == NodeEvent.RESUMED:
            self._paused_since.pop(node_id, None)
            for key, st in list(self._states.items()):
                if node_id in st.replicas and node_id != st.leader and key[0] not in _INTERNAL_NAMES:
                    self._schedule(key)

    def _fence(self, key: TopicPartition, node_id: int) -> None:
        """A node went away: it leaves the ISR; if it led, the first live ISR replica leads."""
        st = self._states[key]
        if node_id not in st.replicas:
            return
        new = st.copy()
        if node_id in new.isr and len(new.isr) > 1:
            new.isr.remove(node_id)
        if st.leader == node_id:
            candidate = next((r for r in st.replicas if r in new.isr and self.nodes.is_alive(r)), None)
            if candidate is None and key[0] not in _INTERNAL_NAMES and self._unclean_allowed(key[0]):
                candidate = next((r for r in st.replicas if self.nodes.is_alive(r)), None)
                if candidate is not None:
                    log.warning("unclean election of node %d for %s-%d: data may be lost", candidate, *key)
                    new.isr = [candidate]
            if candidate is None and key[0] in _INTERNAL_NAMES:
                candidate = next((r for r in st.replicas if self.nodes.is_alive(r)), None)
                if candidate is not None:
                    new.isr = [candidate]
            new.leader = -1 if candidate is None else candidate
            if new.leader >= 0 and node_id in new.isr:
                new.isr.remove(node_id)
            new.leader_epoch = st.leader_epoch + 1
        if new.isr != st.isr or new.leader != st.leader:
            self._change(key, new)

    def _unfence(self, key: TopicPartition, node_id: int) -> None:
        """A node came back: an offline partition it may lead gets it; its copies catch up."""
        st = self._states[key]
        if node_id not in st.replicas:
            return
        internal = key[0] in _INTERNAL_NAMES
        if st.leader < 0 and (node_id in st.isr or internal or self._unclean_allowed(key[0])):
            new = st.copy()
            new.leader, new.leader_epoch = node_id, st.leader_epoch + 1
            if node_id not in new.isr or internal:
                new.isr = [node_id]
            self._change(key, new)
        elif internal and node_id not in st.isr:
            new = st.copy()
            new.isr = [*st.isr, node_id]
            self._change(key, new)
        elif not internal:
            flog: Any = self.logs.replica(node_id, *key)
            leader_log: Any = self.logs.replica(st.leader, *key) if st.leader >= 0 else None
            if flog is not None and leader_log is not None and st.leader != node_id:
                self._truncate_follower(node_id, key, flog, leader_log)
            self._schedule(key)

    # ---- the periodic checks (BrokerState.tick) -----------------------------------------------------

    def tick(self, now: int) -> None:
        if not self.clustered:
            return
        if now >= self._next_lag_check:
            self._next_lag_check = now + min(1000, max(self.lag_time_max_ms // 2, 10))
            self._shrink_lagging(now)
        if self.auto_rebalance and now >= self._next_rebalance:
            self._next_rebalance = now + self.imbalance_interval_ms
            self.rebalance_leaders()

    def _shrink_lagging(self, now: int) -> None:
        """Followers paused past replica.lag.time.max.ms while behind the leader leave the ISR."""
        if not self._paused_since:
            return
        for key, st in list(self._states.items()):
            if key[0] in _INTERNAL_NAMES or st.leader < 0 or len(st.isr) <= 1:
                continue
            lagging = [r for r in st.isr if r != st.leader and r in self._paused_since]
            if not lagging:
                continue
            leader_log: Any = self.logs.replica(st.leader, *key)
            out = []
            for r in lagging:
                flog = self.logs.replica(r, *key)
                behind = flog is None or leader_log is None or flog.log_end_offset < leader_log.log_end_offset
                since = self._caught_up.get((key, r), self._paused_since[r])
                if behind and now - since > self.lag_time_max_ms:
                    out.append(r)
            if out:
                new = st.copy()
                new.isr = [r for r in st.isr if r not in out]
                self._change(key, new)

    def rebalance_leaders(self) -> None:
        """Kafka's auto leader rebalance: preferred leaders lead again on imbalanced brokers."""
        by_preferred: dict[int, list[TopicPartition]] = {}
        for key, st in self._states.items():
            if key[0] not in _INTERNAL_NAMES and st.replicas:
                by_preferred.setdefault(st.replicas[0], []).append(key)
        for node_id, keys in by_preferred.items():
            if not self.nodes.is_alive(node_id):
                continue
            not_led = [k for k in keys if self._states[k].leader != node_id]
            if len(not_led) * 100 <= self.imbalance_percentage * len(keys):
                continue
            for key in not_led:
                st = self._states[key]
                if node_id in st.isr:
                    self.elect(*key, "preferred")


_INTERNAL_NAMES = frozenset(INTERNAL_TOPICS.values())


def _truthy(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"
