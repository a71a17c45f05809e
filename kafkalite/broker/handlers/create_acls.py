"""CreateAcls (key 30), v1-v3 as Kafka 4.4 advertises: validate each binding, persist, answer per binding.

As Kafka 4.4 does (recorded in the ``acls`` conformance family): a binding with an UNKNOWN element
closes the connection (the request's own validation); without an authorizer
(``authorizer.class.name`` empty) every creation answers SECURITY_DISABLED; a binding with ANY or
MATCH elements fails the whole request (UNKNOWN_SERVER_ERROR for each, nothing created); an
empty name, a CLUSTER name other than kafka-cluster or a principal without a type answers
INVALID_REQUEST for that binding only.

ALTER on the cluster is needed (Kafka's AclApis.authorizeClusterOperation, checked after the request's
own validation and before SECURITY_DISABLED): without it the answer is CLUSTER_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import (
    authorized_cluster,
    binding,
    cluster_denied_message,
    has_unknown,
    is_filter_only,
    validate_binding,
)
from kafkalite.broker.authorizer import AclBinding, Operation
from kafkalite.broker.handlers.registry import CloseConnection, RequestContext, api
from kafkalite.errors import ErrorCode
from kafkalite.storage.metadata_log import unsaved_message

NO_AUTHORIZER = "No Authorizer is configured on the broker"  # DescribeAcls' words
#: CreateAcls' and DeleteAcls' (Kafka 4.4's SecurityDisabledException text).
NO_AUTHORIZER_CONFIGURED = "No Authorizer is configured."


@api(30, "CreateAcls", 1, 3)
async def handle_create_acls(ctx: RequestContext, request: Any) -> dict[str, Any]:
    store = ctx.state.acls
    acls = [
        binding(c.resource_type, c.resource_name, c.resource_pattern_type, c.principal, c.host, c.operation,
                c.permission_type)
        for c in request.creations
    ]
    if any(has_unknown(acl) for acl in acls):
        raise CloseConnection("CreateAcls: a binding holds an UNKNOWN element")
    if not authorized_cluster(ctx, Operation.ALTER):
        denied = {
            "error_code": int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
            "error_message": cluster_denied_message(ctx, Operation.ALTER),
        }
        return {"throttle_time_ms": 0, "results": [dict(denied) for _ in acls]}
    if not store.enabled:
        return {
            "throttle_time_ms": 0,
            "results": [
                {"error_code": int(ErrorCode.SECURITY_DISABLED), "error_message": NO_AUTHORIZER_CONFIGURED}
                for _ in request.creations
            ],
        }
    if any(is_filter_only(acl) for acl in acls):
        failed = {"error_code": int(ErrorCode.UNKNOWN_SERVER_ERROR), "error_message": None}
        return {"throttle_time_ms": 0, "results": [dict(failed) for _ in acls]}
    results: list[dict[str, Any]] = []
    valid: list[AclBinding] = []
    for acl in acls:
        problem = validate_binding(acl)
        if problem is None:
            valid.append(acl)
            results.append({"error_code": 0, "error_message": ""})
        else:
            results.append({"error_code": int(ErrorCode.INVALID_REQUEST), "error_message": problem})
    try:
        store.create(valid)
    except OSError as exc:  # a full disk: none is created; those it would have added say so
        failed = {"error_code": int(ErrorCode.KAFKA_STORAGE_ERROR), "error_message": unsaved_message(exc)}
        results = [
            dict(failed) if result["error_code"] == 0 and acl not in store.acls else result
            for acl, result in zip(acls, results)
        ]
    return {"throttle_time_ms": 0, "results": results}
