"""CreateAcls (key 30), v1-v3 as Kafka 4.4 advertises: validate each binding, persist, answer per binding.

Without an authorizer (``authorizer.class.name`` empty) every creation answers SECURITY_DISABLED,
as Kafka does. An invalid binding (UNKNOWN/ANY types, an empty name, a principal without a type)
answers INVALID_REQUEST and does not stop the others.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import binding, validate_binding
from kafkalite.broker.authorizer import AclBinding
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

NO_AUTHORIZER = "No Authorizer is configured on the broker"


@api(30, "CreateAcls", 1, 3)
async def handle_create_acls(ctx: RequestContext, request: Any) -> dict[str, Any]:
    store = ctx.state.acls
    if not store.enabled:
        return {
            "throttle_time_ms": 0,
            "results": [
                {"error_code": int(ErrorCode.SECURITY_DISABLED), "error_message": NO_AUTHORIZER}
                for _ in request.creations
            ],
        }
    results: list[dict[str, Any]] = []
    valid: list[AclBinding] = []
    for c in request.creations:
        acl = binding(c.resource_type, c.resource_name, c.resource_pattern_type, c.principal, c.host, c.operation,
                      c.permission_type)
        problem = validate_binding(acl)
        if problem is None:
            valid.append(acl)
            results.append({"error_code": 0, "error_message": None})
        else:
            results.append({"error_code": int(ErrorCode.INVALID_REQUEST), "error_message": problem})
    store.create(valid)
    return {"throttle_time_ms": 0, "results": results}
