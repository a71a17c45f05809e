"""DescribeCluster (key 60), v0-v2: this one broker, which is also the controller.

Endpoint type 1 (brokers) and 2 (controllers) both answer this node, since its one listener
plays both roles (Kafka's broker listener answers type 2 with MISMATCHED_ENDPOINT_TYPE; here
an admin client given ``bootstrap.controllers`` works too); any other type is answered as Kafka
does, UNSUPPORTED_ENDPOINT_TYPE with no brokers. No broker is ever fenced. Authorized operations,
when asked for, are every operation the cluster supports, as Kafka without an authorizer answers.

With an authorizer the request itself needs no ACL (Kafka's AuthHelper.computeDescribeClusterResponse):
the cluster's authorized operations are the principal's own, or 0 without DESCRIBE on the cluster.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster
from kafkalite.broker.authorized_operations import operations_for
from kafkalite.broker.authorizer import CLUSTER_NAME, Operation, ResourceType
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

BROKERS, CONTROLLERS = 1, 2


@api(60, "DescribeCluster", 0, 2)
async def handle_describe_cluster(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    host, port = ctx.advertised
    node = state.config.node_id
    endpoint_type = getattr(request, "endpoint_type", BROKERS)
    if endpoint_type not in (BROKERS, CONTROLLERS):
        return {
            "throttle_time_ms": 0,
            "error_code": int(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE),
            "error_message": f"Unsupported endpoint type {endpoint_type}",
            "endpoint_type": BROKERS,
            "cluster_id": state.cluster.cluster_id,
            "controller_id": -1,
            "brokers": [],
        }
    return {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "endpoint_type": endpoint_type,
        "cluster_id": state.cluster.cluster_id,
        "controller_id": node,
        "brokers": [{"broker_id": node, "host": host, "port": port, "rack": None, "is_fenced": False}],
        "cluster_authorized_operations": _operations(ctx, request.include_cluster_authorized_operations),
    }


def _operations(ctx: RequestContext, requested: bool) -> int:
    if requested and not authorized_cluster(ctx, Operation.DESCRIBE):
        return 0
    return operations_for(ctx, ResourceType.CLUSTER, CLUSTER_NAME, requested)
