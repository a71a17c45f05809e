"""AddOffsetsToTxn (key 25), v0-v3: a consumer group's offsets will be committed in the transaction."""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import fenced_for_version


@api(25, "AddOffsetsToTxn", 0, 3)
async def handle_add_offsets_to_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    code = ctx.state.txns.add_offsets(
        ctx.state.clock.now_ms(), request.transactional_id, request.producer_id, request.producer_epoch,
        request.group_id,
    )
    return {"throttle_time_ms": 0, "error_code": fenced_for_version(code, ctx.version, 2)}
