"""FindCoordinator (key 10), v0-v6: this broker coordinates every group and transaction.

v4+ batches keys (``coordinator_keys``); v0-v3 carry one key. With one broker the answer
never depends on the key, so it is always this broker's advertised address; a key type other
than group (0) or transaction (1) is INVALID_REQUEST, as Kafka answers it. In a simulated
cluster the key's coordinator is the replica manager's (Kafka's hash of the key over the
internal topic's leaders), at its address on the request's listener; while it has none,
COORDINATOR_NOT_AVAILABLE.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import DENIED_ERRORS, DENIED_MESSAGES, authorized
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.replication import CoordinatorKind
from kafkalite.errors import ErrorCode

GROUP_KEY_TYPE = 0
TRANSACTION_KEY_TYPE = 1
#: The resource a key names, which the principal must DESCRIBE (KafkaApis.getCoordinator).
KEY_RESOURCES = {GROUP_KEY_TYPE: ResourceType.GROUP, TRANSACTION_KEY_TYPE: ResourceType.TRANSACTIONAL_ID}


def _answer(ctx: RequestContext, key_type: int, key: str, batched: bool = False) -> dict[str, Any]:
    """This broker for a group or transaction key; INVALID_REQUEST (no node) for any other key type.

    Kafka fills ``error_message`` with the error's name even on success ("NONE"); in a batched
    (v4+) answer Kafka 4.4 leaves it empty, refusals included. With an authorizer, the principal
    must DESCRIBE the group or transactional id named by the key.
    """
    resource = KEY_RESOURCES.get(key_type)
    if resource is not None and ctx.state.acls.enabled and not authorized(ctx, Operation.DESCRIBE, resource, key):
        code = DENIED_ERRORS[resource]
        message = "" if batched else DENIED_MESSAGES[code]
        return {"error_code": int(code), "error_message": message, "node_id": -1, "host": "", "port": -1}
    if key_type not in (GROUP_KEY_TYPE, TRANSACTION_KEY_TYPE):
        return {"error_code": int(ErrorCode.INVALID_REQUEST),
                "error_message": f"Unsupported key type {key_type}", "node_id": -1, "host": "", "port": -1}
    if ctx.state.nodes.multi:
        kind: CoordinatorKind = "group" if key_type == GROUP_KEY_TYPE else "transaction"
        node = ctx.state.replicas.coordinator_node(kind, key)
        if node < 0:
            code = ErrorCode.COORDINATOR_NOT_AVAILABLE
            message = "" if batched else "The coordinator is not available."
            return {"error_code": int(code), "error_message": message, "node_id": -1, "host": "", "port": -1}
        host, port = ctx.address_of(node)
        return {"error_code": ErrorCode.NONE, "error_message": "" if batched else "NONE", "node_id": node,
                "host": host, "port": port}
    host, port = ctx.advertised
    return {
        "error_code": ErrorCode.NONE, "error_message": "" if batched else "NONE", "node_id": ctx.state.config.node_id,
        "host": host, "port": port,
    }


@api(10, "FindCoordinator", 0, 6)
async def handle_find_coordinator(ctx: RequestContext, request: Any) -> dict[str, Any]:
    key_type = request.key_type if ctx.version >= 1 else GROUP_KEY_TYPE
    if ctx.version >= 4:
        return {
            "throttle_time_ms": 0,
            "coordinators": [{"key": key, **_answer(ctx, key_type, key, batched=True)}
                             for key in request.coordinator_keys],
        }
    return {"throttle_time_ms": 0, **_answer(ctx, key_type, request.key)}
