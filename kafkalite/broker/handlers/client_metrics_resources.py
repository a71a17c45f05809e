"""CLIENT_METRICS config resources (type 16) in the config APIs: the handlers' hook.

DescribeConfigs, AlterConfigs and IncrementalAlterConfigs hand a type-16 resource here; the
subscriptions themselves live in broker/client_metrics_configs.py (``state.client_metrics``).
As Kafka 4.4 does: DESCRIBE_CONFIGS / ALTER_CONFIGS on the cluster is needed (checked by the
handlers' usual authorization, CLUSTER_AUTHORIZATION_FAILED); a request's form (duplicate keys,
null values) is answered before authorization.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.client_metrics_configs import CLIENT_METRICS
from kafkalite.broker.configs import ResourceError
from kafkalite.broker.handlers.alter_configs import authorize
from kafkalite.broker.handlers.registry import RequestContext
from kafkalite.errors import ErrorCode

__all__ = ["CLIENT_METRICS", "describe", "incremental", "replace"]

SET = 0


def describe(ctx: RequestContext, name: str, keys: list[str] | None, synonyms: bool,
             documentation: bool) -> list[dict[str, Any]]:
    return ctx.state.client_metrics.describe(name, keys, synonyms, documentation)


def incremental(ctx: RequestContext, res: Any, validate_only: bool) -> None:
    """IncrementalAlterConfigs of one subscription (after the request's form and the authorization)."""
    ops: list[tuple[str, int, str | None]] = [(c.name, c.config_operation, c.value) for c in res.configs]
    seen: set[str] = set()
    for key, op, value in ops:
        if key in seen:
            raise ResourceError(ErrorCode.INVALID_REQUEST, f"Error due to duplicate config keys : {key}")
        seen.add(key)
        if op == SET and value is None:
            raise ResourceError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {key}")
    authorize(ctx, res)
    ctx.state.client_metrics.incremental(res.resource_name, ops, validate_only)


def replace(ctx: RequestContext, res: Any, configs: dict[str, str | None], validate_only: bool) -> None:
    """AlterConfigs of one subscription: its whole set of configs."""
    authorize(ctx, res)
    whole = {key: value or "" for key, value in configs.items()}
    ctx.state.client_metrics.replace(res.resource_name, whole, validate_only)
