"""Produce (key 0), v0-v13.

v0-v2 come from clients older than Kafka 0.11 and carry v0/v1 message sets, which are
up-converted to one v2 batch first. From v3 a partition's records must be exactly one magic-2
batch, and zstd needs v7 (INVALID_RECORD / UNSUPPORTED_COMPRESSION_TYPE, checked first, as
Kafka's request validation does). v13 names topics by id. Topics are not auto-created here
(Kafka creates them on Metadata only); internal topic names are INVALID_TOPIC_EXCEPTION. A
partition named twice counts once, the last, as in Kafka's map of the request.

Per partition: the records must be whole v2 batches with good CRC-32C (CORRUPT_MESSAGE)
and sane counts (INVALID_RECORD), each at most ``max.message.bytes`` (MESSAGE_TOO_LARGE).
CreateTime records outside ``message.timestamp.before.max.ms`` / ``after.max.ms`` of now fail
the batch with INVALID_TIMESTAMP, each named in ``record_errors`` (v8+); records are decoded
only when a bound could be crossed, or on compacted topics, which refuse records without a key
(INVALID_RECORD with one ``record_errors`` entry per keyless record, v8+). Valid batches get
offsets patched into their headers and are written as received. Transactional batches must
belong to an open transaction that contains the partition (KIP-890 verification:
TRANSACTION_ABORTABLE from v11, INVALID_TXN_STATE before); from v12 a partition not yet in it
is added (KIP-890 part 2: such producers no longer send AddPartitionsToTxn). Control batches
are the broker's own and refused from clients. Error messages are given where Kafka gives
them, and left null where it answers with the code alone.

A batch whose bytes could not be written (a full disk, EIO) is KAFKA_STORAGE_ERROR for its
partition, and nothing else fails. A large batch is written at once and fails here; a small one
waits for the loop turn's write, so its answer is encoded as written but listed in
``ctx.unwritten``: the connection writes pending appends before it sends anything, asks each
listed segment whether those bytes were dropped (``LogSegment.lost_since``) and, only then,
encodes the response again with KAFKA_STORAGE_ERROR for those partitions. The segment has
rolled its offsets and producer state back, so the client's retry is written as new.

In a simulated cluster only the partition's leader appends: another node answers
NOT_LEADER_OR_FOLLOWER (with the current leader and its endpoint from v10, KIP-951), a
partition without leader LEADER_NOT_AVAILABLE, checked after acks as Kafka's replica manager.

acks must be -1, 0 or 1. acks=0 gets no response at all, unless a partition failed: then the
connection is closed, as Kafka does, so the client refreshes its metadata; a batch whose write
fails later, at the end of the loop turn, closes it too (BrokerConnection._check_unanswered).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Set as AbstractSet
from typing import Any

from kafkalite.broker.acls import authorized, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.leadership import LeaderHints
from kafkalite.broker.handlers.registry import CloseConnection, RequestContext, api
from kafkalite.broker.handlers.txn_errors import not_in_transaction
from kafkalite.errors import ErrorCode
from kafkalite.records.batch import (
    COMPRESSION_MASK,
    CONTROL_MASK,
    HEADER_SIZE,
    LOG_OVERHEAD,
    MAGIC_OFFSET,
    TRANSACTIONAL_MASK,
    BatchHeader,
    InvalidBatch,
    validate_batches,
)
from kafkalite.records.compression import ZSTD
from kafkalite.records.legacy import up_convert
from kafkalite.records.records import iter_records
from kafkalite.records.rewrite import apply_topic_compression
from kafkalite.storage.producer_state import SequenceError

TOPIC_ID_VERSION = 13
MAGIC_V2_VERSION = 3
ZSTD_VERSION = 7
IMPLICIT_ADD_VERSION = 12
#: KIP-951: NOT_LEADER_OR_FOLLOWER names the current leader, and the response its endpoint.
LEADER_HINT_VERSION = 10
#: Kafka's internal topics: clients may not write them (kafkalite keeps their state elsewhere).
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})
NO_TIMESTAMP = -1
#: A lower timestamp bound below minus this is none (message.timestamp.before.max.ms defaults to Long.MAX).
NO_LOWER_BOUND = 2**62
#: batchLength and attributes of a request's first batch, read without building a BatchHeader.
_FIRST_BATCH = struct.Struct(">8xi9xh")
VALID_ACKS = frozenset({-1, 0, 1})
_NONE_DENIED: frozenset[str] = frozenset()


def _request_records_error(version: int, records: bytes) -> ErrorCode | None:
    """Kafka's request-level record checks (ProduceRequest.validateRecords), v3+ only.

    The records must be one batch of magic 2; zstd needs v7. Garbage too short to say is left to
    the batch checks, which name the problem.
    """
    if version < MAGIC_V2_VERSION:
        return None
    if not records:
        return ErrorCode.INVALID_RECORD
    if len(records) <= MAGIC_OFFSET:
        return None
    if records[MAGIC_OFFSET] != 2:
        return ErrorCode.INVALID_RECORD
    if len(records) < HEADER_SIZE:
        return None
    batch_length, attributes = _FIRST_BATCH.unpack_from(records)
    if version < ZSTD_VERSION and attributes & COMPRESSION_MASK == ZSTD:
        return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    if HEADER_SIZE <= batch_length + LOG_OVERHEAD < len(records):
        return ErrorCode.INVALID_RECORD  # more than one batch
    return None


def _timestamp_errors(
    records: bytes, headers: list[BatchHeader], now: int, before: int, after: int
) -> list[dict[str, Any]]:
    """``record_errors`` for CreateTime records outside [now - before, now + after], with Kafka's text."""
    low, high = now - before, now + after
    if low < -NO_LOWER_BOUND and all(h.max_timestamp <= high for h in headers):
        return []  # no lower bound (the default) and nothing too new: no need to decode records
    errors: list[dict[str, Any]] = []
    index = 0
    for header in headers:
        batch = bytes(memoryview(records)[header.position : header.position + header.length])
        for record in iter_records(batch, header._replace(position=0)):
            if record.timestamp != NO_TIMESTAMP and not low <= record.timestamp <= high:
                message = (
                    f"Timestamp {record.timestamp} of message with offset {index} is out of range. "
                    f"The timestamp should be within [{low}, {high}]"
                )
                errors.append({"batch_index": index, "batch_index_error_message": message})
            index += 1
    return errors


