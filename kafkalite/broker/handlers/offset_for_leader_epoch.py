"""OffsetForLeaderEpoch (key 23), v0-v4 (v0-v1 beyond Kafka 4): the end offset of a leader epoch.

With one broker every partition has had one leader, in epoch 0, so epoch 0 ends at the log end offset and any
other epoch is unknown (epoch -1, offset -1), as Kafka's leader epoch cache answers. A
``current_leader_epoch`` other than -1 or 0 is fenced (older) or unknown (newer). In a simulated
cluster the leader's epoch cache answers (``replica_logs.ReplicaLog.end_offset_for_epoch``).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

LEADER_EPOCH = 0


def _answer_from_cache(ctx: RequestContext, topic: str, p: Any, current: int, plog: Any, entry: dict[str, Any]) -> None:
    """Fencing by ``current_leader_epoch``, the leader check, then Kafka's LeaderEpochFileCache.endOffsetFor."""
    state = ctx.state.replicas.state(topic, p.partition)
    leader_epoch = state.leader_epoch if state is not None else 0
    if current >= 0 and current < leader_epoch:
        entry["error_code"] = int(ErrorCode.FENCED_LEADER_EPOCH)
    elif current > leader_epoch:
        entry["error_code"] = int(ErrorCode.UNKNOWN_LEADER_EPOCH)
    elif problem := ctx.state.replicas.leader_problem(topic, p.partition, ctx.node_id):
        entry["error_code"] = int(problem)  # only the leader answers (Kafka: fetchOnlyFromLeader)
    else:
        entry["leader_epoch"], entry["end_offset"] = plog.end_offset_for_epoch(p.leader_epoch)


@api(23, "OffsetForLeaderEpoch", 0, 4)
async def handle_offset_for_leader_epoch(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    replicating = ctx.state.replicating
    topics: list[dict[str, Any]] = []
    # KIP-320: consumers ask too, so DESCRIBE on the topic will do when CLUSTER_ACTION (brokers) is missing;
    # refused topics are listed after the others, as Kafka does.
    denied = (
        denied_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, (t.topic for t in request.topics))
        if ctx.state.acls.enabled and not authorized_cluster(ctx, Operation.CLUSTER_ACTION)
        else set()
    )
    refused: list[dict[str, Any]] = []
    for t in request.topics:
        if denied and t.topic in denied:
            code = int(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            rows = [{"error_code": code, "partition": p.partition, "leader_epoch": -1, "end_offset": -1}
                    for p in t.partitions]
            refused.append({"topic": t.topic, "partitions": rows})
            continue
        partitions: list[dict[str, Any]] = []
        for p in t.partitions:
            entry: dict[str, Any] = {
                "error_code": ErrorCode.NONE, "partition": p.partition, "leader_epoch": -1, "end_offset": -1
            }
            partitions.append(entry)
            plog = cluster.partition(t.topic, p.partition)
            current = getattr(p, "current_leader_epoch", -1)
            if plog is None:
                entry["error_code"] = int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            elif replicating:  # a simulated cluster: the leader's epoch cache answers
                _answer_from_cache(ctx, t.topic, p, current, plog, entry)
            elif current > LEADER_EPOCH:
                entry["error_code"] = int(ErrorCode.UNKNOWN_LEADER_EPOCH)
            elif 0 <= current < LEADER_EPOCH:
                entry["error_code"] = int(ErrorCode.FENCED_LEADER_EPOCH)
            elif p.leader_epoch == LEADER_EPOCH:
                entry["leader_epoch"] = LEADER_EPOCH
                entry["end_offset"] = plog.log_end_offset
        topics.append({"topic": t.topic, "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics + refused}
