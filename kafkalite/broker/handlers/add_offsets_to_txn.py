"""AddOffsetsToTxn (key 25), v0-v3: a consumer group's offsets will be committed in the transaction.

With an authorizer: WRITE on the transactional id, then READ on the group (Kafka's order).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import txn_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import fenced_for_version


@api(25, "AddOffsetsToTxn", 0, 3)
async def handle_add_offsets_to_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    denied = denied_error(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactional_id) or (
        denied_error(ctx, Operation.READ, ResourceType.GROUP, request.group_id)
    )
    denied = denied or txn_coordinator_error(ctx, request.transactional_id)
    if denied:
        return {"throttle_time_ms": 0, "error_code": denied}
    code = ctx.state.txns.add_offsets(
        ctx.state.clock.now_ms(), request.transactional_id, request.producer_id, request.producer_epoch,
        request.group_id,
    )
    return {"throttle_time_ms": 0, "error_code": fenced_for_version(code, ctx.version, 2)}
