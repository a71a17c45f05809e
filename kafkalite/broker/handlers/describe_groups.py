"""DescribeGroups (key 15), v0-v6: state, protocol and members; metadata and assignments when Stable.

An unknown group is described as Dead with no members; v6 adds GROUP_ID_NOT_FOUND for it.
Authorized operations (v3+, when asked for) are all a group's, even for an unknown group, as
Kafka reports them without an authorizer.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker import authorized_operations
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.coordinator.group import GroupState
from kafkalite.errors import ErrorCode


@api(15, "DescribeGroups", 0, 6)
async def handle_describe_groups(ctx: RequestContext, request: Any) -> dict[str, Any]:
    described: list[dict[str, Any]] = []
    operations = authorized_operations.if_requested(
        ctx.version >= 3 and request.include_authorized_operations, authorized_operations.GROUP
    )
    for group_id in request.groups:
        group = ctx.state.groups.groups.get(group_id)
        if group is None:
            code = ErrorCode.GROUP_ID_NOT_FOUND if ctx.version >= 6 else ErrorCode.NONE
            described.append(
                {"error_code": int(code), "error_message": None, "group_id": group_id, "group_state": "Dead",
                 "protocol_type": "", "protocol_data": "", "members": [], "authorized_operations": operations}
            )
            continue
        stable = group.state == GroupState.STABLE
        described.append(
            {
                "error_code": 0,
                "error_message": None,
                "group_id": group_id,
                "group_state": group.state.value,
                "protocol_type": group.protocol_type or "",
                "protocol_data": (group.protocol_name or "") if stable else "",
                "members": [
                    {
                        "member_id": m.member_id,
                        "group_instance_id": m.group_instance_id,
                        "client_id": m.client_id,
                        "client_host": m.client_host,
                        "member_metadata": m.metadata(group.protocol_name) if stable else b"",
                        "member_assignment": m.assignment if stable else b"",
                    }
                    for m in group.members.values()
                ],
                "authorized_operations": operations,
            }
        )
    return {"throttle_time_ms": 0, "groups": described}
