"""DeleteAcls (key 31), v1-v3 as Kafka 4.4 advertises: remove what each filter matches, persist, report them.

A filter with an UNKNOWN element closes the connection (Kafka's request validation); without an
authorizer every filter answers SECURITY_DISABLED.

ALTER on the cluster is needed (Kafka's AclApis.authorizeClusterOperation, checked after the request's
own validation and before SECURITY_DISABLED): without it the answer is CLUSTER_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import acl_filter, authorized_cluster, cluster_denied_message, has_unknown
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.create_acls import NO_AUTHORIZER_CONFIGURED
from kafkalite.broker.handlers.registry import CloseConnection, RequestContext, api
from kafkalite.errors import ErrorCode
from kafkalite.storage.metadata_log import unsaved_message


@api(31, "DeleteAcls", 1, 3)
async def handle_delete_acls(ctx: RequestContext, request: Any) -> dict[str, Any]:
    store = ctx.state.acls
    filters = [
        acl_filter(f.resource_type_filter, f.resource_name_filter, f.pattern_type_filter, f.principal_filter,
                   f.host_filter, f.operation, f.permission_type)
        for f in request.filters
    ]
    if any(has_unknown(f) for f in filters):
        raise CloseConnection("DeleteAcls: a filter holds an UNKNOWN element")
    if not authorized_cluster(ctx, Operation.ALTER):
        denied = {
            "error_code": int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
            "error_message": cluster_denied_message(ctx, Operation.ALTER),
            "matching_acls": [],
        }
        return {"throttle_time_ms": 0, "filter_results": [dict(denied) for _ in filters]}
    if not store.enabled:
        return {
            "throttle_time_ms": 0,
            "filter_results": [
                {
                    "error_code": int(ErrorCode.SECURITY_DISABLED),
                    "error_message": NO_AUTHORIZER_CONFIGURED,
                    "matching_acls": [],
                }
                for _ in filters
            ],
        }
    try:
        deletions = store.delete(filters)
    except OSError as exc:  # a full disk: none is deleted; the filters that match something say so
        unsaved = unsaved_message(exc)
        return {
            "throttle_time_ms": 0,
            "filter_results": [
                {"error_code": int(ErrorCode.KAFKA_STORAGE_ERROR), "error_message": unsaved, "matching_acls": []}
                if store.matching(f) else {"error_code": 0, "error_message": None, "matching_acls": []}
                for f in filters
            ],
        }
    results = [
        {
            "error_code": 0,
            "error_message": None,
            "matching_acls": [
                {"error_code": 0, "error_message": None, "resource_type": int(a.resource_type),
                 "resource_name": a.name, "pattern_type": int(a.pattern_type), "principal": a.principal,
                 "host": a.host, "operation": int(a.operation), "permission_type": int(a.permission)}
                for a in deleted
            ],
        }
        for deleted in deletions
    ]
    return {"throttle_time_ms": 0, "filter_results": results}
