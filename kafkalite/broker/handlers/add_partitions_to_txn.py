"""AddPartitionsToTxn (key 24), v0-v4: partitions join the producer's transaction.

v0-v3 carry one transaction; v4 batches transactions and has the verify-only form brokers use
to check a partition is already in a transaction (KIP-890).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.handlers.txn_errors import fenced_for_version
from kafkalite.errors import ErrorCode


def _results(codes: dict[tuple[str, int], int], version: int) -> list[dict[str, Any]]:
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (topic, partition), code in codes.items():
        by_topic.setdefault(topic, []).append(
            {"partition_index": partition, "partition_error_code": fenced_for_version(code, version, 2)}
        )
    return [{"name": topic, "results_by_partition": rows} for topic, rows in by_topic.items()]


@api(24, "AddPartitionsToTxn", 0, 4)
async def handle_add_partitions_to_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    txns = ctx.state.txns
    now = ctx.state.clock.now_ms()
    if ctx.version < 4:
        partitions = [(t.name, p) for t in request.v3_and_below_topics for p in t.partitions]
        codes = txns.add_partitions(now, request.v3_and_below_transactional_id, request.v3_and_below_producer_id,
                                    request.v3_and_below_producer_epoch, partitions)
        return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": _results(codes, ctx.version)}
    results: list[dict[str, Any]] = []
    for txn in request.transactions:
        partitions = [(t.name, p) for t in txn.topics for p in t.partitions]
        if txn.verify_only:
            codes = txns.verify_partitions(txn.transactional_id, txn.producer_id, txn.producer_epoch, partitions)
        else:
            codes = txns.add_partitions(now, txn.transactional_id, txn.producer_id, txn.producer_epoch, partitions)
        results.append({"transactional_id": txn.transactional_id, "topic_results": _results(codes, ctx.version)})
    return {"throttle_time_ms": 0, "error_code": int(ErrorCode.NONE), "results_by_transaction": results}
