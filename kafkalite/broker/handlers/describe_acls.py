"""DescribeAcls (key 29), v1-v3 as Kafka 4.4 advertises: the bindings a filter matches, grouped by resource.

MATCH finds every binding that applies to the named resource (literal, ``*`` and prefixes);
null name, principal and host match anything. SECURITY_DISABLED without an authorizer; a filter
with an UNKNOWN element closes the connection, as Kafka's request validation does.

DESCRIBE on the cluster is needed (Kafka's AclApis.authorizeClusterOperation, checked after the request's
own validation and before SECURITY_DISABLED): without it the answer is CLUSTER_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import acl_filter, authorized_cluster, cluster_denied_message, has_unknown
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.create_acls import NO_AUTHORIZER
from kafkalite.broker.handlers.registry import CloseConnection, RequestContext, api
from kafkalite.errors import ErrorCode


@api(29, "DescribeAcls", 1, 3)
async def handle_describe_acls(ctx: RequestContext, request: Any) -> dict[str, Any]:
    store = ctx.state.acls
    flt = acl_filter(
        request.resource_type_filter, request.resource_name_filter, request.pattern_type_filter,
        request.principal_filter, request.host_filter, request.operation, request.permission_type,
    )
    if has_unknown(flt):
        raise CloseConnection("DescribeAcls: the filter holds an UNKNOWN element")
    if not authorized_cluster(ctx, Operation.DESCRIBE):
        return _error(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, cluster_denied_message(ctx, Operation.DESCRIBE))
    if not store.enabled:
        return _error(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER)
    resources: dict[tuple[int, str, int], list[dict[str, Any]]] = {}
    for acl in store.matching(flt):
        key = (int(acl.resource_type), acl.name, int(acl.pattern_type))
        resources.setdefault(key, []).append(
            {"principal": acl.principal, "host": acl.host, "operation": int(acl.operation),
             "permission_type": int(acl.permission)}
        )
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": "",
        "resources": [
            {"resource_type": rt, "resource_name": name, "pattern_type": pt, "acls": acls}
            for (rt, name, pt), acls in resources.items()
        ],
    }


def _error(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"throttle_time_ms": 0, "error_code": int(code), "error_message": message, "resources": []}
