"""TxnOffsetCommit (key 28), v0-v4: offsets held by the group until the transaction ends.

The producer must have added the group with AddOffsetsToTxn; v3+ may name the consumer's
generation and member id, which are checked like OffsetCommit's.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.offsets import commit_partitions
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import not_in_transaction
from kafkalite.coordinator.txn import TxnState
from kafkalite.errors import ErrorCode


@api(28, "TxnOffsetCommit", 0, 4)
async def handle_txn_offset_commit(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    groups = state.groups
    txn = state.txns.txns.get(request.transactional_id)
    if txn is None or txn.producer_id != request.producer_id:
        group_error = int(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
    elif request.producer_epoch != txn.producer_epoch:
        # Kafka verifies the write like a produce to the offsets partition: a stale epoch is
        # INVALID_PRODUCER_EPOCH at every version, not PRODUCER_FENCED.
        group_error = int(ErrorCode.INVALID_PRODUCER_EPOCH)
    elif txn.state != TxnState.ONGOING or request.group_id not in txn.groups:
        group_error = not_in_transaction(ctx.version, 4)
    elif ctx.version >= 3:
        group_error = groups.validate_txn_commit(
            request.group_id, request.generation_id, request.member_id or "", request.group_instance_id
        )
    else:
        group_error = groups.validate_txn_commit(request.group_id, -1, "", None)
    now = state.clock.now_ms()
    topics = commit_partitions(
        ctx, request.topics, group_error,
        lambda topic, partition, offset, epoch, meta: groups.txn_commit(
            now, request.group_id, request.producer_id, topic, partition, offset, epoch, meta
        ),
        leader_epoch_version=2,
    )
    return {"throttle_time_ms": 0, "topics": topics}