def _summary(headers: list[BatchHeader]) -> tuple[int, int, int]:
    """(attributes of all batches OR-ed, largest batch, newest max timestamp) of several batches."""
    attributes = 0
    for header in headers:
        attributes |= header.attributes
    return attributes, max(h.length for h in headers), max(h.max_timestamp for h in headers)


#: Kafka explains INVALID_TXN_STATE on Produce below v11 (from v11 the code TRANSACTION_ABORTABLE says it).
NOT_IN_TXN_MESSAGE = "The partition was not added to the producer's open transaction."


def _keyless_records(records: bytes, headers: list[BatchHeader]) -> list[int]:
    """Indexes (within their batch) of the records without a key in the first batch that has any.

    Compacted topics refuse those, so only they pay to look. Kafka validates batch by batch and
    stops at the first one with bad records, so only that batch's indexes are reported.
    """
    for header in headers:
        batch = bytes(memoryview(records)[header.position : header.position + header.length])
        keyless = [i for i, r in enumerate(iter_records(batch, header._replace(position=0))) if r.key is None]
        if keyless:
            return keyless
    return []


def _keyless_rejection(index: int, topic: str, keyless: list[int], log_start_offset: int) -> dict[str, Any]:
    """INVALID_RECORD naming each keyless record (Produce v8+, KIP-467), in Kafka's words.

    Clients fail only the named records with INVALID_RECORD and retry or fail the rest of the
    batch separately (librdkafka: _INVALID_DIFFERENT_RECORD), instead of failing them all.
    """
    message = f"Compacted topic cannot accept message without key in topic partition {topic}-{index}"
    shown = ", ".join(f"RecordError(batchIndex={i}, message='{message}')" for i in keyless[:3])
    result = _partition_error(
        index,
        ErrorCode.INVALID_RECORD,
        f"One or more records have been rejected due to {len(keyless)} record errors in total, "
        f"and only showing the first three errors at most: [{shown}]",
        log_start_offset,
    )
    result["record_errors"] = [{"batch_index": i, "batch_index_error_message": message} for i in keyless]
    return result


