"""FindCoordinator (key 10), v0-v6: this broker coordinates every group and transaction.

v4+ batches keys (``coordinator_keys``); v0-v3 carry one key. With one broker the answer
never depends on the key, so it is always this broker's advertised address.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api

GROUP_KEY_TYPE = 0
TRANSACTION_KEY_TYPE = 1


@api(10, "FindCoordinator", 0, 6)
async def handle_find_coordinator(ctx: RequestContext, request: Any) -> dict[str, Any]:
    node = ctx.state.config.node_id
    host, port = ctx.state.config.advertised
    if ctx.version >= 4:
        return {
            "throttle_time_ms": 0,
            "coordinators": [
                {"key": key, "node_id": node, "host": host, "port": port, "error_code": 0, "error_message": None}
                for key in request.coordinator_keys
            ],
        }
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": None,
        "node_id": node,
        "host": host,
        "port": port,
    }
