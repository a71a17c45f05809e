"""Metadata (key 3), v0-v13.

One broker that leads every partition; in a simulated cluster (``kafkalite.brokers`` > 1) the
live nodes, each at its address on the request's listener, and every partition's leader,
epoch, replicas, ISR and offline replicas from the replica manager. Unknown topics are auto-created when the broker
allows it (``auto.create.topics.enable``) and the request does (v4+); creation is synchronous
here, so the topic is answered complete in the same response. Topics asked by id (name null)
are looked up from v12; at v10-v11 Kafka answers such a request as a whole with INVALID_REQUEST
(no brokers, no cluster id, each topic errored), and so does kafkalite.

Authorized operations (v8+) are every operation a topic (and, v8-v10, the cluster) supports
when the client asks, as Kafka without an authorizer answers; topics named by an unknown id
get the "not requested" value even then, as in Kafka.

With an authorizer (KafkaApis.handleTopicMetadataRequest): a request for every topic lists only
those the principal may DESCRIBE; a named topic it may not describe is TOPIC_AUTHORIZATION_FAILED
whether or not it exists (by id: the id is answered, not the name); auto-creating a topic needs
CREATE on the cluster or on the topic, else TOPIC_AUTHORIZATION_FAILED. Refused topics come after
the others and carry no authorized operations; the others carry the principal's, and the cluster's
(v8-v10) are 0 unless it may DESCRIBE the cluster.
"""

from __future__ import annotations

import uuid
from typing import Any

from kafkalite.broker.acls import authorized, authorized_cluster, authorized_names
from kafkalite.broker.authorized_operations import (
    NOT_REQUESTED,
    described_cluster_operations,
    operations_for,
    topic_operations,
)
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.cluster import Topic, topic_name_problem
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.limits import broker_limit_problem, partition_count
from kafkalite.errors import ErrorCode

ZERO_UUID = uuid.UUID(int=0)


def partition_entry(node: int, index: int, **extra: Any) -> dict[str, Any]:
    """A partition led by this broker, its only replica (Metadata and DescribeTopicPartitions)."""
    return {
        "error_code": ErrorCode.NONE,
        "partition_index": index,
        "leader_id": node,
        "leader_epoch": 0,
        "replica_nodes": [node],
        "isr_nodes": [node],
        "offline_replicas": [],
        **extra,
    }


def cluster_partition_entry(ctx: RequestContext, topic: str, index: int, **extra: Any) -> dict[str, Any]:
    """A partition of a simulated cluster, as Kafka's metadata cache answers it.

    Leader, epoch, replicas, ISR and offline replicas come from the replica manager. A partition
    whose leader is not a live node shows leader -1 (its epoch and replicas still shown): Metadata
    answers it LEADER_NOT_AVAILABLE, DescribeTopicPartitions with no error (as Kafka 4.4 does).
    Metadata v0 lists only live replicas, REPLICA_NOT_AVAILABLE when some are missing (Kafka's
    errorUnavailableEndpoints).
    """
    nodes = ctx.state.nodes
    state = ctx.state.replicas.state(topic, index)
    if state is None:  # deleted meanwhile
        return {**partition_entry(-1, index, **extra), "error_code": int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
                "replica_nodes": [], "isr_nodes": []}
    replicas, isr = list(state.replicas), list(state.isr)
    offline = state.offline_replicas(nodes)
    metadata = ctx.header.api_key == 3
    code = ErrorCode.NONE
    leader = state.leader
    if metadata and ctx.version == 0:
        alive_replicas = [r for r in replicas if nodes.is_alive(r)]
        alive_isr = [r for r in isr if nodes.is_alive(r)]
        if len(alive_replicas) < len(replicas) or len(alive_isr) < len(isr):
            code = ErrorCode.REPLICA_NOT_AVAILABLE
        replicas, isr = alive_replicas, alive_isr
    if leader < 0 or not nodes.is_alive(leader):
        leader = -1
        code = ErrorCode.LEADER_NOT_AVAILABLE if metadata else ErrorCode.NONE
    return {
        "error_code": int(code),
        "partition_index": index,
        "leader_id": leader,
        "leader_epoch": state.leader_epoch,
        "replica_nodes": replicas,
        "isr_nodes": isr,
        "offline_replicas": offline,
        **extra,
    }


def partition_entries(ctx: RequestContext, topic: Topic, indexes: range | list[int], **extra: Any) -> list[Any]:
    """Metadata / DescribeTopicPartitions entries of these partitions (one broker: it leads them all)."""
    if ctx.state.nodes.multi:
        return [cluster_partition_entry(ctx, topic.name, i, **extra) for i in indexes]
    node = ctx.state.config.node_id
    return [partition_entry(node, i, **extra) for i in indexes]


def broker_entries(ctx: RequestContext) -> list[dict[str, Any]]:
    """The live brokers, each at its address on the listener the request came in on."""
    if not ctx.state.nodes.multi:
        host, port = ctx.advertised
        return [{"node_id": ctx.state.config.node_id, "host": host, "port": port, "rack": None}]
    entries = []
    for node in ctx.state.nodes.alive():
        host, port = ctx.address_of(node.node_id)
        entries.append({"node_id": node.node_id, "host": host, "port": port, "rack": node.rack})
    return entries


def controller_id(ctx: RequestContext) -> int:
    """The controller clients are told: Kafka (KRaft) names a live broker; here the lowest live id."""
    if not ctx.state.nodes.multi:
        return ctx.state.config.node_id
    alive = ctx.state.nodes.alive_ids()
    return alive[0] if alive else -1


