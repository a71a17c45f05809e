"""DescribeTopicPartitions (key 75), v0: topics and their partitions, paged by a cursor.

An empty topic list means every topic. Topics are answered in name order starting at the
cursor's topic and partition; once ``response_partition_limit`` partitions are listed the
answer carries ``next_cursor`` naming the first partition left out. Unknown topics answer
UNKNOWN_TOPIC_OR_PARTITION, illegal names INVALID_TOPIC_EXCEPTION. A cursor naming a topic that
an explicit topic list does not contain is an invalid request: as Kafka does, every requested
topic is answered INVALID_REQUEST with no partitions.

The request has no flag for authorized operations: as Kafka without an authorizer does, every
topic answered (unknown ones too) carries all the operations a topic supports; only the
INVALID_REQUEST answer carries the "not requested" value.

With an authorizer (Kafka's DescribeTopicPartitionsRequestHandler): topics the principal may not
DESCRIBE are left out of an all-topics answer; named ones answer TOPIC_AUTHORIZATION_FAILED with
a zero id and the "not requested" operations, after the others, whether they exist or not (and
outside the partition limit). The others carry the principal's own operations.
"""

from __future__ import annotations

import uuid
from typing import Any

from kafkalite.broker.acls import authorized_names
from kafkalite.broker.authorized_operations import NOT_REQUESTED, operations_for
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.cluster import topic_name_problem
from kafkalite.broker.handlers.metadata import partition_entries
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

ZERO_UUID = uuid.UUID(int=0)
MAX_PARTITION_LIMIT = 2000  # Kafka's max.request.partition.size.limit


def _error_topic(name: str, code: ErrorCode, operations: int) -> dict[str, Any]:
    return {
        "error_code": int(code),
        "name": name,
        "topic_id": ZERO_UUID,
        "is_internal": False,
        "partitions": [],
        "topic_authorized_operations": operations,
    }


@api(75, "DescribeTopicPartitions", 0, 0)
async def handle_describe_topic_partitions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    names = sorted({t.name for t in request.topics}) if request.topics else sorted(cluster.topics)
    cursor = request.cursor
    if request.topics and cursor is not None and cursor.topic_name not in names:
        # Kafka: "DescribeTopicPartitionsRequest topic list should contain the cursor topic"
        return {
            "throttle_time_ms": 0,
            "topics": [_error_topic(t.name, ErrorCode.INVALID_REQUEST, NOT_REQUESTED) for t in request.topics],
            "next_cursor": None,
        }
    if cursor is not None:
        names = [n for n in names if n >= cursor.topic_name]
    allowed = authorized_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, names)
    denied = [n for n in names if n not in allowed] if request.topics else []
    names = [n for n in names if n in allowed]
    # Kafka: max(min(max.request.partition.size.limit, limit), 1), so 0 or less lists one partition.
    limit = max(min(MAX_PARTITION_LIMIT, request.response_partition_limit), 1)
    topics: list[dict[str, Any]] = []
    next_cursor: dict[str, Any] | None = None
    remaining = limit
    for name in names:
        topic = cluster.topics.get(name)
        if topic is None:
            code = (
                ErrorCode.INVALID_TOPIC_EXCEPTION if topic_name_problem(name) else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            )
            topics.append(_error_topic(name, code, operations_for(ctx, ResourceType.TOPIC, name, True)))
            continue
        if remaining <= 0:
            next_cursor = {"topic_name": name, "partition_index": 0}
            break
        first = cursor.partition_index if cursor is not None and name == cursor.topic_name else 0
        indexes = list(range(max(first, 0), len(topic.partitions)))
        shown, rest = indexes[:remaining], indexes[remaining:]
        remaining -= len(shown)
        topics.append(
            {
                "error_code": ErrorCode.NONE,
                "name": name,
                "topic_id": topic.topic_id,
                "is_internal": False,
                "partitions": partition_entries(ctx, topic, shown, eligible_leader_replicas=[], last_known_elr=[]),
                "topic_authorized_operations": operations_for(ctx, ResourceType.TOPIC, name, True),
            }
        )
        if rest:
            next_cursor = {"topic_name": name, "partition_index": rest[0]}
            break
    topics += [_error_topic(n, ErrorCode.TOPIC_AUTHORIZATION_FAILED, NOT_REQUESTED) for n in denied]
    return {"throttle_time_ms": 0, "topics": topics, "next_cursor": next_cursor}
