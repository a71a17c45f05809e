"""ElectLeaders (key 43), v0-v2: preferred and unclean elections, decided by ``state.replicas.elect``.

As Kafka's controller (ReplicationControlManager.electLeaders) answers: an unknown topic is
UNKNOWN_TOPIC_OR_PARTITION "No such topic as <t>", an unknown partition "No such partition as
<t>-<i>"; a partition whose preferred replica already leads (preferred) or that has a leader
(unclean) is ELECTION_NOT_NEEDED; a preferred replica that is down or out of the ISR is
PREFERRED_LEADER_NOT_AVAILABLE, no live replica for an unclean election
ELIGIBLE_LEADERS_NOT_AVAILABLE, each with the error's own message; an election made is NONE
with no message. An election type other than 0/1 fails the request with INVALID_REQUEST on top
and on every partition ("Unknown election type N"). v0 has no type: preferred.

A null partition list means every partition of every topic: topics are all listed, but only the
partitions whose election was needed (made or failed), as Kafka does. With one broker every
leader is already the preferred one, so that list is every topic with no partitions.

With an authorizer, ALTER on the cluster is needed: Kafka's controller then fails the request
with CLUSTER_AUTHORIZATION_FAILED at the top level and on every partition named.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster, cluster_denied_message
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.replication import ElectionKind
from kafkalite.errors import ErrorCode

_KINDS: dict[int, ElectionKind] = {0: "preferred", 1: "unclean"}

#: Kafka's answers carry the error's default message (ApiError(Errors.X)); NONE carries none.
_MESSAGES: dict[ErrorCode, str | None] = {
    ErrorCode.NONE: None,
    ErrorCode.ELECTION_NOT_NEEDED: "Leader election not needed for topic partition.",
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE: "The preferred leader was not available.",
    ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE: "Eligible topic partition leaders are not available.",
}


@api(43, "ElectLeaders", 0, 2)
async def handle_elect_leaders(ctx: RequestContext, request: Any) -> dict[str, Any]:
    if not authorized_cluster(ctx, Operation.ALTER):
        return _failed(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, cluster_denied_message(ctx, Operation.ALTER))
    election_type = request.election_type if ctx.version >= 1 else 0
    kind = _KINDS.get(election_type)
    if kind is None:
        return _failed(request, ErrorCode.INVALID_REQUEST, f"Unknown election type {election_type}")
    cluster = ctx.state.cluster
    results: list[dict[str, Any]] = []
    if request.topic_partitions is None:
        for name in sorted(cluster.topics):
            partitions = []
            for index in range(len(cluster.topics[name].partitions)):
                entry = _elect(ctx, name, index, kind)
                if entry["error_code"] != ErrorCode.ELECTION_NOT_NEEDED:
                    partitions.append(entry)
            results.append({"topic": name, "partition_result": partitions})
    for tp in request.topic_partitions or ():
        results.append({"topic": tp.topic, "partition_result": [_elect(ctx, tp.topic, i, kind) for i in tp.partitions]})
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "replica_election_results": results}


def _elect(ctx: RequestContext, topic_name: str, index: int, kind: ElectionKind) -> dict[str, Any]:
    topic = ctx.state.cluster.topics.get(topic_name)
    message: str | None
    if topic is None:
        code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"No such topic as {topic_name}"
    elif not 0 <= index < len(topic.partitions):
        code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"No such partition as {topic_name}-{index}"
    else:
        code, message = ctx.state.replicas.elect(topic_name, index, kind)
        message = _MESSAGES.get(code, message)
    return {"partition_id": index, "error_code": int(code), "error_message": message}


def _failed(request: Any, error: ErrorCode, message: str) -> dict[str, Any]:
    """ElectLeadersRequest.getErrorResponse: the error on top and on each partition named."""
    code = int(error)
    return {
        "throttle_time_ms": 0,
        "error_code": code,
        "replica_election_results": [
            {
                "topic": tp.topic,
                "partition_result": [
                    {"partition_id": index, "error_code": code, "error_message": message} for index in tp.partitions
                ],
            }
            for tp in request.topic_partitions or ()
        ],
    }
