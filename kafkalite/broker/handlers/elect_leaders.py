"""ElectLeaders (key 43), v0-v2: with one broker every leader is already elected.

Named partitions answer ELECTION_NOT_NEEDED (Kafka's answer when the preferred leader already
leads; for unclean elections, when the partition has a leader), unknown ones
UNKNOWN_TOPIC_OR_PARTITION. A null partition list (all partitions) answers every topic with
an empty partition list, as Kafka does: it leaves out partitions whose election was not
needed, not their topics. The request succeeds.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(43, "ElectLeaders", 0, 2)
async def handle_elect_leaders(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
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
