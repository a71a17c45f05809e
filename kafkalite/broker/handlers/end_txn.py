"""EndTxn (key 26), v0-v4: commit or abort; markers are in every partition before the answer."""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import fenced_for_version


@api(26, "EndTxn", 0, 4)
async def handle_end_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    code = ctx.state.txns.end_txn(
        ctx.state.clock.now_ms(), request.transactional_id, request.producer_id, request.producer_epoch,
        request.committed,
    )
    await ctx.state.markers_synced()  # under ``--fsync always`` the markers are on disk first
    return {"throttle_time_ms": 0, "error_code": fenced_for_version(code, ctx.version, 2)}
