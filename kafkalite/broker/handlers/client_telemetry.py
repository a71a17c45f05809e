"""GetTelemetrySubscriptions (key 71) and PushTelemetry (key 72), v0, KIP-714.

Registered but not advertised, as Apache Kafka 4.4 does when no telemetry receiver plugin is
configured: clients that follow ApiVersions (the Java client) never send them; a client that
sends them anyway gets Kafka's answers: an instance id, no requested metrics, a 5-minute push
interval, throttling inside the interval (see ``kafkalite/broker/client_telemetry.py``).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api


@api(71, "GetTelemetrySubscriptions", 0, 0, advertised=False)
async def handle_get_telemetry_subscriptions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    return ctx.state.telemetry.get_subscriptions(request.client_instance_id, ctx.state.clock.now_ms())


@api(72, "PushTelemetry", 0, 0, advertised=False)
async def handle_push_telemetry(ctx: RequestContext, request: Any) -> dict[str, Any]:
    error = ctx.state.telemetry.push(
        request.client_instance_id, request.subscription_id, request.terminating, request.compression_type,
        request.metrics, ctx.state.clock.now_ms(),
    )
    return {"throttle_time_ms": 0, "error_code": int(error)}
