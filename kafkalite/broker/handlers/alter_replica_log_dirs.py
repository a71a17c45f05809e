"""AlterReplicaLogDirs (key 34), v1-v2: move replicas of the node asked between its log dirs.

As Kafka's ReplicaManager.alterReplicaLogDirs answers, per partition: a path that is not one
of this node's log dirs (compared exactly, as an absolute path string) is LOG_DIR_NOT_FOUND; an
unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION; a partition this node holds no replica
of REPLICA_NOT_AVAILABLE; KAFKA_STORAGE_ERROR if its dir or the target is offline (an I/O
error took it out of service); a replica already in that dir NONE (nothing moves); else the node's
LogManager moves it (``broker/log_dirs.move``: a future log, then a swap) and the answer is
NONE, or KAFKA_STORAGE_ERROR if the move fails. Results are grouped by topic, in request order.

With an authorizer, ALTER on the cluster is needed: every partition then answers
CLUSTER_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kafkalite.broker.acls import authorized_cluster
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.log_dirs import log_dir_of, move, node_log_dirs, offline_dirs, replica_log
from kafkalite.errors import ErrorCode

log = logging.getLogger(__name__)


@api(34, "AlterReplicaLogDirs", 1, 2)
async def handle_alter_replica_log_dirs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    node = ctx.node_id
    allowed = authorized_cluster(ctx, Operation.ALTER)
    dirs = {str(d): d for d in node_log_dirs(state, node)}
    results: dict[str, list[dict[str, Any]]] = {}
    for entry in request.dirs:
        target = dirs.get(entry.path)
        for topic in entry.topics:
            for index in topic.partitions:
                code = _alter(ctx, topic.name, index, target) if allowed else ErrorCode.CLUSTER_AUTHORIZATION_FAILED
                results.setdefault(topic.name, []).append({"partition_index": index, "error_code": int(code)})
    return {
        "throttle_time_ms": 0,
        "results": [{"topic_name": name, "partitions": parts} for name, parts in results.items()],
    }


def _alter(ctx: RequestContext, name: str, index: int, target: Path | None) -> ErrorCode:
    state = ctx.state
    if target is None:
        return ErrorCode.LOG_DIR_NOT_FOUND
    topic = state.cluster.topics.get(name)
    if topic is None or not 0 <= index < len(topic.partitions):
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    plog = replica_log(state, ctx.node_id, name, index)
    if plog is None:
        return ErrorCode.REPLICA_NOT_AVAILABLE
    current = log_dir_of(state, ctx.node_id, plog)
    if current in offline_dirs(state, ctx.node_id) or target in offline_dirs(state, ctx.node_id):
        return ErrorCode.KAFKA_STORAGE_ERROR
    if current == target:
        return ErrorCode.NONE
    try:
        moved = move(state, ctx.node_id, name, index, target)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("moving %s-%d to %s failed: %s", name, index, target, exc)
        return ErrorCode.KAFKA_STORAGE_ERROR
    return ErrorCode.NONE if moved else ErrorCode.KAFKA_STORAGE_ERROR