def topic_entry(ctx: RequestContext, topic: Topic, operations: int = NOT_REQUESTED) -> dict[str, Any]:
    return {
        "error_code": ErrorCode.NONE,
        "name": topic.name,
        "topic_id": topic.topic_id,
        "is_internal": False,
        "partitions": partition_entries(ctx, topic, range(len(topic.partitions))),
        "topic_authorized_operations": operations,
    }


def _error_entry(
    name: str | None, code: ErrorCode, topic_id: uuid.UUID = ZERO_UUID, operations: int = NOT_REQUESTED
) -> dict[str, Any]:
    return {
        "error_code": int(code),
        "name": name,
        "topic_id": topic_id,
        "is_internal": False,
        "partitions": [],
        "topic_authorized_operations": operations,
    }


@api(3, "Metadata", 0, 13)
async def handle_metadata(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    cluster = state.cluster
    topics: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []  # TOPIC_AUTHORIZATION_FAILED, answered after the others (as Kafka)
    requested = request.topics
    ops_requested = ctx.version >= 8 and request.include_topic_authorized_operations
    ops = topic_operations(ops_requested)
    secured = state.acls.enabled

    def ops_of(name: str) -> int:
        return operations_for(ctx, ResourceType.TOPIC, name, ops_requested) if secured else ops

    if ctx.version in (10, 11) and any(t.name is None for t in requested or ()):
        invalid = ErrorCode.INVALID_REQUEST
        return {
            "throttle_time_ms": 0,
            "brokers": [],
            "cluster_id": None,
            "controller_id": -1,
            "topics": [_error_entry(t.name or "", invalid, t.topic_id or ZERO_UUID) for t in requested],
            "error_code": ErrorCode.NONE,
        }
    if requested is None or (ctx.version == 0 and not requested):
        # Every topic, but only those the principal may DESCRIBE: the others are not disclosed.
        visible = authorized_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, cluster.topics) if secured else None
        topics = [topic_entry(ctx, t, ops_of(t.name)) for t in cluster.topics.values()
                  if visible is None or t.name in visible]
    else:
        allow_auto = state.config.auto_create_topics and (ctx.version < 4 or request.allow_auto_topic_creation)
        cluster_create: list[bool] = []  # CREATE on the cluster, asked once and only if needed

        def may_create(name: str) -> bool:
            """Auto-creation needs CREATE on the cluster or on the topic (KafkaApis)."""
            if not cluster_create:
                cluster_create.append(authorized_cluster(ctx, Operation.CREATE))
            return cluster_create[0] or authorized(ctx, Operation.CREATE, ResourceType.TOPIC, name)

        # Kafka's rule: any non-zero topic id makes the whole request by id, and names are ignored
        # (the Java AdminClient's describeTopics(TopicCollection.ofTopicIds) sends name "", not null).
        ids = [getattr(w, "topic_id", None) or ZERO_UUID for w in requested]
        topic_ids = list(dict.fromkeys(i for i in ids if i != ZERO_UUID))
        if topic_ids:
            requested = []
        for topic_id in topic_ids:
            by_id = cluster.by_id.get(topic_id)
            if by_id is None:
                topics.append(_error_entry(None, ErrorCode.UNKNOWN_TOPIC_ID, topic_id))
            elif secured and not authorized(ctx, Operation.DESCRIBE, ResourceType.TOPIC, by_id.name):
                # Topic ids are not secret: the id is answered, the name is not.
                refused.append(_error_entry(None, ErrorCode.TOPIC_AUTHORIZATION_FAILED, topic_id))
            else:
                topics.append(topic_entry(ctx, by_id, ops_of(by_id.name)))
        for wanted in requested:
            name = wanted.name
            if name is None:  # neither a name nor an id
                topics.append(_error_entry(None, ErrorCode.UNKNOWN_TOPIC_ID))
                continue
            if secured and not authorized(ctx, Operation.DESCRIBE, ResourceType.TOPIC, name):
                # Refused before its existence is looked at, so the answer does not tell it.
                refused.append(_error_entry(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                continue
            topic = cluster.topics.get(name)
            if topic is None:
                if secured and allow_auto and not may_create(name):
                    refused.append(_error_entry(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                    continue
                if topic_name_problem(name):
                    topics.append(_error_entry(name, ErrorCode.INVALID_TOPIC_EXCEPTION, operations=ops_of(name)))
                    continue
                if not allow_auto or broker_limit_problem(
                    state.config, partition_count(cluster), state.config.num_partitions
                ):  # auto-creation past max.broker.partitions: the topic stays unknown
                    topics.append(_error_entry(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, operations=ops_of(name)))
                    continue
                try:
                    topic = cluster.auto_create(name)
                except OSError:  # a full disk: not created, the client asks again
                    topics.append(_error_entry(name, ErrorCode.LEADER_NOT_AVAILABLE, operations=ops_of(name)))
                    continue
            topics.append(topic_entry(ctx, topic, ops_of(name)))
    return {
        "throttle_time_ms": 0,
        "brokers": broker_entries(ctx),
        "cluster_id": cluster.cluster_id,
        "controller_id": controller_id(ctx),
        "topics": topics + refused,
        "cluster_authorized_operations": described_cluster_operations(
            ctx, 8 <= ctx.version <= 10 and request.include_cluster_authorized_operations
        ),
        "error_code": ErrorCode.NONE,
    }
