"""ElectLeaders (key 43), v0-v2: with one broker every leader is already elected.

Named partitions answer ELECTION_NOT_NEEDED (Kafka's answer when the preferred leader already
leads; for unclean elections, when the partition has a leader), unknown ones
UNKNOWN_TOPIC_OR_PARTITION. A null partition list (all partitions) answers every topic with
an empty partition list, as Kafka does: it leaves out partitions whose election was not
needed, not their topics. The request succeeds.

With an authorizer, ALTER on the cluster is needed: Kafka's controller then fails the request
with CLUSTER_AUTHORIZATION_FAILED at the top level and on every partition named.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster, cluster_denied_message
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(43, "ElectLeaders", 0, 2)
async def handle_elect_leaders(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    if not authorized_cluster(ctx, Operation.ALTER):
        return _denied(ctx, request)
    results: list[dict[str, Any]] = []
    if request.topic_partitions is None:
        results = [{"topic": name, "partition_result": []} for name in sorted(cluster.topics)]
    for tp in request.topic_partitions or ():
        partitions: list[dict[str, Any]] = []
        for index in tp.partitions:
            if cluster.partition(tp.topic, index) is None:
                code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."
            else:
                code, message = ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."
            partitions.append({"partition_id": index, "error_code": int(code), "error_message": message})
        results.append({"topic": tp.topic, "partition_result": partitions})
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "replica_election_results": results}


def _denied(ctx: RequestContext, request: Any) -> dict[str, Any]:
    """ElectLeadersRequest.getErrorResponse: the error on top and on each partition named."""
    code, message = int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED), cluster_denied_message(ctx, Operation.ALTER)
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
