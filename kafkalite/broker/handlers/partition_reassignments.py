"""AlterPartitionReassignments (key 45, v0-v1) and ListPartitionReassignments (key 46, v0).

The request is checked here as Kafka's controller checks it (ReplicationControlManager.
alterPartitionReassignment), with its messages: "Unable to find a topic named <t>.", "Unable to
find partition <t>:<i>." (UNKNOWN_TOPIC_OR_PARTITION); INVALID_REPLICA_ASSIGNMENT for an empty
replica list, a broker that is not registered (a stopped node still is) or one named twice,
checked over the ids in ascending order; v1 with ``allow_replication_factor_change`` false refuses
a different replica count (INVALID_REPLICATION_FACTOR "The replication factor is changed from
N to M"). Cancelling (null replicas) where nothing is in progress is NO_REASSIGNMENT_IN_PROGRESS
with no message. What a valid reassignment does (adding replicas catch up, then the removing
ones leave, leadership follows) is ``state.replicas.reassign``'s; this module never changes a
partition itself. An empty topic list answers an empty error message (Kafka's default), a
non-empty one a null message.

ListPartitionReassignments lists the partitions with replicas joining or leaving: replicas
(target first, then the leaving ones, as Kafka merges them), adding and removing. Null topics
means all; named topics or partitions that do not exist, or are not moving, are left out.

With an authorizer: ALTER on the cluster for the first (CLUSTER_AUTHORIZATION_FAILED on top and
on every partition), DESCRIBE on the cluster for the second (on top).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster, cluster_denied_message
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.create_topics import replica_list_problem
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


class _Refused(Exception):
    def __init__(self, code: ErrorCode, message: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@api(45, "AlterPartitionReassignments", 0, 1)
async def handle_alter_partition_reassignments(ctx: RequestContext, request: Any) -> dict[str, Any]:
    allow_rf_change = bool(request.allow_replication_factor_change) if ctx.version >= 1 else True
    top: dict[str, Any] = {"throttle_time_ms": 0, "allow_replication_factor_change": allow_rf_change}
    if not authorized_cluster(ctx, Operation.ALTER):
        denied, why = int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED), cluster_denied_message(ctx, Operation.ALTER)
        return {
            **top,
            "error_code": denied,
            "error_message": why,
            "responses": [
                {
                    "name": t.name,
                    "partitions": [
                        {"partition_index": p.partition_index, "error_code": denied, "error_message": why}
                        for p in t.partitions
                    ],
                }
                for t in request.topics
            ],
        }
    responses = []
    for t in request.topics:
        partitions = []
        for p in t.partitions:
            message: str | None
            try:
                _reassign(ctx, t.name, p.partition_index, p.replicas, allow_rf_change)
                code, message = ErrorCode.NONE, None
            except _Refused as refused:
                code, message = refused.code, refused.message
            partitions.append({"partition_index": p.partition_index, "error_code": int(code), "error_message": message})
        responses.append({"name": t.name, "partitions": partitions})
    return {
        **top,
        "error_code": ErrorCode.NONE,
        "error_message": None if request.topics else "",
        "responses": responses,
    }


def _reassign(ctx: RequestContext, name: str, index: int, target: list[int] | None, allow_rf_change: bool) -> None:
    """Check one partition's reassignment as Kafka does, then hand it to the replica manager."""
    state = ctx.state
    topic = state.cluster.topics.get(name)
    if topic is None:
        raise _Refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find a topic named {name}.")
    current = state.replicas.state(name, index) if 0 <= index < len(topic.partitions) else None
    if current is None:
        raise _Refused(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {name}:{index}.")
    if target is None:
        if not current.adding_replicas and not current.removing_replicas:
            raise _Refused(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, None)
    else:
        problem = replica_list_problem(list(target), set(state.nodes.ids), None)
        if problem is not None:
            raise _Refused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem)
        original = [r for r in current.replicas if r not in current.adding_replicas]
        if not allow_rf_change and len(target) != len(original):
            raise _Refused(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"The replication factor is changed from {len(original)} to {len(target)}",
            )
    code, message = state.replicas.reassign(name, index, None if target is None else list(target))
    if code not in (ErrorCode.NONE, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS):
        raise _Refused(code, message)
    if code != ErrorCode.NONE:
        raise _Refused(code, None)


@api(46, "ListPartitionReassignments", 0, 0)
async def handle_list_partition_reassignments(ctx: RequestContext, request: Any) -> dict[str, Any]:
    if not authorized_cluster(ctx, Operation.DESCRIBE):
        return {
            "throttle_time_ms": 0,
            "error_code": int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
            "error_message": cluster_denied_message(ctx, Operation.DESCRIBE),
            "topics": [],
        }
    topics = ctx.state.cluster.topics
    wanted: list[tuple[str, list[int] | None]]
    if request.topics is None:
        wanted = [(name, None) for name in sorted(topics)]
    else:
        wanted = [(t.name, list(t.partition_indexes)) for t in request.topics]
    out = []
    for name, indexes in wanted:
        topic = topics.get(name)
        if topic is None:
            continue
        count = len(topic.partitions)
        partitions = []
        for index in range(count) if indexes is None else indexes:
            st = ctx.state.replicas.state(name, index) if 0 <= index < count else None
            if st is None or not (st.adding_replicas or st.removing_replicas):
                continue
            partitions.append(
                {
                    "partition_index": index,
                    "replicas": list(st.replicas),
                    "adding_replicas": list(st.adding_replicas),
                    "removing_replicas": list(st.removing_replicas),
                }
            )
        if partitions:
            out.append({"name": name, "partitions": partitions})
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None, "topics": out}