def _partition_error(
    index: int, code: ErrorCode, message: str | None = None, log_start_offset: int = -1
) -> dict[str, Any]:
    """A failed partition. Kafka answers log start offset -1 except on per-record validation errors."""
    return {
        "index": index,
        "error_code": int(code),
        "base_offset": -1,
        "log_append_time_ms": -1,
        "log_start_offset": log_start_offset,
        "record_errors": [],
        "error_message": message,
    }


def _has_transactional_records(request: Any) -> bool:
    """Kafka's RequestUtils.hasTransactionalRecords: some partition's first batch is transactional."""
    for topic_data in request.topic_data:
        for part in topic_data.partition_data:
            records = part.records
            if (
                records
                and len(records) >= HEADER_SIZE
                and records[MAGIC_OFFSET] == 2
                and _FIRST_BATCH.unpack_from(records)[1] & TRANSACTIONAL_MASK
            ):
                return True
    return False


def _denied_topics(ctx: RequestContext, request: Any, by_id: bool) -> set[str] | None:
    """With an authorizer, Kafka's checks before any partition is looked at (KafkaApis.handleProduceRequest).

    Transactional records need WRITE on the request's transactional id, or the whole request is
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED (None here). Otherwise the topics without WRITE, which
    are TOPIC_AUTHORIZATION_FAILED before their existence is checked (a topic id nobody knows
    stays UNKNOWN_TOPIC_ID). Idempotent producers need nothing more here (KIP-679: their
    IDEMPOTENT_WRITE check is InitProducerId's).
    """
    if _has_transactional_records(request):
        txn_id = request.transactional_id
        if txn_id is None or not authorized(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, txn_id):
            return None
    cluster = ctx.state.cluster
    names = (
        (t.name for t in (cluster.by_id.get(td.topic_id) for td in request.topic_data) if t is not None)
        if by_id
        else (td.name for td in request.topic_data)
    )
    return denied_names(ctx, Operation.WRITE, ResourceType.TOPIC, names)


def _whole_request_error(request: Any, by_id: bool, code: ErrorCode) -> list[dict[str, Any]]:
    """Every partition answered ``code`` (Kafka's ProduceRequest.getErrorResponse)."""
    responses: list[dict[str, Any]] = []
    for topic_data in request.topic_data:
        indexes = dict.fromkeys(p.index for p in topic_data.partition_data)
        entry: dict[str, Any] = {"partition_responses": [_partition_error(i, code) for i in indexes]}
        entry["topic_id" if by_id else "name"] = topic_data.topic_id if by_id else topic_data.name
        responses.append(entry)
    return responses


async def _wait_replicated(state: Any, pending: list[tuple[dict[str, Any], str, int, int]], timeout_ms: int) -> None:
    """acks=all in a simulated cluster: each answer waits until the ISR has its batch (Kafka's DelayedProduce).

    Only the error code changes (REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    NOT_LEADER_OR_FOLLOWER); the offsets stay, as Kafka's delayed answer keeps them.
    """
    codes = await asyncio.gather(
        *(state.replicas.wait_replicated(topic, index, end, timeout_ms) for _, topic, index, end in pending)
    )
    for (answer, _, _, _), code in zip(pending, codes, strict=True):
        if code and not answer["error_code"]:
            answer["error_code"] = int(code)


