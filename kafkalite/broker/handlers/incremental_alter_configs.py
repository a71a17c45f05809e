"""IncrementalAlterConfigs (key 44), v0-v1: SET, DELETE, APPEND and SUBTRACT per config.

APPEND and SUBTRACT apply to list configs only (``cleanup.policy``), starting from the
resource's current value or its default. The result is validated and applied exactly as
AlterConfigs does (see alter_configs.py), atomically per resource.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.configs import ResourceError
from kafkalite.broker.handlers.alter_configs import resource_result
from kafkalite.broker.handlers.registry import RequestContext, api


@api(44, "IncrementalAlterConfigs", 0, 1)
async def handle_incremental_alter_configs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    resources = ctx.state.configs
    responses: list[dict[str, Any]] = []
    for res in request.resources:
        try:
            ops = [(c.name, c.config_operation, c.value) for c in res.configs]
            configs = resources.incremental(res.resource_type, res.resource_name, ops)
            resources.replace(res.resource_type, res.resource_name, dict(configs), request.validate_only)
        except ResourceError as exc:
            responses.append(resource_result(res, exc.code, exc.message))
            continue
        responses.append(resource_result(res))
    return {"throttle_time_ms": 0, "responses": responses}
