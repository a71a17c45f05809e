"""DescribeQuorum (key 55), v0-v2: the simulated KRaft metadata quorum (``broker/quorum.py``).

Answers as a combined-mode Kafka 4.4 does (checked against ``ReferenceKafka(nodes=3)``): the one
partition ``__cluster_metadata``-0 with its leader, epoch, high watermark and every voter's log
end offset (v1+: last fetch and last caught-up times, wall clock; v2: a zero directory id, as a
statically configured quorum has), no observers, and (v2) the voters' endpoints under the
listener name CONTROLLER. kafkalite has no separate controller port, so a voter's endpoint is
its node's own address. Every node answers the same (Kafka forwards to the quorum leader).
Another topic or partition gets UNKNOWN_TOPIC_OR_PARTITION ("This server does not host this
topic-partition.") with zero leader, epoch and offsets, and then no nodes; error messages are
empty strings, as Kafka sends them.

With an authorizer, DESCRIBE on the cluster is needed (CLUSTER_AUTHORIZATION_FAILED on top).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster, cluster_denied_message
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

METADATA_TOPIC = "__cluster_metadata"
CONTROLLER_LISTENER = "CONTROLLER"


@api(55, "DescribeQuorum", 0, 2)
async def handle_describe_quorum(ctx: RequestContext, request: Any) -> dict[str, Any]:
    if not authorized_cluster(ctx, Operation.DESCRIBE):
        return {
            "error_code": int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
            "error_message": cluster_denied_message(ctx, Operation.DESCRIBE),
            "topics": [],
            "nodes": [],
        }
    quorum = ctx.state.quorum
    topics = []
    described = False
    for topic in request.topics:
        partitions = []
        for p in topic.partitions:
            if topic.topic_name == METADATA_TOPIC and p.partition_index == 0:
                described = True
                voters = [
                    {
                        "replica_id": v.replica_id,
                        "replica_directory_id": None,
                        "log_end_offset": v.log_end_offset,
                        "last_fetch_timestamp": v.last_fetch_timestamp,
                        "last_caught_up_timestamp": v.last_caught_up_timestamp,
                    }
                    for v in quorum.voter_states()
                ]
                partitions.append(
                    {
                        "partition_index": 0,
                        "error_code": ErrorCode.NONE,
                        "error_message": "",
                        "leader_id": quorum.leader_id,
                        "leader_epoch": quorum.leader_epoch,
                        "high_watermark": quorum.high_watermark(),
                        "current_voters": voters,
                        "observers": [],
                    }
                )
            else:
                partitions.append(
                    {
                        "partition_index": p.partition_index,
                        "error_code": int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
                        "error_message": "This server does not host this topic-partition.",
                        "leader_id": 0,
                        "leader_epoch": 0,
                        "high_watermark": 0,
                        "current_voters": [],
                        "observers": [],
                    }
                )
        topics.append({"topic_name": topic.topic_name, "partitions": partitions})
    nodes = []
    if described:
        for voter in quorum.voters:
            node = ctx.state.nodes.get(voter)
            nodes.append(
                {"node_id": voter, "listeners": [{"name": CONTROLLER_LISTENER, "host": node.host, "port": node.port}]}
            )
    return {"error_code": ErrorCode.NONE, "error_message": "", "topics": topics, "nodes": nodes}
