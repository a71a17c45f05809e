"""DescribeGroups (key 15), v0-v6: state, protocol and members; member metadata only when Stable.

Assignments are shown in every state, as Kafka does: a member keeps its last assignment through a
rebalance until the leader's SyncGroup replaces it (or an interrupted sync clears it).

An unknown group is described as Dead with no members; v6 adds GROUP_ID_NOT_FOUND for it.
Authorized operations (v3+), when asked for, are every operation a group supports, as Kafka
without an authorizer answers; unknown groups get them too, unless answered GROUP_ID_NOT_FOUND.
With an authorizer, a group the principal may not DESCRIBE is GROUP_AUTHORIZATION_FAILED (those
come first in the answer, as Kafka's), and the operations are the principal's on each group.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error
from kafkalite.broker.authorized_operations import NOT_REQUESTED, group_operations, operations_for
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.coordinator.group import GroupState
from kafkalite.errors import ErrorCode


@api(15, "DescribeGroups", 0, 6)
async def handle_describe_groups(ctx: RequestContext, request: Any) -> dict[str, Any]:
    described: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []  # listed first, as Kafka does
    requested = ctx.version >= 3 and request.include_authorized_operations
    operations = group_operations(requested)
    secured = ctx.state.acls.enabled
    for group_id in request.groups:
        denied = denied_error(ctx, Operation.DESCRIBE, ResourceType.GROUP, group_id)
        if denied:
            refused.append({"error_code": denied, "error_message": None, "group_id": group_id, "group_state": "",
                            "protocol_type": "", "protocol_data": "", "members": [],
                            "authorized_operations": NOT_REQUESTED})
            continue
        not_here = group_coordinator_error(ctx, group_id)
        if not_here:  # Kafka's DescribeGroupsResponse.groupError: the code and the schema's defaults
            described.append({"error_code": not_here, "error_message": None, "group_id": group_id,
                              "group_state": "", "protocol_type": "", "protocol_data": "", "members": [],
                              "authorized_operations": NOT_REQUESTED})
            continue
        if secured:
            operations = operations_for(ctx, ResourceType.GROUP, group_id, requested)
        group = ctx.state.groups.describe(group_id)
        if group is None:
            v6 = ctx.version >= 6
            described.append(
                {"error_code": int(ErrorCode.GROUP_ID_NOT_FOUND if v6 else ErrorCode.NONE),
                 "error_message": f"Group {group_id} not found." if v6 else None,
                 "group_id": group_id, "group_state": "Dead",
                 "protocol_type": "", "protocol_data": "", "members": [],
                 "authorized_operations": NOT_REQUESTED if v6 else operations}
            )
            continue
        stable = group.state == GroupState.STABLE
        described.append(
            {
                "error_code": int(ErrorCode.NONE),
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
                        "member_metadata": m.metadata if stable else b"",
                        "member_assignment": m.assignment,
                    }
                    for m in group.members
                ],
                "authorized_operations": operations,
            }
        )
    return {"throttle_time_ms": 0, "groups": refused + described}
