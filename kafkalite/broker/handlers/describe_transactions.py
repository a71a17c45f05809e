"""DescribeTransactions (key 65) and ListTransactions (key 66), v0 and v0-v2.

With an authorizer, as Kafka: DescribeTransactions answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED
for a transactional id the principal may not DESCRIBE and leaves out the topics it may not
DESCRIBE; ListTransactions lists only the transactional ids it may DESCRIBE.
"""

from __future__ import annotations

import re
from typing import Any

from kafkalite.broker.acls import authorized_names, denied_error
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import txn_coordinator_error
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.coordinator.txn import OFFSETS_TOPIC, TxnState, offsets_partition
from kafkalite.errors import ErrorCode

TRANSACTIONAL_ID_NOT_FOUND = int(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)


@api(65, "DescribeTransactions", 0, 0)
async def handle_describe_transactions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    states: list[dict[str, Any]] = []
    for txn_id in request.transactional_ids:
        denied = denied_error(ctx, Operation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, txn_id) or (
            txn_coordinator_error(ctx, txn_id)
        )
        meta = None if denied else ctx.state.txns.describe(txn_id)
        if meta is None:
            states.append(
                {
                    "error_code": denied or TRANSACTIONAL_ID_NOT_FOUND,
                    "transactional_id": txn_id,
                    "transaction_state": "",  # the schema's defaults, as Kafka answers
                    "transaction_timeout_ms": 0,
                    "transaction_start_time_ms": 0,
                    "producer_id": 0,
                    "producer_epoch": 0,
                    "topics": [],
                }
            )
            continue
        by_topic: dict[str, list[int]] = {}
        # A group's offsets are part of the transaction through its offsets partition, as in Kafka.
        for topic, partition in sorted(meta.partitions | {(OFFSETS_TOPIC, offsets_partition(g)) for g in meta.groups}):
            by_topic.setdefault(topic, []).append(partition)
        if ctx.state.acls.enabled:  # only the topics the principal may describe
            visible = authorized_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, by_topic)
            by_topic = {t: ps for t, ps in by_topic.items() if t in visible}
        states.append(
            {
                "error_code": int(ErrorCode.NONE),
                "transactional_id": txn_id,
                "transaction_state": meta.state.value,
                "transaction_timeout_ms": meta.timeout_ms,
                "transaction_start_time_ms": meta.start_ms,
                "producer_id": meta.producer_id,
                "producer_epoch": meta.producer_epoch,
                "topics": [{"topic": t, "partitions": ps} for t, ps in by_topic.items()],
            }
        )
    return {"throttle_time_ms": 0, "transaction_states": states}


@api(66, "ListTransactions", 0, 2)
async def handle_list_transactions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    known = {s.value for s in TxnState}
    wanted_states = set(request.state_filters)
    pids = set(request.producer_id_filters)
    min_duration = request.duration_filter if ctx.version >= 1 else -1
    pattern = request.transactional_id_pattern if ctx.version >= 2 else None
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error:  # as Kafka: the whole request fails with this error, nothing listed
        return {"throttle_time_ms": 0, "error_code": int(ErrorCode.INVALID_REGULAR_EXPRESSION),
                "unknown_state_filters": [], "transaction_states": []}
    now = ctx.state.clock.now_ms()
    listed: list[dict[str, Any]] = []
    for meta in ctx.state.txns.transactions():
        if wanted_states and meta.state.value not in wanted_states:
            continue
        if pids and meta.producer_id not in pids:
            continue
        # As Kafka: only transactions running at least that long are kept; one that has not
        # started (start time -1) counts as running since the epoch, so it is always kept.
        if min_duration >= 0 and now - meta.start_ms < min_duration:
            continue
        if regex is not None and not regex.fullmatch(meta.transactional_id):
            continue
        if denied_error(ctx, Operation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, meta.transactional_id):
            continue
        listed.append(
            {
                "transactional_id": meta.transactional_id,
                "producer_id": meta.producer_id,
                "transaction_state": meta.state.value,
            }
        )
    return {
        "throttle_time_ms": 0,
        "error_code": int(ErrorCode.NONE),
        "unknown_state_filters": sorted(wanted_states - known),
        "transaction_states": listed,
    }
