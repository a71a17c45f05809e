"""Long-poll fetch: parked fetches wake on produce and never block other connections."""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from compat_tests.brokerproc import BrokerProcess
from compat_tests.test_confluent import create_topic


def test_parked_fetch_wakes_on_produce(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    # A fetch may park for 20 s; the message must arrive long before that if produce wakes it.
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "unused", "fetch.wait.max.ms": 20000,
         "fetch.min.bytes": 1}
    )
    consumer.assign([TopicPartition(topic_name, 0, 0)])
    assert consumer.poll(1.0) is None  # nothing yet: the fetch is parked on the broker

    received: list[float] = []

    def read() -> None:
        msg = consumer.poll(15)
        if msg is not None and msg.error() is None:
            received.append(time.monotonic())

    reader = threading.Thread(target=read)
    reader.start()
    # Another connection is served while the fetch above is parked.
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    sent = time.monotonic()
    producer.produce(topic_name, value=b"wake up")
    assert producer.flush(10) == 0
    reader.join(20)
    consumer.close()
    assert received, "the parked fetch never returned the message"
    assert received[0] - sent < 10, "the message waited out the long poll instead of waking it"


def test_min_bytes_waits_for_enough_data(broker: BrokerProcess, topic_name: str) -> None:
    """With fetch.min.bytes large, a fetch returns only after max wait passes."""
    create_topic(broker, topic_name)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic_name, value=b"x")
    assert producer.flush(10) == 0
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "unused", "fetch.wait.max.ms": 300,
         "fetch.min.bytes": 10_000_000}
    )
    consumer.assign([TopicPartition(topic_name, 0, 0)])
    msg = None
    deadline = time.monotonic() + 15
    while msg is None and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
    consumer.close()
    assert msg is not None and msg.value() == b"x"
