"""IncrementalAlterConfigs (key 44), v0-v1: SET, DELETE, APPEND and SUBTRACT per config.

APPEND and SUBTRACT apply to list configs only (``cleanup.policy``), starting from the
resource's current value or its default. The result is validated and applied exactly as
AlterConfigs does (see alter_configs.py), atomically per resource, and authorized as it is
(ALTER_CONFIGS on the topic, or on the cluster for broker resources).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.configs import ConfigResources, ResourceError
from kafkalite.broker.handlers import client_metrics_resources as client_metrics
from kafkalite.broker.handlers.alter_configs import authorize, resource_result
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

#: How configs.incremental words the request's own form problems (answered before authorization).
_FORM_PROBLEMS = ("Error due to duplicate config keys", "Null value not supported")


@api(44, "IncrementalAlterConfigs", 0, 1)
async def handle_incremental_alter_configs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    resources = ctx.state.configs
    responses: list[dict[str, Any]] = []
    for res in request.resources:
        try:
            if res.resource_type == client_metrics.CLIENT_METRICS:  # KIP-714 subscriptions (H6)
                client_metrics.incremental(ctx, res, request.validate_only)
                responses.append(resource_result(res))
                continue
            ops = [(c.name, c.config_operation, c.value) for c in res.configs]
            configs = _incremental(ctx, resources, res, ops)
            resources.replace(res.resource_type, res.resource_name, dict(configs), request.validate_only)
        except ResourceError as exc:
            responses.append(resource_result(res, exc.code, exc.message))
            continue
        responses.append(resource_result(res))
    return {"throttle_time_ms": 0, "responses": responses}


def _incremental(
    ctx: RequestContext, resources: ConfigResources, res: Any, ops: list[tuple[str, int, str | None]]
) -> dict[str, str]:
    """The new configs, authorized as Kafka 4.4 does: after the request's form, before the rest.

    Duplicate keys and null values are answered as such; any other problem (unknown topic, bad
    operation, broker configs) of a resource the principal may not alter is not revealed.
    """
    try:
        configs = resources.incremental(res.resource_type, res.resource_name, ops)
    except ResourceError as exc:
        if exc.code != ErrorCode.INVALID_REQUEST or not (exc.message or "").startswith(_FORM_PROBLEMS):
            authorize(ctx, res)
        raise
    authorize(ctx, res)
    return configs
