"""Produce (key 0), v0-v13.

v0-v2 come from clients older than Kafka 0.11 and carry v0/v1 message sets, which are
up-converted to one v2 batch first.

Per partition: the records must be whole v2 batches with good CRC-32C (CORRUPT_MESSAGE)
and sane counts (INVALID_RECORD), each at most ``max.message.bytes`` (MESSAGE_TOO_LARGE).
Valid batches get offsets patched into their headers and are written as received; records
are never decoded. Transactional batches must belong to an open transaction that contains the
partition (KIP-890 verification, INVALID_TXN_STATE otherwise); control batches are the
broker's own and refused from clients. acks=0 gets no response at all, and a failure closes the
connection instead (Kafka's signal to the client); acks must be -1, 0 or 1. v13 names topics
by id. Topics are not auto-created here (Kafka creates them on Metadata only).
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import CloseConnection, RequestContext, api
from kafkalite.errors import ErrorCode
from kafkalite.records.batch import BatchHeader, InvalidBatch, validate_batches
from kafkalite.records.legacy import up_convert
from kafkalite.records.records import iter_records
from kafkalite.records.rewrite import apply_topic_compression
from kafkalite.storage.producer_state import SequenceError

TOPIC_ID_VERSION = 13
MAGIC_V2_VERSION = 3


def _has_keyless_record(records: bytes, headers: list[BatchHeader]) -> bool:
    """Whether any record lacks a key: compacted topics refuse those, so only they pay to look."""
    for header in headers:
        batch = bytes(memoryview(records)[header.position : header.position + header.length])
        if any(r.key is None for r in iter_records(batch, header._replace(position=0))):
            return True
    return False


def _partition_error(index: int, code: ErrorCode, message: str | None = None) -> dict[str, Any]:
    return {
        "index": index,
        "error_code": int(code),
        "base_offset": -1,
        "log_append_time_ms": -1,
        "log_start_offset": -1,
        "record_errors": [],
        "error_message": message,
    }


@api(0, "Produce", 0, 13)
async def handle_produce(ctx: RequestContext, request: Any) -> dict[str, Any] | None:
    state = ctx.state
    cluster = state.cluster
    acks = request.acks
    by_id = ctx.version >= TOPIC_ID_VERSION
    responses: list[dict[str, Any]] = []
    for topic_data in request.topic_data:
        topic = cluster.by_id.get(topic_data.topic_id) if by_id else cluster.topics.get(topic_data.name)
        missing = ErrorCode.UNKNOWN_TOPIC_ID if by_id else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        results: list[dict[str, Any]] = []
        if topic is not None:  # the topic's configs, read once for all its partitions
            compacted = "compact" in cluster.topic_config(topic, "cleanup.policy")
            limit = int(cluster.topic_config(topic, "max.message.bytes"))
            compression = cluster.topic_config(topic, "compression.type")
        for part in topic_data.partition_data:
            index = part.index
            if acks not in (-1, 0, 1):
                results.append(_partition_error(index, ErrorCode.INVALID_REQUIRED_ACKS))
                continue
            if topic is None or not 0 <= index < len(topic.partitions):
                results.append(
                    _partition_error(index, missing if topic is None else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                )
                continue
            records = part.records
            if records is None:
                results.append(_partition_error(index, ErrorCode.INVALID_RECORD, "no records"))
                continue
            try:
                if ctx.version < MAGIC_V2_VERSION:
                    records = up_convert(records)  # an old client's v0/v1 message set
                headers = validate_batches(records)
            except InvalidBatch as exc:
                code = ErrorCode.CORRUPT_MESSAGE if exc.corrupt else ErrorCode.INVALID_RECORD
                results.append(_partition_error(index, code, str(exc)))
                continue
            first = headers[0]
            if any(h.is_control for h in headers):
                results.append(
                    _partition_error(
                        index, ErrorCode.INVALID_RECORD, "Clients are not allowed to write control records"
                    )
                )
                continue
            if first.is_transactional:
                txn_id = request.transactional_id
                code = (
                    state.txns.verify_produce(txn_id, first.producer_id, first.producer_epoch, (topic.name, index))
                    if txn_id is not None
                    else int(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
                )
                if code:
                    results.append(_partition_error(index, ErrorCode(code)))
                    continue
            if compacted and _has_keyless_record(records, headers):
                results.append(
                    _partition_error(
                        index,
                        ErrorCode.INVALID_RECORD,
                        f"Compacted topic cannot accept message without key in topic partition {topic.name}-{index}.",
                    )
                )
                continue
            too_big = next((h for h in headers if h.length > limit), None)
            if too_big is not None:
                results.append(
                    _partition_error(
                        index,
                        ErrorCode.MESSAGE_TOO_LARGE,
                        f"The batch of {too_big.length} bytes exceeds max.message.bytes {limit}",
                    )
                )
                continue
            plog = topic.partitions[index]
            data, headers = apply_topic_compression(compression, records, headers)
            try:
                result = plog.append(data, headers)
            except SequenceError as exc:
                code = (
                    ErrorCode.INVALID_PRODUCER_EPOCH
                    if exc.kind == "invalid_epoch"
                    else ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
                )
                results.append(_partition_error(index, code, str(exc)))
                continue
            if state.config.fsync == "always":
                await state.flush_now(plog)
            state.appended(topic.name, index, plog)
            results.append(
                {
                    "index": index,
                    "error_code": 0,
                    "base_offset": result.base_offset,
                    "log_append_time_ms": result.log_append_time,
                    "log_start_offset": plog.log_start_offset,
                    "record_errors": [],
                    "error_message": None,
                }
            )
        entry: dict[str, Any] = {"partition_responses": results}
        if by_id:
            entry["topic_id"] = topic_data.topic_id
        else:
            entry["name"] = topic_data.name
        responses.append(entry)
    if acks == 0:
        failed = [
            (t.get("name") or t.get("topic_id"), r["index"], r["error_code"])
            for t in responses
            for r in t["partition_responses"]
            if r["error_code"]
        ]
        if failed:
            # No response is expected, so Kafka closes the connection: the client's only signal
            # that something failed (it then refreshes its metadata).
            raise CloseConnection(f"acks=0 produce failed for {failed}")
        return None
    return {"responses": responses, "throttle_time_ms": 0}
