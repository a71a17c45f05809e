"""confluent-kafka (librdkafka) against kafkalite: codecs, headers, nulls, acks, errors."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from compat_tests.brokerproc import BrokerProcess


def create_topic(broker: BrokerProcess, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1, config=config or {})]).values():
        future.result(10)


def consume_all(broker: BrokerProcess, topic: str, count: int, partitions: int = 1, **conf: object) -> list:
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False, **conf}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out: list = []
    deadline = time.monotonic() + 20
    while len(out) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        out.append(msg)
    consumer.close()
    return out


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_round_trip(broker: BrokerProcess, topic_name: str, codec: str) -> None:
    create_topic(broker, topic_name)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "linger.ms": 10})
    delivered: list = []
    for i in range(300):
        producer.produce(
            topic_name,
            key=None if i % 3 == 0 else f"k{i}".encode(),
            value=None if i % 7 == 0 else (f"{codec}-{i}-" + "x" * (i % 50)).encode(),
            headers=[("idx", str(i).encode()), ("codec", codec.encode())],
            on_delivery=lambda err, msg: delivered.append((err, msg.offset())),
        )
    assert producer.flush(15) == 0
    assert all(err is None for err, _ in delivered)
    assert sorted(off for _, off in delivered) == list(range(300))

    msgs = consume_all(broker, topic_name, 300)
    assert [m.offset() for m in msgs] == list(range(300))
    for i, m in enumerate(msgs):
        assert m.key() == (None if i % 3 == 0 else f"k{i}".encode())
        assert m.value() == (None if i % 7 == 0 else (f"{codec}-{i}-" + "x" * (i % 50)).encode())
        assert m.headers() == [("idx", str(i).encode()), ("codec", codec.encode())]


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks_levels(broker: BrokerProcess, topic_name: str, acks: str) -> None:
    create_topic(broker, topic_name)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": acks})
    errors: list = []
    for i in range(100):
        producer.produce(topic_name, value=str(i).encode(), on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(15) == 0
    assert errors == [None] * 100
    values = [m.value() for m in consume_all(broker, topic_name, 100)]
    assert values == [str(i).encode() for i in range(100)]


def test_unknown_partition_is_reported(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, partitions=2)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "message.timeout.ms": 3000})
    errors: list = []
    producer.produce(topic_name, value=b"x", partition=5, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(10)
    assert errors and errors[0] is not None
    assert errors[0].code() in (KafkaError._UNKNOWN_PARTITION, KafkaError.UNKNOWN_TOPIC_OR_PART)


def test_log_append_time_topic(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, config={"message.timestamp.type": "LogAppendTime"})
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic_name, value=b"x", timestamp=1000)
    before = int(time.time() * 1000)
    assert producer.flush(10) == 0
    (msg,) = consume_all(broker, topic_name, 1)
    ts_type, ts = msg.timestamp()
    assert ts_type == 2  # TIMESTAMP_LOG_APPEND_TIME
    assert before - 60_000 < ts < before + 60_000


def test_offsets_for_times_and_watermarks(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50})
    base = int(time.time() * 1000) - 3_600_000  # recent: retention (7 days) must not take it
    for i in range(20):
        producer.produce(topic_name, value=b"v", timestamp=base + i * 10)
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
    assert consumer.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10) == (0, 20)
    (found,) = consumer.offsets_for_times([TopicPartition(topic_name, 0, base + 55)], timeout=10)
    assert found.offset == 6
    consumer.close()


def test_compacted_topic_refuses_records_without_key(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, config={"cleanup.policy": "compact"})
    producer = Producer({"bootstrap.servers": broker.bootstrap, "message.send.max.retries": 0})
    outcomes: list = []
    producer.produce(topic_name, key=b"k", value=b"kept")
    producer.flush(10)
    producer.produce(topic_name, value=b"no key", on_delivery=lambda err, msg: outcomes.append(err))
    producer.flush(10)
    assert outcomes and outcomes[0] is not None
    assert outcomes[0].code() == KafkaError.INVALID_RECORD
    assert [m.value() for m in consume_all(broker, topic_name, 1)] == [b"kept"]