@api(0, "Produce", 0, 13)
async def handle_produce(ctx: RequestContext, request: Any) -> dict[str, Any] | None:
    state = ctx.state
    cluster = state.cluster
    acks = request.acks
    acks_ok = acks in VALID_ACKS
    version = ctx.version
    by_id = version >= TOPIC_ID_VERSION
    now = state.clock.now_ms()  # the request's time, for all its timestamp checks
    responses: list[dict[str, Any]] = []
    replicating = state.replicating  # a simulated cluster: acks=all waits for the ISR
    acks_pending: list[tuple[dict[str, Any], str, int, int]] = []
    denied: AbstractSet[str] | None = _NONE_DENIED
    # A simulated cluster: only the partition's leader appends (a single broker leads everything: no check).
    leader_problem = state.replicas.leader_problem if state.nodes.multi else None
    hints: LeaderHints | None = None
    if state.acls.enabled:
        denied = _denied_topics(ctx, request, by_id)
        if denied is None:
            responses = _whole_request_error(request, by_id, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    for topic_data in request.topic_data if denied is not None else ():
        topic = cluster.by_id.get(topic_data.topic_id) if by_id else cluster.topics.get(topic_data.name)
        missing = ErrorCode.UNKNOWN_TOPIC_ID if by_id else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        if not by_id and topic_data.name in INTERNAL_TOPICS:
            missing = ErrorCode.INVALID_TOPIC_EXCEPTION
        results: list[dict[str, Any]] = []
        if topic is not None:  # the topic's configs, read once for all its partitions
            compacted, limit, compression, create_time, before, after = cluster.produce_settings(topic)
        # A partition named twice: the last one counts and is answered once (Kafka keeps a map).
        parts = topic_data.partition_data
        if len(parts) > 1:
            parts = {p.index: p for p in parts}.values()
        if denied and (topic.name if topic is not None else None if by_id else topic_data.name) in denied:
            parts = ()  # not allowed to WRITE: before the topic's existence is told
            results.extend(_partition_error(p.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
                           for p in {p.index: p for p in topic_data.partition_data}.values())
        for part in parts:
            index = part.index
            if topic is None or not 0 <= index < len(topic.partitions):
                results.append(
                    _partition_error(index, missing if topic is None else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                )
                continue
            records = part.records
            if records is None:
                results.append(_partition_error(index, ErrorCode.INVALID_RECORD, "no records"))
                continue
            request_error = _request_records_error(version, records)
            if request_error is not None:
                results.append(_partition_error(index, request_error))
                continue
            if not acks_ok:
                results.append(_partition_error(index, ErrorCode.INVALID_REQUIRED_ACKS))
                continue
            if leader_problem is not None:
                problem = leader_problem(topic.name, index, ctx.node_id)
                if problem:
                    failed = _partition_error(index, problem)
                    if problem == ErrorCode.NOT_LEADER_OR_FOLLOWER and version >= LEADER_HINT_VERSION:
                        hints = hints or LeaderHints(ctx)
                        failed["current_leader"] = hints.current_leader(topic.name, index)
                    results.append(failed)
                    continue
            if acks == -1 and replicating:  # Kafka refuses before the append when the ISR is too small
                code = state.replicas.min_isr_problem(topic.name, index)
                if code:  # the leader has the log, so Kafka answers its start offset
                    start = topic.partitions[index].log_start_offset
                    results.append(_partition_error(index, code, log_start_offset=start))
                    continue
            try:
                if version < MAGIC_V2_VERSION:
                    records = up_convert(records)  # an old client's v0/v1 message set
                headers = validate_batches(records)
            except InvalidBatch as exc:
                code = ErrorCode.CORRUPT_MESSAGE if exc.corrupt else ErrorCode.INVALID_RECORD
                results.append(_partition_error(index, code, None if exc.checksum else str(exc)))
                continue
            first = headers[0]
            if len(headers) == 1:  # always from v3 (checked above): no loops over headers
                attributes, largest, newest = first.attributes, first.length, first.max_timestamp
            else:
                attributes, largest, newest = _summary(headers)
            if attributes & CONTROL_MASK:
                results.append(
                    _partition_error(
                        index, ErrorCode.INVALID_RECORD, "Clients are not allowed to write control records"
                    )
                )
                continue
            if first.attributes & TRANSACTIONAL_MASK:
                txn_id = request.transactional_id
                code = (
                    state.txns.verify_produce(txn_id, first.producer_id, first.producer_epoch, (topic.name, index))
                    if txn_id is not None
                    else int(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
                )
                if code == ErrorCode.INVALID_TXN_STATE and ctx.version >= IMPLICIT_ADD_VERSION:
                    added = state.txns.add_partitions(
                        state.clock.now_ms(), txn_id, first.producer_id, first.producer_epoch, [(topic.name, index)]
                    )
                    code = code if any(added.values()) else ErrorCode.NONE
                if code == ErrorCode.INVALID_TXN_STATE:  # not added, implicitly or before
                    code = not_in_transaction(ctx.version, 11)
                    message = None if code == ErrorCode.TRANSACTION_ABORTABLE else NOT_IN_TXN_MESSAGE
                    results.append(_partition_error(index, ErrorCode(code), message))
                    continue
                if code:
                    results.append(_partition_error(index, ErrorCode(code)))
                    continue
            keyless = _keyless_records(records, headers) if compacted else None
            if keyless:
                results.append(_keyless_rejection(index, topic.name, keyless, topic.partitions[index].log_start_offset))
                continue
            if largest > limit:
                results.append(_partition_error(index, ErrorCode.MESSAGE_TOO_LARGE))
                continue
            plog = topic.partitions[index]
            # Records are decoded only when a bound could be crossed: a lower bound is set or a batch is too new.
            if create_time and (now - before >= -NO_LOWER_BOUND or newest > now + after):
                record_errors = _timestamp_errors(records, headers, now, before, after)
                if record_errors:
                    failed = _partition_error(index, ErrorCode.INVALID_TIMESTAMP,
                                              "One or more records have been rejected due to invalid timestamp")
                    failed.update(record_errors=record_errors, log_start_offset=plog.log_start_offset)
                    results.append(failed)
                    continue
            data, headers = apply_topic_compression(compression, records, headers)
            segments = plog.segments
            appended_to = segments[-1]
            drops_seen = len(appended_to.drops)
            try:
                result = plog.append(data, headers)
            except OSError as exc:  # written at once and refused (a large batch on a full disk)
                state.write_behind.failed(plog.active.log_path, exc)
                results.append(_partition_error(index, ErrorCode.KAFKA_STORAGE_ERROR))
                continue
            except SequenceError as exc:
                code = (
                    ErrorCode.INVALID_PRODUCER_EPOCH
                    if exc.kind == "invalid_epoch"
                    else ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
                )
                failed = _partition_error(index, code)  # Kafka names the code alone
                failed["log_start_offset"] = plog.log_start_offset
                results.append(failed)
                continue
            segment = segments[-1]
            if segment is not appended_to:  # rolled: drops before the append were the old segment's
                drops_seen = 0
            answer = {
                "index": index,
                "error_code": 0,
                "base_offset": result.base_offset,
                "log_append_time_ms": result.log_append_time,
                "log_start_offset": plog.log_start_offset,
                "record_errors": [],
                "error_message": None,
            }
            if segment.window is not None:  # not written yet: confirmed when the response is sent
                if ctx.unwritten is None:
                    ctx.unwritten = []
                ctx.unwritten.append((answer, segment, drops_seen, segment.size))
            elif segment.drops and segment.lost_since(drops_seen, segment.size):  # written (no event loop), refused
                answer = _partition_error(index, ErrorCode.KAFKA_STORAGE_ERROR)
            results.append(answer)
            if state.config.fsync == "always":
                try:
                    await state.flush_now(plog)
                except OSError as exc:
                    state.write_behind.failed(segment.log_path, exc)
                    results[-1] = _partition_error(index, ErrorCode.KAFKA_STORAGE_ERROR)
                    continue
            state.appended(topic.name, index, plog)
            if acks == -1 and replicating:
                acks_pending.append((answer, topic.name, index, result.last_offset + 1))
        entry: dict[str, Any] = {"partition_responses": results}
        if by_id:
            entry["topic_id"] = topic_data.topic_id
        else:
            entry["name"] = topic_data.name
        responses.append(entry)
    if acks_pending:
        await _wait_replicated(state, acks_pending, request.timeout_ms)
    if acks == 0:
        failed = sum(1 for t in responses for p in t["partition_responses"] if p["error_code"])
        if failed:
            raise CloseConnection(f"acks=0 produce failed in {failed} partition(s)")
        return None
    if hints is not None:
        return {"responses": responses, "throttle_time_ms": 0, "node_endpoints": hints.node_endpoints()}
    return {"responses": responses, "throttle_time_ms": 0}
