"""DeleteRecords (key 21), v0-v2: move partitions' log start offsets forward.

Offset -1 means the high watermark. An offset beyond the high watermark answers
OFFSET_OUT_OF_RANGE; an offset below the current start leaves it where it is. Whole segments
below the new start are deleted at once, and the start offset is checkpointed in
``log-start-offset-checkpoint`` so it survives a restart. Consumers positioned below it get
OFFSET_OUT_OF_RANGE and reset. The answer's low watermark is the new log start offset.

With an authorizer, DELETE on the topic is needed: every partition of a topic the principal may
not delete answers TOPIC_AUTHORIZATION_FAILED, before (so whether or not) the topic exists.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode
from kafkalite.storage.log import OffsetOutOfRange

HIGH_WATERMARK = -1


@api(21, "DeleteRecords", 0, 2)
async def handle_delete_records(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    topics: list[dict[str, Any]] = []
    changed = False
    allowed = authorized_names(ctx, Operation.DELETE, ResourceType.TOPIC, (t.name for t in request.topics))
    # A simulated cluster: only the partition's leader deletes (a single broker leads everything: no check).
    leader_problem = ctx.state.replicas.leader_problem if ctx.state.nodes.multi else None
    for t in request.topics:
        partitions: list[dict[str, Any]] = []
        for p in t.partitions:
            entry: dict[str, Any] = {
                "partition_index": p.partition_index, "low_watermark": -1, "error_code": ErrorCode.NONE
            }
            partitions.append(entry)
            if t.name not in allowed:
                entry["error_code"] = int(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
                continue
            plog = cluster.partition(t.name, p.partition_index)
            if plog is None:
                entry["error_code"] = int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                continue
            if leader_problem is not None:
                problem = leader_problem(t.name, p.partition_index, ctx.node_id)
                if problem:
                    entry["error_code"] = int(problem)
                    continue
            offset = plog.high_watermark if p.offset == HIGH_WATERMARK else p.offset
            try:
                entry["low_watermark"] = plog.delete_records_before(offset)
            except OffsetOutOfRange:
                entry["error_code"] = int(ErrorCode.OFFSET_OUT_OF_RANGE)
                continue
            changed = True
        topics.append({"name": t.name, "partitions": partitions})
    if changed:
        try:
            await ctx.state.checkpoint_log_start_offsets()  # durable before the answer, written off the loop
        except OSError:
            # Not durable: a restart would bring the records back. Answered as Kafka answers a
            # failing log dir; the checkpoint is retried at the next retention check.
            for topic in topics:
                for entry in topic["partitions"]:
                    if not entry["error_code"]:
                        entry["error_code"] = int(ErrorCode.KAFKA_STORAGE_ERROR)
    return {"throttle_time_ms": 0, "topics": topics}
