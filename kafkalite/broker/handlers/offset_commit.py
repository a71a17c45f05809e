"""OffsetCommit (key 8), v0-v9.

Group members commit with their generation and member id; simple consumers and admin tools
(generation -1, empty member id) may commit only while the group is empty, as in Kafka. One
group-level error applies to every partition; unknown partitions get their own error, which
wins, as Kafka checks partitions before its coordinator sees the group. With an authorizer the
group needs READ (else every partition GROUP_AUTHORIZATION_FAILED) and so does each topic
(TOPIC_AUTHORIZATION_FAILED, before anything else). The accepted partitions are stored in one
write: if the log refuses it, each of them answers NOT_COORDINATOR (Kafka's answer to a failed
append to the offsets topic).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.offsets import every_partition
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(8, "OffsetCommit", 0, 9)
async def handle_offset_commit(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    groups = state.groups
    denied_group = denied_error(ctx, Operation.READ, ResourceType.GROUP, request.group_id)
    if denied_group:
        return {"throttle_time_ms": 0, "topics": every_partition(request.topics, denied_group)}
    # Topics without READ are refused before the group is looked at (Kafka's KafkaApis, then coordinator).
    denied = denied_names(ctx, Operation.READ, ResourceType.TOPIC, (t.name for t in request.topics))
    generation = request.generation_id_or_member_epoch if ctx.version >= 1 else -1
    member_id = request.member_id if ctx.version >= 1 else ""
    instance_id = request.group_instance_id if ctx.version >= 7 else None
    group_error = group_coordinator_error(ctx, request.group_id) or groups.validate_commit(
        request.group_id, generation, member_id or "", instance_id, ctx.version
    )
    # Per partition: the group's error, UNKNOWN_TOPIC_OR_PARTITION, or a slot in the one write below.
    codes: list[list[int]] = []
    stored: list[tuple[str, int, int, int, str | None]] = []
    slots: list[tuple[int, int]] = []
    for t, topic in enumerate(request.topics):
        row: list[int] = []
        refused = bool(denied) and topic.name in denied
        for part in topic.partitions:
            if refused:
                row.append(int(ErrorCode.TOPIC_AUTHORIZATION_FAILED))
            elif state.cluster.partition(topic.name, part.partition_index) is None:
                row.append(int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))  # Kafka checks before the group
            elif group_error:
                row.append(group_error)
            else:
                epoch = part.committed_leader_epoch if ctx.version >= 6 else -1
                slots.append((t, len(row)))
                stored.append((topic.name, part.partition_index, part.committed_offset, epoch,
                               part.committed_metadata))
                row.append(int(ErrorCode.NONE))
        codes.append(row)
    if stored:
        retention = request.retention_time_ms if 2 <= ctx.version <= 4 else -1
        for (t, i), code in zip(slots, groups.commit_offsets(state.clock.now_ms(), request.group_id, stored,
                                                             retention), strict=True):
            codes[t][i] = code
    topics = [
        {"name": topic.name,
         "partitions": [{"partition_index": part.partition_index, "error_code": code}
                        for part, code in zip(topic.partitions, row, strict=True)]}
        for topic, row in zip(request.topics, codes, strict=True)
    ]
    return {"throttle_time_ms": 0, "topics": topics}
