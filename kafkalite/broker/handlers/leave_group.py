"""LeaveGroup (key 13), v0-v5: one member (v0-v2) or a batch of members by id or instance id (v3+)."""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(13, "LeaveGroup", 0, 5)
async def handle_leave_group(ctx: RequestContext, request: Any) -> dict[str, Any]:
    denied = denied_error(ctx, Operation.READ, ResourceType.GROUP, request.group_id)
    denied = denied or group_coordinator_error(ctx, request.group_id)
    if denied:  # the group-level code alone, no members (LeaveGroupRequest.getErrorResponse)
        return {"throttle_time_ms": 0, "error_code": denied, "members": []}
    if ctx.version >= 3:
        identities = [(m.member_id or "", m.group_instance_id) for m in request.members]
    else:
        identities = [(request.member_id, None)]
    top, codes = ctx.state.groups.leave(ctx.state.clock.now_ms(), request.group_id, identities)
    if ctx.version < 3:
        return {"throttle_time_ms": 0, "error_code": top or (codes[0] if codes else int(ErrorCode.NONE))}
    return {
        "throttle_time_ms": 0,
        "error_code": top,
        "members": [
            {"member_id": mid, "group_instance_id": inst, "error_code": code}
            for (mid, inst), code in zip(identities, codes)
        ],
    }
