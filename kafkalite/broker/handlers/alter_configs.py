"""AlterConfigs (key 33), v0-v2: replace a resource's whole set of configs.

Topic configs are validated by name and value (INVALID_CONFIG), persisted in topics.json and
applied to the open partitions at once (segment.bytes affects the next roll, max.message.bytes
the next produce, retention the next check). Broker resources ("1" or "" for the cluster
default) take dynamic broker configs only: anything else answers INVALID_REQUEST with Kafka's
"Cannot update these configs dynamically". ``validate_only`` checks and changes nothing.

With an authorizer, ALTER_CONFIGS on the topic, or on the cluster for broker resources, is
needed (Kafka's ControllerApis.authorizeAlterResource). As Kafka 4.4 does, the request's form
(duplicate keys, null values) is checked first, then the authorization, then everything else
(unknown topic, config names and values, broker configs' validity); a denied topic answers
TOPIC_AUTHORIZATION_FAILED with Kafka's message, a denied broker resource
CLUSTER_AUTHORIZATION_FAILED without one.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import config_denied_message, config_resource_denied
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.client_metrics_configs import CLIENT_METRICS
from kafkalite.broker.configs import ConfigResources, ResourceError
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


def resource_result(res: Any, code: ErrorCode = ErrorCode.NONE, message: str | None = None) -> dict[str, Any]:
    return {
        "error_code": int(code),
        "error_message": message,
        "resource_type": res.resource_type,
        "resource_name": res.resource_name,
    }


@api(33, "AlterConfigs", 0, 2)
async def handle_alter_configs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    resources = ctx.state.configs
    responses: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for res in request.resources:
        key = (res.resource_type, res.resource_name)
        if key in seen:
            responses.append(resource_result(res, ErrorCode.INVALID_REQUEST, "Duplicate resource in the request"))
            continue
        seen.add(key)
        configs: dict[str, str | None] = {}
        try:
            for c in res.configs:
                if c.name in configs:
                    raise ResourceError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")  # Kafka 4.4
                if c.value is None:
                    raise ResourceError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {c.name}")
                configs[c.name] = c.value
            authorize_then_replace(ctx, resources, res, configs, request.validate_only)
        except ResourceError as exc:
            responses.append(resource_result(res, exc.code, exc.message))
            continue
        responses.append(resource_result(res))
    return {"throttle_time_ms": 0, "responses": responses}


def authorize(ctx: RequestContext, res: Any) -> None:
    """ALTER_CONFIGS on the resource, or the error Kafka 4.4 answers for it."""
    refused = config_resource_denied(ctx, Operation.ALTER_CONFIGS, res.resource_type, res.resource_name)
    if refused is not None:
        raise ResourceError(refused, config_denied_message(refused))


def authorize_then_replace(
    ctx: RequestContext, resources: ConfigResources, res: Any, configs: dict[str, str | None], validate_only: bool
) -> None:
    if res.resource_type == CLIENT_METRICS:  # KIP-714 subscriptions (client_metrics_resources.py)
        from kafkalite.broker.handlers.client_metrics_resources import replace

        replace(ctx, res, configs, validate_only)
        return
    authorize(ctx, res)
    resources.replace(res.resource_type, res.resource_name, configs, validate_only)
