"""DescribeCluster (key 60), v0-v2: this one broker, which is also the controller.

Endpoint type 1 (brokers) and 2 (controllers) both answer this node, since it plays both
roles; no broker is ever fenced. Authorized operations, when asked for, are all the cluster's
(no authorizer, as Kafka reports it).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker import authorized_operations
from kafkalite.broker.handlers.registry import RequestContext, api


@api(60, "DescribeCluster", 0, 2)
async def handle_describe_cluster(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    host, port = state.config.advertised
    node = state.config.node_id
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": None,
        "endpoint_type": getattr(request, "endpoint_type", 1),
        "cluster_id": state.cluster.cluster_id,
        "controller_id": node,
        "brokers": [{"broker_id": node, "host": host, "port": port, "rack": None, "is_fenced": False}],
        "authorized_operations": authorized_operations.if_requested(
            request.include_cluster_authorized_operations, authorized_operations.CLUSTER
        ),
    }
