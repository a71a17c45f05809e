"""Produce v8+ per-record errors (KIP-467): keyless records on a compacted topic.

Kafka rejects the whole batch with INVALID_RECORD but names each bad record in
``record_errors``, so a client fails exactly those records and the others separately
(librdkafka: _INVALID_DIFFERENT_RECORD). Each check runs against kafkalite and, when a JVM is
available, against Apache Kafka itself, so both must answer the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.protocol.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder

from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient

KEYS = [b"a", None, b"c", None, b"e", None, None, b"h"]
KEYLESS = [i for i, k in enumerate(KEYS) if k is None]
INVALID_RECORD = 87


@pytest.fixture(params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest) -> Any:
    """kafkalite, or Apache Kafka (the reference) to check the expectations themselves."""
    return request.getfixturevalue("broker" if request.param == "kafkalite" else "reference_kafka")


def create_compacted(bootstrap: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, 1, 1, config={"cleanup.policy": "compact"})]).values():
        future.result(15)


def batch_of(keys: list[bytes | None]) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    for i, key in enumerate(keys):
        builder.append(timestamp=None, key=key, value=f"v{i}".encode(), headers=[])
    builder.close()
    return bytes(builder.buffer())


def test_librdkafka_fails_only_the_keyless_records(target: Any, topic_name: str) -> None:
    create_compacted(target.bootstrap, topic_name)
    producer = Producer(
        {"bootstrap.servers": target.bootstrap, "linger.ms": 1000, "message.send.max.retries": 0}
    )
    producer.produce(topic_name, key=b"warm", value=b"up")  # metadata known, so the rest is one batch
    assert producer.flush(15) == 0
    reports: dict[int, KafkaError | None] = {}
    for i, key in enumerate(KEYS):
        producer.produce(
            topic_name, key=key, value=f"v{i}".encode(), on_delivery=lambda err, msg, i=i: reports.__setitem__(i, err)
        )
    assert producer.flush(20) == 0
    assert sorted(reports) == list(range(len(KEYS)))
    codes = {i: err.code() if err is not None else None for i, err in reports.items()}
    expected = {i: KafkaError.INVALID_RECORD if i in KEYLESS else KafkaError._INVALID_DIFFERENT_RECORD for i in codes}
    assert codes == expected


@pytest.mark.parametrize("version", [3, 7, 8, 9, 12, 13])
def test_response_names_each_keyless_record(target: Any, topic_name: str, version: int) -> None:
    create_compacted(target.bootstrap, topic_name)
    records = batch_of(KEYS)
    with RawClient(target.bootstrap) as raw:

        def topic_id() -> Any:
            req = MetadataRequest(version=12, topics=[(None, topic_name)], allow_auto_topic_creation=False)
            (topic,) = raw.call(req, MetadataResponse).topics
            return topic.topic_id if topic.error_code == 0 else None

        tid = wait_for(topic_id, what="topic in metadata")
        data = (tid if version >= 13 else topic_name, [(0, records)])
        req = ProduceRequest(version=version, transactional_id=None, acks=-1, timeout_ms=5000, topic_data=[data])
        (topic,) = raw.call(req, ProduceResponse).responses
    (part,) = topic.partition_responses
    assert (part.index, part.error_code, part.base_offset, part.log_append_time_ms) == (0, INVALID_RECORD, -1, -1)
    if version >= 5:
        assert part.log_start_offset == 0
    if version < 8:
        return
    message = f"Compacted topic cannot accept message without key in topic partition {topic_name}-0"
    assert [(e.batch_index, e.batch_index_error_message) for e in part.record_errors] == [
        (i, message) for i in KEYLESS
    ]
    shown = ", ".join(f"RecordError(batchIndex={i}, message='{message}')" for i in KEYLESS[:3])
    assert part.error_message == (
        f"One or more records have been rejected due to {len(KEYLESS)} record errors in total, "
        f"and only showing the first three errors at most: [{shown}]"
    )


def test_keyed_batch_after_rejection_is_stored(target: Any, topic_name: str) -> None:
    """Nothing of the rejected batch reaches the log: the next batch starts at offset 0."""
    create_compacted(target.bootstrap, topic_name)
    producer = Producer({"bootstrap.servers": target.bootstrap, "message.send.max.retries": 0})
    outcomes: list = []
    producer.produce(topic_name, value=b"no key", on_delivery=lambda err, msg: outcomes.append(err))
    producer.flush(15)
    producer.produce(topic_name, key=b"k", value=b"kept", on_delivery=lambda err, msg: outcomes.append(msg.offset()))
    producer.flush(15)
    assert outcomes[0] is not None and outcomes[0].code() == KafkaError.INVALID_RECORD
    assert outcomes[1] == 0
