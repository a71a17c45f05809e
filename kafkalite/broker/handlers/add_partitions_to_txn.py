"""AddPartitionsToTxn (key 24), v0-v4: partitions join the producer's transaction.

v0-v3 carry one transaction; v4 batches transactions and has the verify-only form brokers use
to check a partition is already in a transaction (KIP-890).

With an authorizer (KafkaApis): v4 comes from brokers and needs CLUSTER_ACTION (else the request
is CLUSTER_AUTHORIZATION_FAILED); v0-v3 need WRITE on the transactional id (every partition
TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and on each topic (internal topics never): a refused
topic's partitions are TOPIC_AUTHORIZATION_FAILED, unknown ones UNKNOWN_TOPIC_OR_PARTITION, and
the others OPERATION_NOT_ATTEMPTED, as nothing is added.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster, denied_error, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.coordination import txn_coordinator_error
from kafkalite.broker.handlers.produce import INTERNAL_TOPICS
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


def _refused(ctx: RequestContext, transactional_id: str, partitions: list[tuple[str, int]]) -> dict[
    tuple[str, int], int
] | None:
    """Error per partition when the client's (v0-v3) transaction or topics are not WRITE-able, else None."""
    code = denied_error(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, transactional_id)
    if code:
        return dict.fromkeys(partitions, code)
    topics = {t for t, _ in partitions}
    internal = topics & INTERNAL_TOPICS
    denied = denied_names(ctx, Operation.WRITE, ResourceType.TOPIC, topics - internal) | internal
    if not denied:
        return None
    cluster = ctx.state.cluster
    return {
        (t, p): int(ErrorCode.TOPIC_AUTHORIZATION_FAILED) if t in denied
        else int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) if cluster.partition(t, p) is None
        else int(ErrorCode.OPERATION_NOT_ATTEMPTED)
        for t, p in partitions
    }


@api(24, "AddPartitionsToTxn", 0, 4)
async def handle_add_partitions_to_txn(ctx: RequestContext, request: Any) -> dict[str, Any]:
    txns = ctx.state.txns
    now = ctx.state.clock.now_ms()
    if ctx.version < 4:
        partitions = [(t.name, p) for t in request.v3_and_below_topics for p in t.partitions]
        txn_id = request.v3_and_below_transactional_id
        refused = _refused(ctx, txn_id, partitions) if ctx.state.acls.enabled else None
        not_here = txn_coordinator_error(ctx, txn_id) if refused is None else 0
        if not_here:
            refused = {p: not_here for p in partitions}
        codes = refused if refused is not None else txns.add_partitions(
            now, txn_id, request.v3_and_below_producer_id, request.v3_and_below_producer_epoch, partitions
        )
        return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": _results(codes, ctx.version)}
    if ctx.state.acls.enabled and not authorized_cluster(ctx, Operation.CLUSTER_ACTION):
        return {"throttle_time_ms": 0, "error_code": int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
                "results_by_transaction": []}
    results: list[dict[str, Any]] = []
    for txn in request.transactions:
        partitions = [(t.name, p) for t in txn.topics for p in t.partitions]
        not_here = txn_coordinator_error(ctx, txn.transactional_id)
        if not_here:
            codes = {p: not_here for p in partitions}
        elif txn.verify_only:
            codes = txns.verify_partitions(txn.transactional_id, txn.producer_id, txn.producer_epoch, partitions)
        else:
            codes = txns.add_partitions(now, txn.transactional_id, txn.producer_id, txn.producer_epoch, partitions)
        results.append({"transactional_id": txn.transactional_id, "topic_results": _results(codes, ctx.version)})
    return {"throttle_time_ms": 0, "error_code": int(ErrorCode.NONE), "results_by_transaction": results}
