"""ListConfigResources (key 74; KIP-1142, formerly ListClientMetricsResources), v0-v1.

v0 lists client-metrics resources only; v1 lists the types asked for, every supported one when
the list is empty: groups with configs (32), client-metrics subscriptions (16), then each live
broker as a broker logger (8) and as a broker (4), then every topic (2), in that order as Kafka
4.4 lists them (checked against ``ReferenceKafka(nodes=3)``), names sorted within a type. A type
outside those five fails the whole request with UNSUPPORTED_VERSION and no resources.
Client-metrics subscriptions come from ``state.client_metrics`` (broker/client_metrics_configs.py);
kafkalite keeps no group configs yet, so that type lists nothing.

With an authorizer, DESCRIBE_CONFIGS on the cluster is needed (CLUSTER_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP = 2, 4, 8, 16, 32
SUPPORTED = frozenset({TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP})


@api(74, "ListConfigResources", 0, 1)
async def handle_list_config_resources(ctx: RequestContext, request: Any) -> dict[str, Any]:
    if not authorized_cluster(ctx, Operation.DESCRIBE_CONFIGS):
        return _answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, [])
    if ctx.version == 0:
        wanted: set[int] = {CLIENT_METRICS}
    else:
        wanted = set(request.resource_types) or set(SUPPORTED)
        if not wanted <= SUPPORTED:
            return _answer(ErrorCode.UNSUPPORTED_VERSION, [])
    brokers = [str(i) for i in ctx.state.nodes.alive_ids()]
    rows: list[tuple[int, str]] = []
    if CLIENT_METRICS in wanted:
        rows += [(CLIENT_METRICS, name) for name in ctx.state.client_metrics.names()]
    for kind in (BROKER_LOGGER, BROKER):
        if kind in wanted:
            rows += [(kind, b) for b in brokers]
    if TOPIC in wanted:
        rows += [(TOPIC, name) for name in sorted(ctx.state.cluster.topics)]
    return _answer(ErrorCode.NONE, rows)


def _answer(code: ErrorCode, rows: list[tuple[int, str]]) -> dict[str, Any]:
    return {
        "throttle_time_ms": 0,
        "error_code": int(code),
        "config_resources": [{"resource_name": name, "resource_type": kind} for kind, name in rows],
    }
