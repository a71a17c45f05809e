"""SyncGroup (key 14), v0-v5: the leader's assignments, handed to every member.

Members that sync before the leader wait (a deferred reply) until the leader's SyncGroup
completes the rebalance.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.deferred import deferred
from kafkalite.broker.handlers.registry import RequestContext, api


@api(14, "SyncGroup", 0, 5)
async def handle_sync_group(ctx: RequestContext, request: Any) -> dict[str, Any]:
    assignments = {a.member_id: bytes(a.assignment) for a in request.assignments}
    groups = ctx.state.groups
    now = ctx.state.clock.now_ms()
    v5 = ctx.version >= 5
    body = await deferred(
        lambda respond: groups.sync(
            now,
            request.group_id,
            request.generation_id,
            request.member_id,
            request.group_instance_id if ctx.version >= 3 else None,
            request.protocol_type if v5 else None,
            request.protocol_name if v5 else None,
            assignments,
            respond,
        )
    )
    return {"throttle_time_ms": 0, **body}
