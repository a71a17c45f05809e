"""OffsetCommit (key 8), v0-v9.

Group members commit with their generation and member id; simple consumers and admin tools
(generation -1, empty member id) may commit only while the group is empty, as in Kafka. One
group-level error applies to every partition; unknown partitions get their own error.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(8, "OffsetCommit", 0, 9)
async def handle_offset_commit(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    groups = state.groups
    generation = request.generation_id_or_member_epoch if ctx.version >= 1 else -1
    member_id = request.member_id if ctx.version >= 1 else ""
    instance_id = request.group_instance_id if ctx.version >= 7 else None
    group_error = groups.validate_commit(request.group_id, generation, member_id or "", instance_id)
    now = state.clock.now_ms()
    topics: list[dict[str, Any]] = []
    for topic in request.topics:
        partitions: list[dict[str, Any]] = []
        for part in topic.partitions:
            code = group_error
            if not code:
                if state.cluster.partition(topic.name, part.partition_index) is None:
                    code = int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                else:
                    epoch = part.committed_leader_epoch if ctx.version >= 6 else -1
                    code = groups.commit(
                        now, request.group_id, topic.name, part.partition_index, part.committed_offset, epoch,
                        part.committed_metadata,
                    )
            partitions.append({"partition_index": part.partition_index, "error_code": code})
        topics.append({"name": topic.name, "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}
