"""InitProducerId (key 22), v0-v5, for idempotent producers.

A producer without a transactional id gets a fresh producer id at epoch 0. A request that
names its current id and epoch (KIP-360, v3+) gets the epoch bumped so it can reset its
sequences. Transactional ids are the transaction coordinator's business and are refused
until it exists.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

MAX_EPOCH = 32767


@api(22, "InitProducerId", 0, 5)
async def handle_init_producer_id(ctx: RequestContext, request: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"throttle_time_ms": 0, "error_code": 0, "producer_id": -1, "producer_epoch": -1}
    if request.transactional_id is not None:
        body["error_code"] = int(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        return body
    allocator = ctx.state.producer_ids
    if ctx.version >= 3 and request.producer_id >= 0 and 0 <= request.producer_epoch < MAX_EPOCH - 1:
        body["producer_id"] = request.producer_id
        body["producer_epoch"] = request.producer_epoch + 1
    else:
        body["producer_id"] = allocator.allocate()
        body["producer_epoch"] = 0
    return body
