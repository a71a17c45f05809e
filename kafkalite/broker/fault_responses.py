"""An injected error in the shape the API itself answers it: every entry of the request gets it.

A client reads errors where the broker puts them: Produce per partition, Fetch per partition
(the top level only for session and whole-request errors, as Kafka's FetchRequest.getErrorResponse),
OffsetCommit per partition, CreateTopics per topic, FindCoordinator v4+ per key, OffsetFetch v8+
per group... So an injected NOT_LEADER_OR_FOLLOWER on Produce reaches the producer exactly as a
real leader change does. APIs not listed here carry the error in their top-level ``error_code``
(JoinGroup, Heartbeat, InitProducerId, EndTxn, ...). Offsets and watermarks are -1, as Kafka
answers a failed partition. Pure functions of the decoded request; no broker state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafkalite.errors import ErrorCode

Body = dict[str, Any]
Builder = Callable[[Any, int, int], Body]

#: Errors Kafka answers for a Fetch as a whole (top-level error_code, no partitions from v13).
FETCH_TOP_LEVEL = frozenset({
    ErrorCode.FETCH_SESSION_ID_NOT_FOUND, ErrorCode.INVALID_FETCH_SESSION_EPOCH,
    ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR, ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    ErrorCode.UNKNOWN_SERVER_ERROR, ErrorCode.INVALID_REQUEST, ErrorCode.UNSUPPORTED_VERSION,
    ErrorCode.INCONSISTENT_CLUSTER_ID,
})


def _topic_id(entry: Any) -> Any:
    return getattr(entry, "topic_id", None)


def _produce(request: Any, version: int, code: int) -> Body:
    return {"responses": [
        {"name": t.name, "topic_id": _topic_id(t), "partition_responses": [
            {"index": p.index, "error_code": code, "base_offset": -1, "log_append_time_ms": -1,
             "log_start_offset": -1, "record_errors": [], "error_message": None}
            for p in t.partition_data]}
        for t in request.topic_data]}


def _fetch(request: Any, version: int, code: int) -> Body:
    top = code if ErrorCode(code) in FETCH_TOP_LEVEL else 0
    topics = [] if top and version >= 13 else [
        {"topic": t.topic, "topic_id": _topic_id(t), "partitions": [
            {"partition_index": p.partition, "error_code": code, "high_watermark": -1, "last_stable_offset": -1,
             "log_start_offset": -1, "aborted_transactions": None, "preferred_read_replica": -1, "records": None}
            for p in t.partitions]}
        for t in request.topics]
    return {"error_code": top, "session_id": getattr(request, "session_id", 0) if not top else 0,
            "responses": topics}


def _list_offsets(request: Any, version: int, code: int) -> Body:
    return {"topics": [
        {"name": t.name, "partitions": [
            {"partition_index": p.partition_index, "error_code": code, "timestamp": -1, "offset": -1,
             "old_style_offsets": [], "leader_epoch": -1}
            for p in t.partitions]}
        for t in request.topics]}


def _metadata(request: Any, version: int, code: int) -> Body:
    return {"topics": [{"name": t.name, "error_code": code} for t in request.topics or ()]}


def _offset_commit(request: Any, version: int, code: int) -> Body:
    return {"topics": [
        {"name": t.name, "topic_id": _topic_id(t), "partitions": [
            {"partition_index": p.partition_index, "error_code": code} for p in t.partitions]}
        for t in request.topics]}


def _offset_fetch(request: Any, version: int, code: int) -> Body:
    """As OffsetFetchRequest.getErrorResponse: per group from v8, the top-level code alone from v2,
    per partition before (v0-1 have no top-level code)."""
    if version >= 8:
        return {"groups": [{"group_id": g.group_id, "error_code": code, "topics": []} for g in request.groups]}
    if version >= 2:
        return {"error_code": code, "topics": []}
    return {"topics": [
        {"name": t.name, "partitions": [
            {"partition_index": p, "committed_offset": -1, "committed_leader_epoch": -1, "metadata": "",
             "error_code": code}
            for p in t.partition_indexes]}
        for t in request.topics or ()]}


def _find_coordinator(request: Any, version: int, code: int) -> Body:
    if version >= 4:
        return {"coordinators": [
            {"key": key, "node_id": -1, "host": "", "port": -1, "error_code": code, "error_message": None}
            for key in request.coordinator_keys]}
    return {"error_code": code, "error_message": None, "node_id": -1, "host": "", "port": -1}


def _describe_groups(request: Any, version: int, code: int) -> Body:
    return {"groups": [
        {"group_id": g, "error_code": code, "group_state": "", "protocol_type": "", "protocol_data": "",
         "members": [], "authorized_operations": -2147483648}
        for g in request.groups]}


def _delete_groups(request: Any, version: int, code: int) -> Body:
    return {"results": [{"group_id": g, "error_code": code} for g in request.groups_names]}


def _init_producer_id(request: Any, version: int, code: int) -> Body:
    return {"error_code": code, "producer_id": -1, "producer_epoch": -1}


def _add_partitions_to_txn(request: Any, version: int, code: int) -> Body:
    if version >= 4:
        return {"error_code": code, "results_by_transaction": []}
    return {"results_by_topic_v3_and_below": [
        {"name": t.name, "results_by_partition": [
            {"partition_index": p, "partition_error_code": code} for p in t.partitions]}
        for t in request.v3_and_below_topics]}


def _txn_offset_commit(request: Any, version: int, code: int) -> Body:
    return {"topics": [
        {"name": t.name, "partitions": [
            {"partition_index": p.partition_index, "error_code": code} for p in t.partitions]}
        for t in request.topics]}


def _delete_records(request: Any, version: int, code: int) -> Body:
    return {"topics": [
        {"name": t.name, "partitions": [
            {"partition_index": p.partition_index, "low_watermark": -1, "error_code": code}
            for p in t.partitions]}
        for t in request.topics]}


def _offset_for_leader_epoch(request: Any, version: int, code: int) -> Body:
    return {"topics": [
        {"topic": t.topic, "partitions": [
            {"partition": p.partition, "error_code": code, "leader_epoch": -1, "end_offset": -1}
            for p in t.partitions]}
        for t in request.topics]}


def _create_topics(request: Any, version: int, code: int) -> Body:
    return {"topics": [
        {"name": t.name, "error_code": code, "error_message": None, "num_partitions": -1,
         "replication_factor": -1, "configs": None}
        for t in request.topics]}


def _delete_topics(request: Any, version: int, code: int) -> Body:
    if version >= 6:
        entries = [(t.name, t.topic_id) for t in request.topics]
    else:
        entries = [(name, None) for name in request.topic_names]
    return {"responses": [
        {"name": name, "topic_id": topic_id, "error_code": code, "error_message": None}
        for name, topic_id in entries]}


BUILDERS: dict[int, Builder] = {
    0: _produce,
    1: _fetch,
    2: _list_offsets,
    3: _metadata,
    8: _offset_commit,
    9: _offset_fetch,
    10: _find_coordinator,
    15: _describe_groups,
    19: _create_topics,
    20: _delete_topics,
    21: _delete_records,
    22: _init_producer_id,
    23: _offset_for_leader_epoch,
    24: _add_partitions_to_txn,
    28: _txn_offset_commit,
    42: _delete_groups,
}


def error_body(api_key: int, version: int, request: Any, error: ErrorCode) -> Body:
    """The response body answering ``request`` with ``error`` everywhere the API carries one."""
    builder = BUILDERS.get(api_key)
    if builder is None:
        return {"error_code": int(error)}
    return builder(request, version, int(error))
