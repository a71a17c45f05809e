"""ListGroups (key 16), v0-v5, with the state filter (v4+) and type filter (v5+, all groups are classic).

With an authorizer, DESCRIBE on the cluster lists every group; otherwise only the groups the
principal may DESCRIBE are listed (no error), as Kafka does.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized, authorized_cluster
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(16, "ListGroups", 0, 5)
async def handle_list_groups(ctx: RequestContext, request: Any) -> dict[str, Any]:
    states = {s.lower() for s in request.states_filter} if ctx.version >= 4 and request.states_filter else None
    types = {t.lower() for t in request.types_filter} if ctx.version >= 5 and request.types_filter else None
    listed: list[dict[str, Any]] = []
    filtered = ctx.state.acls.enabled and not authorized_cluster(ctx, Operation.DESCRIBE)
    for group in ctx.state.groups.list_groups(states):
        if types is not None and "classic" not in types:
            continue
        if filtered and not authorized(ctx, Operation.DESCRIBE, ResourceType.GROUP, group.group_id):
            continue
        listed.append(
            {"group_id": group.group_id, "protocol_type": group.protocol_type or "",
             "group_state": group.state.value, "group_type": "classic"}
        )
    return {"throttle_time_ms": 0, "error_code": int(ErrorCode.NONE), "groups": listed}
