"""OffsetFetch (key 9), v0-v9: committed offsets of one group (v0-v7) or several (v8+).

Topics null (v2+) means every partition the group has committed. A partition without a commit
answers offset -1 and no error, as Kafka does. With ``require_stable`` (v7+) a partition with
an offset pending in an open transaction answers UNSTABLE_OFFSET_COMMIT, and the client retries.
"""

from __future__ import annotations

from typing import Any

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


@api(9, "OffsetFetch", 0, 9)
async def handle_offset_fetch(ctx: RequestContext, request: Any) -> dict[str, Any]:
    groups = ctx.state.groups
    stable = ctx.version >= 7 and request.require_stable
    if ctx.version >= 8:
        return {
            "throttle_time_ms": 0,
            "groups": [
                {
                    "group_id": g.group_id,
                    "topics": _group_offsets(groups, g.group_id, g.topics, stable),
                    "error_code": int(ErrorCode.NONE),
                }
                for g in request.groups
            ],
        }
    topics = request.topics if ctx.version >= 2 else (request.topics or [])
    return {"throttle_time_ms": 0, "topics": _group_offsets(groups, request.group_id, topics, stable),
            "error_code": int(ErrorCode.NONE)}
