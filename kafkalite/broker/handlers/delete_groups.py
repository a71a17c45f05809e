"""DeleteGroups (key 42), v0-v2: empty groups only (NON_EMPTY_GROUP otherwise), offsets included.

With an authorizer, groups the principal may not DELETE are GROUP_AUTHORIZATION_FAILED, listed
after the others, and a group named twice is answered once, as Kafka does.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(42, "DeleteGroups", 0, 2)
async def handle_delete_groups(ctx: RequestContext, request: Any) -> dict[str, Any]:
    groups = ctx.state.groups
    names = request.groups_names
    denied = denied_names(ctx, Operation.DELETE, ResourceType.GROUP, names)

    def delete(group_id: str) -> int:
        return group_coordinator_error(ctx, group_id) or groups.delete_group(group_id)

    if not denied:
        results = [{"group_id": g, "error_code": delete(g)} for g in names]
    else:
        unique = list(dict.fromkeys(names))
        results = [{"group_id": g, "error_code": delete(g)} for g in unique if g not in denied]
        code = int(ErrorCode.GROUP_AUTHORIZATION_FAILED)
        results += [{"group_id": g, "error_code": code} for g in unique if g in denied]
    return {"throttle_time_ms": 0, "results": results}
