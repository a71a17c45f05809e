"""DescribeProducers (key 61), v0: active idempotent/transactional producers of each partition.

A topic name Kafka cannot have is INVALID_TOPIC_EXCEPTION, with Kafka 4.4's Topic.validate text,
checked first. With an authorizer a topic then needs READ: TOPIC_AUTHORIZATION_FAILED (with
Kafka's default text) before its existence is looked at.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import DENIED_MESSAGES, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.cluster import MAX_TOPIC_NAME, topic_name_problem
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

UNKNOWN_TOPIC_MESSAGE = "This server does not host this topic-partition."


def invalid_topic_message(name: str) -> str | None:
    """Kafka 4.4's Topic.validate text for a name it cannot have, or None for a valid one."""
    if topic_name_problem(name) is None:
        return None
    if not name:
        reason = "the empty string is not allowed"
    elif name in (".", ".."):
        reason = f"'{name}' is not allowed"
    elif len(name) > MAX_TOPIC_NAME:
        reason = f"the length of '{name}' is longer than the max allowed length {MAX_TOPIC_NAME}"
    else:
        reason = f"'{name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
    return f"Topic name is invalid: {reason}"


def _refused(topic: Any, code: ErrorCode, message: str) -> dict[str, Any]:
    return {"name": topic.name, "partitions": [
        {"partition_index": i, "error_code": int(code), "error_message": message, "active_producers": []}
        for i in topic.partition_indexes
    ]}


@api(61, "DescribeProducers", 0, 0)
async def handle_describe_producers(ctx: RequestContext, request: Any) -> dict[str, Any]:
    topics: list[dict[str, Any]] = []
    denied = denied_names(ctx, Operation.READ, ResourceType.TOPIC, (t.name for t in request.topics))
    # A simulated cluster: only the partition's leader answers (Kafka's Partition.activeProducerState).
    leader_problem = ctx.state.replicas.leader_problem if ctx.state.nodes.multi else None
    for topic in request.topics:
        partitions: list[dict[str, Any]] = []
        invalid = invalid_topic_message(topic.name)
        if invalid is not None:
            topics.append(_refused(topic, ErrorCode.INVALID_TOPIC_EXCEPTION, invalid))
            continue
        if denied and topic.name in denied:
            code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            topics.append(_refused(topic, code, DENIED_MESSAGES[code]))
            continue
        for index in topic.partition_indexes:
            plog = ctx.state.cluster.partition(topic.name, index)
            if plog is None:
                # Kafka explains an unknown topic, but not an unknown partition of a known topic.
                known_topic = topic.name in ctx.state.cluster.topics
                partitions.append(
                    {
                        "partition_index": index,
                        "error_code": int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
                        "error_message": None if known_topic else UNKNOWN_TOPIC_MESSAGE,
                        "active_producers": [],
                    }
                )
                continue
            problem = leader_problem(topic.name, index, ctx.node_id) if leader_problem is not None else 0
            if problem:
                partitions.append({"partition_index": index, "error_code": int(problem), "error_message": None,
                                   "active_producers": []})
                continue
            producers = [
                {
                    "producer_id": pid,
                    "producer_epoch": entry.epoch,
                    "last_sequence": entry.last_seq,
                    "last_timestamp": entry.last_timestamp,
                    "coordinator_epoch": entry.coordinator_epoch,
                    "current_txn_start_offset": -1 if entry.txn_first_offset is None else entry.txn_first_offset,
                }
                for pid, entry in plog.producer_state.producers.items()
            ]
            partitions.append(
                {
                    "partition_index": index,
                    "error_code": int(ErrorCode.NONE),
                    "error_message": None,
                    "active_producers": producers,
                }
            )
        topics.append({"name": topic.name, "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}
