"""OffsetCommit (key 8), v0-v9.

Group members commit with their generation and member id; simple consumers and admin tools
(generation -1, empty member id) may commit only while the group is empty, as in Kafka. One
group-level error applies to every partition; unknown partitions get their own error.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.offsets import commit_partitions
from kafkalite.broker.handlers.registry import RequestContext, api


@api(8, "OffsetCommit", 0, 9)
async def handle_offset_commit(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    groups = state.groups
    generation = request.generation_id_or_member_epoch if ctx.version >= 1 else -1
    member_id = request.member_id if ctx.version >= 1 else ""
    instance_id = request.group_instance_id if ctx.version >= 7 else None
    group_error = groups.validate_commit(request.group_id, generation, member_id or "", instance_id, ctx.version)
    now = state.clock.now_ms()
    topics = commit_partitions(
        ctx, request.topics, group_error,
        lambda topic, partition, offset, epoch, meta: groups.commit(
            now, request.group_id, topic, partition, offset, epoch, meta
        ),
        leader_epoch_version=6,
    )
    return {"throttle_time_ms": 0, "topics": topics}
