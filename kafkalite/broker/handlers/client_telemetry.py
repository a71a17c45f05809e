"""GetTelemetrySubscriptions (key 71) and PushTelemetry (key 72), v0, KIP-714.

Advertised in ApiVersions only when the broker has a telemetry receiver (its Prometheus
endpoint, ``--metrics-port``), as Apache Kafka 4.4 advertises them only with a receiver plugin;
without one they are still answered when sent, as Kafka does. The client's match attributes
come from the request header (client id), the connection's ApiVersions (software name and
version) and its address. See ``kafkalite/broker/client_telemetry.py``.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api


@api(71, "GetTelemetrySubscriptions", 0, 0, advertised=False)
async def handle_get_telemetry_subscriptions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    return ctx.state.telemetry.get_subscriptions(
        request.client_instance_id, ctx.state.clock.now_ms(), ctx.header.client_id, ctx.peer
    )


@api(72, "PushTelemetry", 0, 0, advertised=False)
async def handle_push_telemetry(ctx: RequestContext, request: Any) -> dict[str, Any]:
    error = ctx.state.telemetry.push(
        request.client_instance_id, request.subscription_id, request.terminating, request.compression_type,
        request.metrics, ctx.state.clock.now_ms(), ctx.header.client_id, ctx.peer,
    )
    return {"throttle_time_ms": 0, "error_code": int(error)}
