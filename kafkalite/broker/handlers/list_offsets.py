"""ListOffsets (key 2), v0-v11 (v0, for pre-0.10.1 clients, answers a list of offsets).

Special timestamps, each from the version that introduced it: -2 earliest (log start), -1
latest (high watermark, or the last stable offset under read_committed), -3 the record with
the largest timestamp (v7+), -4 earliest local (v8+, the log start here), -5 latest tiered
(v9+) and -6 earliest pending upload (v11+), which without tiered storage find nothing. Any
other negative timestamp, or a special one older than the request's version, is
UNSUPPORTED_VERSION, as Kafka answers. Any other timestamp finds the first record at or after
it. A record found (by timestamp or -3) at or past the last offset the client may fetch -- the
high watermark, or the LSO under read_committed -- is not found, as Kafka's
Partition.fetchOffsetForTimestamp bounds it; a record found, and the log start, answer the leader
epoch that wrote it. "Nothing found" and errors answer offset -1 with leader epoch -1. A partition named twice is
INVALID_REQUEST once; a ``current_leader_epoch`` above the partition's leader epoch (0 on a single
broker) is UNKNOWN_LEADER_EPOCH, below it (a simulated cluster) FENCED_LEADER_EPOCH, and a node that
does not lead the partition answers NOT_LEADER_OR_FOLLOWER.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED, EARLIEST_PENDING_UPLOAD = -1, -2, -3, -4, -5, -6
#: The first version that accepts each special timestamp.
SPECIAL_SINCE = {LATEST: 0, EARLIEST: 0, MAX_TIMESTAMP: 7, EARLIEST_LOCAL: 8, LATEST_TIERED: 9,
                 EARLIEST_PENDING_UPLOAD: 11}
LEADER_EPOCH = 0
CURRENT_EPOCH_VERSION = 4


def _error(entry: dict[str, Any], code: ErrorCode) -> None:
    entry.update(error_code=int(code), timestamp=-1, offset=-1, leader_epoch=-1)


def _written_epoch(plog: Any, offset: int, current: int) -> int:
    """The leader epoch that wrote ``offset`` (a simulated cluster's epoch cache), as Kafka answers
    a record found or the log start; ``current`` when the cache does not say."""
    cache = plog.epoch_cache
    written = cache.epoch_for_offset(offset) if cache is not None else None
    return current if written is None else int(written)


@api(2, "ListOffsets", 0, 11)
async def handle_list_offsets(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    read_committed = ctx.version >= 2 and request.isolation_level == 1
    topics: list[dict[str, Any]] = []
    # Topics the principal may not DESCRIBE: every partition refused, listed after the others (as Kafka).
    denied = denied_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, (t.name for t in request.topics))
    refused: list[dict[str, Any]] = []
    # A simulated cluster: only the partition's leader answers (a single broker leads everything: no check).
    leader_problem = ctx.state.replicas.leader_problem if ctx.state.nodes.multi else None
    for lt in request.topics:
        if denied and lt.name in denied:
            rows = [{"partition_index": lp.partition_index, "error_code": ErrorCode.NONE} for lp in lt.partitions]
            for row in rows:
                _error(row, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            refused.append({"name": lt.name, "partitions": rows})
            continue
        partitions: list[dict[str, Any]] = []
        counts: dict[int, int] = {}
        for lp in lt.partitions:
            counts[lp.partition_index] = counts.get(lp.partition_index, 0) + 1
        reported: set[int] = set()
        for lp in lt.partitions:
            if lp.partition_index in reported:
                continue  # Kafka answers a repeated partition once
            reported.add(lp.partition_index)
            entry: dict[str, Any] = {
                "partition_index": lp.partition_index,
                "error_code": ErrorCode.NONE,
                "timestamp": -1,
                "offset": -1,
                "leader_epoch": LEADER_EPOCH,
            }
            partitions.append(entry)
            if counts[lp.partition_index] > 1:
                _error(entry, ErrorCode.INVALID_REQUEST)
                continue
            plog = cluster.partition(lt.name, lp.partition_index)
            if plog is None:
                _error(entry, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                continue
            current = lp.current_leader_epoch if ctx.version >= CURRENT_EPOCH_VERSION else -1
            leader_epoch = LEADER_EPOCH
            if ctx.state.replicating:  # a simulated cluster: the partition's own leader epoch
                st = ctx.state.replicas.state(lt.name, lp.partition_index)
                entry["leader_epoch"] = leader_epoch = st.leader_epoch if st is not None else LEADER_EPOCH
                if 0 <= current < leader_epoch:
                    _error(entry, ErrorCode.FENCED_LEADER_EPOCH)
                    continue
            if current > leader_epoch:
                _error(entry, ErrorCode.UNKNOWN_LEADER_EPOCH)
                continue
            if leader_problem is not None:
                problem = leader_problem(lt.name, lp.partition_index, ctx.node_id)
                if problem:
                    _error(entry, problem)
                    continue
            ts = lp.timestamp
            if ctx.version == 0:
                offset = plog.high_watermark if ts == LATEST else plog.log_start_offset if ts == EARLIEST else None
                if offset is None:
                    found = plog.offset_for_timestamp(ts)
                    offset = found[0] if found else plog.high_watermark
                entry["old_style_offsets"] = [offset][: max(lp.max_num_offsets, 0)]
            elif ts < 0 and SPECIAL_SINCE.get(ts, ctx.version + 1) > ctx.version:
                _error(entry, ErrorCode.UNSUPPORTED_VERSION)
            elif ts == LATEST:
                entry["offset"] = plog.last_stable_offset if read_committed else plog.high_watermark
            elif ts in (EARLIEST, EARLIEST_LOCAL):
                entry["offset"] = start = plog.log_start_offset
                if ctx.state.replicating:
                    entry["leader_epoch"] = _written_epoch(plog, start, leader_epoch)
            elif ts in (LATEST_TIERED, EARLIEST_PENDING_UPLOAD):
                entry["leader_epoch"] = -1  # no tiered storage: nothing is or will be uploaded
            else:
                found = plog.max_timestamp_offset() if ts == MAX_TIMESTAMP else plog.offset_for_timestamp(ts)
                # Only what a consumer of this isolation level may fetch: a record at or past the
                # high watermark (a follower lags) or the LSO (an open transaction) is not found.
                bound = plog.last_stable_offset if read_committed else plog.high_watermark
                if found is not None and found[0] < bound:
                    entry["offset"], entry["timestamp"] = found
                    if ctx.state.replicating:
                        entry["leader_epoch"] = _written_epoch(plog, found[0], leader_epoch)
                else:
                    entry["leader_epoch"] = -1
        topics.append({"name": lt.name, "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics + refused}
