"""DescribeConfigs (key 32), v0-v4 (v0 beyond Kafka 4).

Topic resources list every topic config with its value and source (topic override, dynamic
broker, dynamic cluster default, static broker config, built-in default); broker resources
("1", or "" for the cluster default, which lists only what is set there) list the broker's
configs, read-only unless dynamically updatable. Synonyms (v1+) name the broker settings a
topic config falls back to, strongest first. Sensitive (password) values are always null.
``include_documentation`` (v3+) adds one line of documentation per entry. v0 has no
sources, only ``is_default`` (true for a value nobody set).

With an authorizer (Kafka's ConfigHelper): DESCRIBE_CONFIGS on the topic (topic resources) or on
the cluster (broker resources) is needed, checked before the resource is looked at; a denied
resource answers TOPIC_/CLUSTER_AUTHORIZATION_FAILED with Kafka's message and no configs, after
the allowed ones.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import DENIED_MESSAGES, config_resource_denied
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.configs import ResourceError
from kafkalite.broker.handlers import client_metrics_resources as client_metrics
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(32, "DescribeConfigs", 0, 4)
async def handle_describe_configs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    resources = ctx.state.configs
    synonyms = bool(getattr(request, "include_synonyms", False))
    documentation = bool(getattr(request, "include_documentation", False))
    results: list[dict[str, Any]] = []
    denied: list[dict[str, Any]] = []
    for res in request.resources:
        entry: dict[str, Any] = {
            "error_code": ErrorCode.NONE,
            "error_message": "",  # Kafka answers an empty message, not null, for a described resource
            "resource_type": res.resource_type,
            "resource_name": res.resource_name,
            "configs": [],
        }
        refused = config_resource_denied(ctx, Operation.DESCRIBE_CONFIGS, res.resource_type, res.resource_name)
        if refused is not None:
            entry.update(error_code=int(refused), error_message=DENIED_MESSAGES[refused])
            denied.append(entry)
            continue
        keys = list(res.configuration_keys) if res.configuration_keys is not None else None
        try:
            if res.resource_type == client_metrics.CLIENT_METRICS:  # KIP-714 subscriptions (H6)
                entry["configs"] = client_metrics.describe(ctx, res.resource_name, keys, synonyms, documentation)
            else:
                entry["configs"] = resources.describe(
                    res.resource_type, res.resource_name, keys, synonyms, documentation
                )
        except ResourceError as exc:
            entry["error_code"] = int(exc.code)
            entry["error_message"] = exc.message
            entry["configs"] = []
        results.append(entry)
    return {"throttle_time_ms": 0, "results": results + denied}
