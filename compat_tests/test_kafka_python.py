"""kafka-python 3 against kafkalite: produce, assign/seek, keys to partitions, offsets, limits."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, MessageSizeTooLargeError, TopicAlreadyExistsError

from compat_tests.brokerproc import BrokerProcess


def _create(broker: BrokerProcess, name: str, partitions: int = 1, configs: dict[str, str] | None = None) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})])
    finally:
        admin.close()


def _consume(broker: BrokerProcess, tps: list[TopicPartition], count: int, **kw: object) -> list:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, **kw)
    consumer.assign(tps)
    for tp in tps:
        consumer.seek_to_beginning(tp)
    out: list = []
    deadline = time.monotonic() + 20
    while len(out) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            out.extend(records)
    consumer.close()
    return out


def test_assign_and_seek_reads_from_any_offset(broker: BrokerProcess, topic_name: str) -> None:
    _create(broker, topic_name)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20)
    futures = [producer.send(topic_name, value=f"m{i}".encode()) for i in range(50)]
    producer.flush()
    offsets = [f.get(timeout=10).offset for f in futures]
    assert offsets == list(range(50))
    producer.close()

    tp = TopicPartition(topic_name, 0)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
    consumer.assign([tp])
    consumer.seek(tp, 37)  # in the middle of a batch: the client skips the earlier records
    got: list = []
    deadline = time.monotonic() + 15
    while len(got) < 13 and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(records)
    assert [r.offset for r in got] == list(range(37, 50))
    assert got[0].value == b"m37"
    assert consumer.end_offsets([tp]) == {tp: 50}
    assert consumer.beginning_offsets([tp]) == {tp: 0}
    consumer.close()


def test_keyed_messages_stay_on_their_partition(broker: BrokerProcess, topic_name: str) -> None:
    _create(broker, topic_name, partitions=4)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    placed: dict[bytes, set[int]] = {}
    for i in range(40):
        key = f"key-{i % 5}".encode()
        md = producer.send(topic_name, key=key, value=str(i).encode()).get(timeout=10)
        placed.setdefault(key, set()).add(md.partition)
    producer.close()
    assert all(len(parts) == 1 for parts in placed.values()), placed
    records = _consume(broker, [TopicPartition(topic_name, p) for p in range(4)], 40)
    assert len(records) == 40
    for r in records:
        assert {r.partition} == placed[r.key]


def test_offsets_for_times(broker: BrokerProcess, topic_name: str) -> None:
    _create(broker, topic_name)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    base = int(time.time() * 1000) - 3_600_000  # recent: retention (7 days) must not take it
    for i in range(10):
        producer.send(topic_name, value=b"x", timestamp_ms=base + i * 1000).get(timeout=10)
    producer.close()
    tp = TopicPartition(topic_name, 0)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    found = consumer.offsets_for_times({tp: base + 4500})
    assert found[tp].offset == 5 and found[tp].timestamp == base + 5000
    assert consumer.offsets_for_times({tp: base + 99_000})[tp] is None
    consumer.close()


def test_topic_already_exists(broker: BrokerProcess, topic_name: str) -> None:
    _create(broker, topic_name)
    with pytest.raises(TopicAlreadyExistsError):
        _create(broker, topic_name)


def test_batch_above_max_message_bytes_is_refused(broker: BrokerProcess, topic_name: str) -> None:
    _create(broker, topic_name, configs={"max.message.bytes": "2000"})
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=10_000_000, retries=0)
    with pytest.raises((MessageSizeTooLargeError, KafkaError)) as info:
        producer.send(topic_name, value=b"x" * 5000).get(timeout=10)
    assert "MessageSizeTooLarge" in type(info.value).__name__ or "TOO_LARGE" in str(info.value).upper()
    assert producer.send(topic_name, value=b"small").get(timeout=10).offset == 0
    producer.close()
