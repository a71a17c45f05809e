"""Heartbeat (key 12), v0-v4: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin."""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api


@api(12, "Heartbeat", 0, 4)
async def handle_heartbeat(ctx: RequestContext, request: Any) -> dict[str, Any]:
    denied = denied_error(ctx, Operation.READ, ResourceType.GROUP, request.group_id)
    if denied:
        return {"throttle_time_ms": 0, "error_code": denied}
    not_here = group_coordinator_error(ctx, request.group_id)
    if not_here:
        return {"throttle_time_ms": 0, "error_code": not_here}
    code = ctx.state.groups.heartbeat(
        ctx.state.clock.now_ms(),
        request.group_id,
        request.generation_id,
        request.member_id,
        request.group_instance_id if ctx.version >= 3 else None,
    )
    return {"throttle_time_ms": 0, "error_code": code}
