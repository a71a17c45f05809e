"""OffsetDelete (key 47), v0: removes committed offsets unless the group is subscribed to the topic."""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.coordinator.group import GroupState
from kafkalite.errors import ErrorCode
from kafkalite.protocol.codec import subscribed_topics


@api(47, "OffsetDelete", 0, 0)
async def handle_offset_delete(ctx: RequestContext, request: Any) -> dict[str, Any]:
    groups = ctx.state.groups
    if not request.group_id:
        return {"error_code": int(ErrorCode.INVALID_GROUP_ID), "throttle_time_ms": 0, "topics": []}
    group = groups.groups.get(request.group_id)
    if group is None:
        return {"error_code": int(ErrorCode.GROUP_ID_NOT_FOUND), "throttle_time_ms": 0, "topics": []}
    subscribed: set[str] = set()
    if group.state != GroupState.EMPTY and group.protocol_type == "consumer":
        for member in group.members.values():
            subscribed |= subscribed_topics(member.metadata(group.protocol_name))
    topics: list[dict[str, Any]] = []
    doomed: list[tuple[str, int]] = []
    cluster = ctx.state.cluster
    for topic in request.topics:
        rows = []
        for p in topic.partitions:
            if cluster.partition(topic.name, p.partition_index) is None:
                code = int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            elif topic.name in subscribed:
                code = int(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC)
            else:
                code = 0
                doomed.append((topic.name, p.partition_index))
            rows.append({"partition_index": p.partition_index, "error_code": code})
        topics.append({"name": topic.name, "partitions": rows})
    groups.delete_offsets(request.group_id, doomed)
    return {"error_code": 0, "throttle_time_ms": 0, "topics": topics}
