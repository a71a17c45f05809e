"""ListOffsets (key 2), v0-v11 (v0, for pre-0.10.1 clients, answers a list of offsets).

Special timestamps: -2 earliest (log start), -1 latest (high watermark, or the last stable
offset under read_committed), -3 the record with the largest timestamp (v7+), -4/-5 earliest
local/tiered (same as -2 here). Any other timestamp finds the first record at or after it,
or offset -1 when there is none.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, EARLIEST_TIERED, LATEST_TIERED = -1, -2, -3, -4, -5, -6


@api(2, "ListOffsets", 0, 11)
async def handle_list_offsets(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    read_committed = ctx.version >= 2 and request.isolation_level == 1
    topics: list[dict[str, Any]] = []
    for lt in request.topics:
        partitions: list[dict[str, Any]] = []
        for lp in lt.partitions:
            entry: dict[str, Any] = {
                "partition_index": lp.partition_index,
                "error_code": 0,
                "timestamp": -1,
                "offset": -1,
                "leader_epoch": 0,
            }
            partitions.append(entry)
            plog = cluster.partition(lt.name, lp.partition_index)
            if plog is None:
                entry["error_code"] = int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                entry["leader_epoch"] = -1
                continue
            ts = lp.timestamp
            if ctx.version == 0:
                offset = plog.high_watermark if ts == LATEST else plog.log_start_offset if ts == EARLIEST else None
                if offset is None:
                    found = plog.offset_for_timestamp(ts)
                    offset = found[0] if found else plog.high_watermark
                entry["old_style_offsets"] = [offset][: max(lp.max_num_offsets, 0)]
            elif ts == LATEST:
                entry["offset"] = plog.last_stable_offset if read_committed else plog.high_watermark
            elif ts in (EARLIEST, EARLIEST_LOCAL, EARLIEST_TIERED):
                entry["offset"] = plog.log_start_offset
            elif ts == LATEST_TIERED:
                entry["offset"] = -1
            elif ts == MAX_TIMESTAMP:
                found = plog.max_timestamp_offset()
                if found is not None:
                    entry["offset"], entry["timestamp"] = found
            else:
                found = plog.offset_for_timestamp(ts)
                if found is not None:
                    entry["offset"], entry["timestamp"] = found
        topics.append({"name": lt.name, "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}
