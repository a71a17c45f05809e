"""OffsetFetch (key 9), v0-v9: committed offsets of one group (v0-v7) or several (v8+).

Topics null (v2+) means every partition the group has committed. A partition without a commit
answers offset -1 and no error, as Kafka does. With ``require_stable`` (v7+) a partition with
an offset pending in an open transaction answers UNSTABLE_OFFSET_COMMIT, and the client retries.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_names, denied_error, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.coordinator.group import GroupCoordinator
from kafkalite.errors import ErrorCode


def _group_offsets(
    groups: GroupCoordinator, group_id: str, topics: Any, require_stable: bool = False
) -> list[dict[str, Any]]:
    committed = groups.committed(group_id)
    wanted: dict[str, list[int]] = {}
    if topics is None:
        for topic, partition in sorted(committed):
            wanted.setdefault(topic, []).append(partition)
    else:
        for t in topics:
            wanted.setdefault(t.name, []).extend(t.partition_indexes)
    out: list[dict[str, Any]] = []
    for topic, partitions in wanted.items():
        rows: list[dict[str, Any]] = []
        for p in partitions:
            entry = committed.get((topic, p))
            if require_stable and groups.has_pending_txn_offset(group_id, topic, p):
                rows.append(
                    {
                        "partition_index": p,
                        "committed_offset": -1,
                        "committed_leader_epoch": -1,
                        "metadata": "",
                        "error_code": int(ErrorCode.UNSTABLE_OFFSET_COMMIT),
                    }
                )
                continue
            rows.append(
                {
                    "partition_index": p,
                    "committed_offset": entry.offset if entry else -1,
                    "committed_leader_epoch": entry.leader_epoch if entry else -1,
                    "metadata": entry.metadata if entry else "",
                    "error_code": int(ErrorCode.NONE),
                }
            )
        out.append({"name": topic, "partitions": rows})
    return out


def _failed(partition: int, code: int) -> dict[str, Any]:
    return {"partition_index": partition, "committed_offset": -1, "committed_leader_epoch": -1, "metadata": "",
            "error_code": code}


def _fetch_group(ctx: RequestContext, group_id: str, topics: Any, stable: bool) -> tuple[int, list[dict[str, Any]]]:
    """(group error, topics) for one group, as Kafka's KafkaApis answers with an authorizer.

    The group needs DESCRIBE (GROUP_AUTHORIZATION_FAILED, no topics). Topics the principal may
    not DESCRIBE are left out of an all-topics answer, and answered TOPIC_AUTHORIZATION_FAILED
    (offset -1), after the others, when named.
    """
    groups = ctx.state.groups
    code = denied_error(ctx, Operation.DESCRIBE, ResourceType.GROUP, group_id) or group_coordinator_error(ctx, group_id)
    if code:
        return code, []
    if not ctx.state.acls.enabled:
        return 0, _group_offsets(groups, group_id, topics, stable)
    if topics is None:
        found = _group_offsets(groups, group_id, None, stable)
        visible = authorized_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, (t["name"] for t in found))
        return 0, [t for t in found if t["name"] in visible]
    denied = denied_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, (t.name for t in topics))
    code = int(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    refused = [{"name": t.name, "partitions": [_failed(p, code) for p in t.partition_indexes]}
               for t in topics if t.name in denied]
    return 0, _group_offsets(groups, group_id, [t for t in topics if t.name not in denied], stable) + refused


@api(9, "OffsetFetch", 0, 9)
async def handle_offset_fetch(ctx: RequestContext, request: Any) -> dict[str, Any]:
    stable = ctx.version >= 7 and request.require_stable
    if ctx.version >= 8:
        answers = []
        for g in request.groups:
            code, found = _fetch_group(ctx, g.group_id, g.topics, stable)
            answers.append({"group_id": g.group_id, "topics": found, "error_code": code})
        return {"throttle_time_ms": 0, "groups": answers}
    topics = request.topics if ctx.version >= 2 else (request.topics or [])
    code, found = _fetch_group(ctx, request.group_id, topics, stable)
    if code and ctx.version < 2:  # no group-level error before v2: each requested partition carries it (Kafka 4.4)
        found = [{"name": t.name, "partitions": [_failed(p, code) for p in t.partition_indexes]} for t in topics]
    return {"throttle_time_ms": 0, "topics": found, "error_code": code}
