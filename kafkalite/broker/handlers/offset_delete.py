"""OffsetDelete (key 47), v0: removes committed offsets unless the group is subscribed to the topic.

With an authorizer the group needs DELETE (else GROUP_AUTHORIZATION_FAILED for the request) and
each topic READ (else TOPIC_AUTHORIZATION_FAILED for its partitions), as in Kafka's KafkaApis.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(47, "OffsetDelete", 0, 0)
async def handle_offset_delete(ctx: RequestContext, request: Any) -> dict[str, Any]:
    groups = ctx.state.groups
    denied_group = denied_error(ctx, Operation.DELETE, ResourceType.GROUP, request.group_id)
    if denied_group:
        return {"error_code": denied_group, "throttle_time_ms": 0, "topics": []}
    if not request.group_id:
        return {"error_code": int(ErrorCode.INVALID_GROUP_ID), "throttle_time_ms": 0, "topics": []}
    not_here = group_coordinator_error(ctx, request.group_id)
    if not_here:
        return {"error_code": not_here, "throttle_time_ms": 0, "topics": []}
    subscribed = groups.subscribed_topics(request.group_id)
    if subscribed is None:
        return {"error_code": int(ErrorCode.GROUP_ID_NOT_FOUND), "throttle_time_ms": 0, "topics": []}
    topics: list[dict[str, Any]] = []
    doomed: list[tuple[str, int]] = []
    cluster = ctx.state.cluster
    # Topics without READ are refused before their existence is looked at, as Kafka does.
    denied = denied_names(ctx, Operation.READ, ResourceType.TOPIC, (t.name for t in request.topics))
    for topic in request.topics:
        rows = []
        for p in topic.partitions:
            if denied and topic.name in denied:
                code = int(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            elif cluster.partition(topic.name, p.partition_index) is None:
                code = int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            elif topic.name in subscribed:
                code = int(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC)
            else:
                code = int(ErrorCode.NONE)
                doomed.append((topic.name, p.partition_index))
            rows.append({"partition_index": p.partition_index, "error_code": code})
        topics.append({"name": topic.name, "partitions": rows})
    error = groups.delete_offsets(request.group_id, doomed)
    if error:
        return {"error_code": error, "throttle_time_ms": 0, "topics": []}
    return {"error_code": int(ErrorCode.NONE), "throttle_time_ms": 0, "topics": topics}
