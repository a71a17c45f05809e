"""Clients speaking message format v0/v1 (kafka-python pinned to 0.9 / 0.10.1) and modern ones share topics."""

from __future__ import annotations

import logging
import time
from collections import deque

import pytest
from confluent_kafka import Producer
from kafka import KafkaConsumer, KafkaProducer

from compat_tests.brokerproc import BrokerProcess
from compat_tests.test_confluent import consume_all, create_topic


@pytest.mark.parametrize("api_version", [(0, 9), (0, 10, 1)], ids=["v0.9", "v0.10.1"])
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_old_and_new_clients_read_each_other(
    broker: BrokerProcess, topic_name: str, api_version: tuple[int, ...], compression: str | None
) -> None:
    create_topic(broker, topic_name)
    old = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api_version, compression_type=compression)
    for i in range(5):
        assert old.send(topic_name, key=f"k{i}".encode(), value=f"old-{i}".encode()).get(timeout=10).offset == i
    old.close()
    # librdkafka's own account of the produce (connections, metadata, requests, retries), kept in memory
    # and shown only if the flush below fails: CI once saw flush() leave all 5 messages undelivered.
    client_log: deque[str] = deque(maxlen=300)

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            client_log.append(self.format(record))

    rdkafka = logging.getLogger(f"rdkafka-{topic_name}")
    rdkafka.propagate = False
    rdkafka.addHandler(Keep())
    rdkafka.setLevel(logging.DEBUG)
    new = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": compression or "none",
                    "debug": "broker,topic,msg,protocol", "logger": rdkafka})
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    for i in range(5):
        new.produce(topic_name, key=f"k{i}".encode(), value=f"new-{i}".encode(), on_delivery=delivered)
    # A generous bound: under a loaded CI machine librdkafka's first metadata round trips can be slow.
    undelivered = new.flush(60)
    assert undelivered == 0, (
        f"{undelivered} undelivered; errors {failures}; broker log: {broker.log_text()[-3000:]}; "
        "librdkafka: " + "\n".join(client_log)
    )
    assert failures == []

    modern = consume_all(broker, topic_name, 10)
    assert [m.value() for m in modern] == [f"old-{i}".encode() for i in range(5)] + [
        f"new-{i}".encode() for i in range(5)
    ]
    assert [m.key() for m in modern[:5]] == [f"k{i}".encode() for i in range(5)]

    reader = KafkaConsumer(topic_name, bootstrap_servers=broker.bootstrap, api_version=api_version,
                           auto_offset_reset="earliest")
    seen: list[tuple[int, bytes | None, bytes | None]] = []
    deadline = time.monotonic() + 30
    while len(seen) < 10 and time.monotonic() < deadline:
        for records in reader.poll(timeout_ms=500).values():
            seen.extend((m.offset, m.key, m.value) for m in records)
    reader.close()
    assert seen == [(i, f"k{i}".encode(), f"old-{i}".encode()) for i in range(5)] + [
        (5 + i, f"k{i}".encode(), f"new-{i}".encode()) for i in range(5)
    ]
