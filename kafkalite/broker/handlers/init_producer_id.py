"""InitProducerId (key 22), v0-v5.

Without a transactional id: a fresh producer id at epoch 0 for an idempotent producer, or
the epoch bumped when it names its current id and epoch (KIP-360, v3+). With one: the
transaction coordinator bumps the epoch, fencing any older producer with that id and
aborting its open transaction. On a full disk (the id block cannot be saved) the answer is
COORDINATOR_NOT_AVAILABLE, and the client retries.

With an authorizer (KafkaApis): a transactional id needs WRITE on it
(TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent producer needs IDEMPOTENT_WRITE on the
cluster or WRITE on some topic (KIP-679), else CLUSTER_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_by_resource_type, authorized_cluster, denied_error
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import txn_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import fenced_for_version
from kafkalite.errors import ErrorCode


def _denied(ctx: RequestContext, transactional_id: str | None) -> int:
    if transactional_id is not None:
        return denied_error(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, transactional_id)
    if authorized_cluster(ctx, Operation.IDEMPOTENT_WRITE) or authorized_by_resource_type(
        ctx, Operation.WRITE, ResourceType.TOPIC
    ):
        return 0
    return int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)


@api(22, "InitProducerId", 0, 5)
async def handle_init_producer_id(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    denied = _denied(ctx, request.transactional_id) if state.acls.enabled else 0
    if denied:
        return {"throttle_time_ms": 0, "error_code": denied, "producer_id": -1, "producer_epoch": -1}
    not_here = txn_coordinator_error(ctx, request.transactional_id)
    if not_here:
        return {"throttle_time_ms": 0, "error_code": not_here, "producer_id": -1, "producer_epoch": -1}
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
