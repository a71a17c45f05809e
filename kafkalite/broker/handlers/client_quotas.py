"""DescribeClientQuotas (key 48) and AlterClientQuotas (key 49), v0-v1 as Kafka 4.4 advertises.

Both check the cluster resource first, as KafkaApis / ControllerApis do: DESCRIBE_CONFIGS to
describe, ALTER_CONFIGS to alter; a refusal answers CLUSTER_AUTHORIZATION_FAILED for the whole
request (every entry, for an alteration). Filters and alterations are validated as Kafka's
ClientQuotasImage and ClientQuotaControlManager do (broker/quotas.py holds the rules and
messages): a bad filter fails the whole describe; a bad entry fails only that entity; the
request's entities are maps, so a repeated entity type keeps its last name and a repeated
entity is answered once.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.quotas import Alteration, QuotaRequestError, entity_of
from kafkalite.errors import ErrorCode

_CLUSTER_DENIED = "Cluster authorization failed."


def _entity_list(entity: Any) -> list[dict[str, Any]]:
    return [{"entity_type": t, "entity_name": n} for t, n in entity]


@api(48, "DescribeClientQuotas", 0, 1)
async def handle_describe_client_quotas(ctx: RequestContext, request: Any) -> dict[str, Any]:
    if not authorized_cluster(ctx, Operation.DESCRIBE_CONFIGS):
        return _describe_error(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, None)  # Kafka: no message
    components = [(c.entity_type, c.match_type, c.match) for c in request.components]
    try:
        found = ctx.state.quotas.describe(components, bool(request.strict))
    except QuotaRequestError as exc:
        return _describe_error(exc.code, exc.message)
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": "",  # Kafka 4.4 answers an empty message, not null, on success
        "entries": [
            {"entity": _entity_list(entity), "values": [{"key": k, "value": v} for k, v in values.items()]}
            for entity, values in found
        ],
    }


def _describe_error(code: ErrorCode, message: str | None) -> dict[str, Any]:
    return {"throttle_time_ms": 0, "error_code": int(code), "error_message": message, "entries": None}


@api(49, "AlterClientQuotas", 0, 1)
async def handle_alter_client_quotas(ctx: RequestContext, request: Any) -> dict[str, Any]:
    if not authorized_cluster(ctx, Operation.ALTER_CONFIGS):
        return {
            "throttle_time_ms": 0,
            "entries": [
                {
                    "error_code": int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
                    "error_message": _CLUSTER_DENIED,
                    "entity": [{"entity_type": e.entity_type, "entity_name": e.entity_name} for e in entry.entity],
                }
                for entry in request.entries
            ],
        }
    alterations = [
        Alteration(
            entity_of((e.entity_type, e.entity_name) for e in entry.entity),
            [(op.key, None if op.remove else float(op.value)) for op in entry.ops],
        )
        for entry in request.entries
    ]
    results = ctx.state.quotas.alter(alterations, bool(request.validate_only))
    return {
        "throttle_time_ms": 0,
        "entries": [
            {"error_code": int(code), "error_message": message, "entity": _entity_list(entity)}
            for entity, code, message in results
        ],
    }
