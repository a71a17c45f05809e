"""DescribeProducers (key 61), v0: active idempotent/transactional producers of each partition.

With an authorizer a topic needs READ: TOPIC_AUTHORIZATION_FAILED (with Kafka's default text)
before its existence is looked at.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

UNKNOWN_TOPIC_MESSAGE = "This server does not host this topic-partition."
DENIED_MESSAGE = "Topic authorization failed."


@api(61, "DescribeProducers", 0, 0)
async def handle_describe_producers(ctx: RequestContext, request: Any) -> dict[str, Any]:
    topics: list[dict[str, Any]] = []
    denied = denied_names(ctx, Operation.READ, ResourceType.TOPIC, (t.name for t in request.topics))
    for topic in request.topics:
        partitions: list[dict[str, Any]] = []
        if denied and topic.name in denied:
            code = int(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            partitions = [{"partition_index": i, "error_code": code, "error_message": DENIED_MESSAGE,
                           "active_producers": []} for i in topic.partition_indexes]
            topics.append({"name": topic.name, "partitions": partitions})
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
