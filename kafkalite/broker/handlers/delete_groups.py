"""DeleteGroups (key 42), v0-v2: empty groups only (NON_EMPTY_GROUP otherwise), offsets included."""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api


@api(42, "DeleteGroups", 0, 2)
async def handle_delete_groups(ctx: RequestContext, request: Any) -> dict[str, Any]:
    groups = ctx.state.groups
    return {
        "throttle_time_ms": 0,
        "results": [{"group_id": g, "error_code": groups.delete_group(g)} for g in request.groups_names],
    }
