"""TxnOffsetCommit (key 28), v0-v4: offsets held by the group until the transaction ends.

The producer must have added the group with AddOffsetsToTxn; v3+ may name the consumer's
generation and member id, which are checked like OffsetCommit's.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import denied_error, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import group_coordinator_error
from kafkalite.broker.handlers.offsets import commit_partitions, every_partition
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import not_in_transaction
from kafkalite.errors import ErrorCode


@api(28, "TxnOffsetCommit", 0, 4)
async def handle_txn_offset_commit(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    groups = state.groups
    # Kafka: WRITE on the transactional id, then READ on the group, then READ on each topic.
    denied = denied_error(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactional_id) or (
        denied_error(ctx, Operation.READ, ResourceType.GROUP, request.group_id)
    )
    if denied:
        return {"throttle_time_ms": 0, "topics": every_partition(request.topics, denied)}
    # Sent to the group's coordinator (Kafka's TxnOffsetCommit goes to the group coordinator).
    not_here = group_coordinator_error(ctx, request.group_id)
    group_error = not_here or state.txns.ongoing_with_group(
        request.transactional_id, request.producer_id, request.producer_epoch, request.group_id
    )
    if not_here:
        group_error = not_here
    elif group_error == ErrorCode.INVALID_TXN_STATE:
        group_error = not_in_transaction(ctx.version, 4)
    elif not group_error and ctx.version >= 3:
        group_error = groups.validate_txn_commit(
            request.group_id, request.generation_id, request.member_id or "", request.group_instance_id
        )
    elif not group_error:
        group_error = groups.validate_txn_commit(request.group_id, -1, "", None)
    now = state.clock.now_ms()
    topics = commit_partitions(
        ctx, request.topics, group_error,
        lambda topic, partition, offset, epoch, meta: groups.txn_commit(
            now, request.group_id, request.producer_id, topic, partition, offset, epoch, meta
        ),
        leader_epoch_version=2,
        denied=denied_names(ctx, Operation.READ, ResourceType.TOPIC, (t.name for t in request.topics)),
    )
    return {"throttle_time_ms": 0, "topics": topics}
