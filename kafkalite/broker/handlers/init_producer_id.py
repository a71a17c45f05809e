"""InitProducerId (key 22), v0-v5.

Without a transactional id: a fresh producer id at epoch 0 for an idempotent producer, or
the epoch bumped when it names its current id and epoch (KIP-360, v3+). With one: the
transaction coordinator bumps the epoch, fencing any older producer with that id and
aborting its open transaction. On a full disk (the id block cannot be saved) the answer is
COORDINATOR_NOT_AVAILABLE, and the client retries.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import fenced_for_version
from kafkalite.errors import ErrorCode


@api(22, "InitProducerId", 0, 5)
async def handle_init_producer_id(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    pid_in = request.producer_id if ctx.version >= 3 else -1
    epoch_in = request.producer_epoch if ctx.version >= 3 else -1
    if request.transactional_id is not None:
        code, pid, epoch = state.txns.init_producer_id(
            state.clock.now_ms(), request.transactional_id, request.transaction_timeout_ms, pid_in, epoch_in
        )
        code = fenced_for_version(code, ctx.version, 4)
    else:
        # Idempotent producers always get a fresh id (they bump their own epochs), so no client
        # can take over another producer's id by naming it.
        try:
            code, pid, epoch = int(ErrorCode.NONE), state.producer_ids.allocate(), 0
        except OSError:  # the next block of ids cannot be saved: retriable, as Kafka without a block
            code, pid, epoch = int(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS), -1, -1
    return {"throttle_time_ms": 0, "error_code": code, "producer_id": pid, "producer_epoch": epoch}
