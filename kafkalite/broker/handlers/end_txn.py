"""EndTxn (key 26), v0-v4: commit or abort; markers are in every partition before the answer.

With an authorizer the transactional id needs WRITE (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import txn_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import fenced_for_version


@api(26, "EndTxn", 0, 4)
async def handle_end_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    denied = denied_error(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactional_id)
    denied = denied or txn_coordinator_error(ctx, request.transactional_id)
    if denied:
        return {"throttle_time_ms": 0, "error_code": denied}
    code = ctx.state.txns.end_txn(
        ctx.state.clock.now_ms(), request.transactional_id, request.producer_id, request.producer_epoch,
        request.committed,
    )
    await ctx.state.markers_synced()  # under ``--fsync always`` the markers are on disk first
    return {"throttle_time_ms": 0, "error_code": fenced_for_version(code, ctx.version, 2)}
