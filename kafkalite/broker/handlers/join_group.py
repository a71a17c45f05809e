"""JoinGroup (key 11), v0-v9: answered when the rebalance completes (a deferred reply).

v4+ members without an id get MEMBER_ID_REQUIRED with a new id first (KIP-394); v5+ carry
``group.instance.id`` (static membership); v0 has no rebalance timeout (session timeout used).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.deferred import deferred
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.coordinator.group import JoinParams


@api(11, "JoinGroup", 0, 9)
async def handle_join_group(ctx: RequestContext, request: Any) -> dict[str, Any]:
    denied = denied_error(ctx, Operation.READ, ResourceType.GROUP, request.group_id)
    if denied:  # Kafka's JoinGroupRequest.getErrorResponse
        return {"throttle_time_ms": 0, "error_code": denied, "generation_id": -1, "protocol_type": None,
                "protocol_name": None if ctx.version >= 7 else "", "leader": "", "skip_assignment": False,
                "member_id": "", "members": []}
    not_here = group_coordinator_error(ctx, request.group_id)
    if not_here:  # the same shape, no member id (Kafka 4.4 on a node that does not coordinate the group)
        return {"throttle_time_ms": 0, "error_code": not_here, "generation_id": -1, "protocol_type": None,
                "protocol_name": None if ctx.version >= 7 else "", "leader": "", "skip_assignment": False,
                "member_id": "", "members": []}
    rebalance_timeout = request.rebalance_timeout_ms if ctx.version >= 1 else request.session_timeout_ms
    params = JoinParams(
        group_id=request.group_id,
        member_id=request.member_id or "",
        group_instance_id=request.group_instance_id if ctx.version >= 5 else None,
        client_id=ctx.header.client_id or "",
        client_host="/" + ctx.peer.rsplit(":", 1)[0],
        session_timeout_ms=request.session_timeout_ms,
        rebalance_timeout_ms=rebalance_timeout,
        protocol_type=request.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in request.protocols],
        version=ctx.version,
    )
    groups = ctx.state.groups
    now = ctx.state.clock.now_ms()
    body = await deferred(lambda respond: groups.join(now, params, respond))
    if ctx.version < 7 and body.get("protocol_name") is None:
        body = {**body, "protocol_name": ""}  # not nullable before v7: Kafka writes an empty name
    return {"throttle_time_ms": 0, **body}
