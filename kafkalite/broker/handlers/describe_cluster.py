"""DescribeCluster (key 60), v0-v2: this one broker, which is also the controller.

A simulated cluster answers its live nodes (stopped ones too, fenced, when v2 asks for them)
and the lowest live node as the controller.

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

from kafkalite.broker.authorized_operations import described_cluster_operations
from kafkalite.broker.handlers.metadata import controller_id
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

BROKERS, CONTROLLERS = 1, 2


def _brokers(ctx: RequestContext, include_fenced: bool) -> list[dict[str, Any]]:
    """The live brokers; a stopped node of a simulated cluster is fenced, listed only on request (v2)."""
    nodes = ctx.state.nodes
    if not nodes.multi:
        host, port = ctx.advertised
        return [{"broker_id": ctx.state.config.node_id, "host": host, "port": port, "rack": None,
                 "is_fenced": False}]
    listed = nodes.all() if include_fenced else nodes.alive()
    entries = []
    for node in listed:
        host, port = ctx.address_of(node.node_id)
        entries.append({"broker_id": node.node_id, "host": host, "port": port, "rack": node.rack,
                        "is_fenced": not node.alive})
    return entries


@api(60, "DescribeCluster", 0, 2)
async def handle_describe_cluster(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
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
        "controller_id": controller_id(ctx),
        "brokers": _brokers(ctx, bool(getattr(request, "include_fenced_brokers", False))),
        "cluster_authorized_operations": described_cluster_operations(
            ctx, request.include_cluster_authorized_operations
        ),
    }

