"""SyncGroup (key 14), v0-v5: the leader's assignments, handed to every member.

Members that sync before the leader wait (a deferred reply) until the leader's SyncGroup
completes the rebalance. From v5 the protocol type and name are mandatory (null ones are
INCONSISTENT_GROUP_PROTOCOL) and must match the group's.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.deferred import deferred
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(14, "SyncGroup", 0, 5)
async def handle_sync_group(ctx: RequestContext, request: Any) -> dict[str, Any]:
    assignments = {a.member_id: bytes(a.assignment) for a in request.assignments}
    groups = ctx.state.groups
    now = ctx.state.clock.now_ms()
    v5 = ctx.version >= 5
    if v5 and (request.protocol_type is None or request.protocol_name is None):
        # From v5 both are mandatory; Kafka answers a request without them before looking at the group.
        return {"throttle_time_ms": 0, "error_code": int(ErrorCode.INCONSISTENT_GROUP_PROTOCOL),
                "protocol_type": None, "protocol_name": None, "assignment": b""}
    denied = denied_error(ctx, Operation.READ, ResourceType.GROUP, request.group_id)
    if denied:  # checked after the mandatory fields, as Kafka does
        return {"throttle_time_ms": 0, "error_code": denied, "protocol_type": None, "protocol_name": None,
                "assignment": b""}
    not_here = group_coordinator_error(ctx, request.group_id)
    if not_here:
        return {"throttle_time_ms": 0, "error_code": not_here, "protocol_type": None, "protocol_name": None,
                "assignment": b""}
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
