"""SASL listeners with real clients: PLAIN and OAUTHBEARER over SASL_PLAINTEXT and SASL_SSL.

Brokers come from compat_tests/secure.py (a PLAINTEXT listener first, then the SASL ones).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from compat_tests.conftest import wait_for
from compat_tests.secure import SecureBroker, confluent_conf, kafka_python_conf, start_secure_broker

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    broker = start_secure_broker(
        tmp_path_factory.mktemp("sasl"), listeners=("SASL_PLAINTEXT", "SASL_SSL"), mechanisms=("PLAIN", "OAUTHBEARER")
    )
    yield broker
    assert broker.stop() == 0


def _round_trip(conf: dict[str, object], topic: str, count: int = 20) -> list[bytes]:
    producer = Producer(conf)
    for i in range(count):
        producer.produce(topic, value=f"v{i}".encode())
    assert producer.flush(20) == 0
    consumer = Consumer({**conf, "group.id": f"g-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    out: list[bytes] = []
    deadline = time.monotonic() + 20
    while len(out) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            out.append(msg.value())
    consumer.close()
    return out


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "OAUTHBEARER"])
def test_confluent_round_trip(sasl_broker: SecureBroker, listener: str, mechanism: str, topic_name: str) -> None:
    conf = confluent_conf(sasl_broker, listener, mechanism, "alice")
    assert _round_trip(conf, topic_name) == [f"v{i}".encode() for i in range(20)]


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "OAUTHBEARER"])
def test_kafka_python_round_trip(sasl_broker: SecureBroker, listener: str, mechanism: str, topic_name: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTopicPartition

    conf = kafka_python_conf(sasl_broker, listener, mechanism, "alice")
    producer = KafkaProducer(**conf)
    for i in range(5):
        producer.send(topic_name, f"k{i}".encode()).get(timeout=20)
    producer.close()
    consumer = KafkaConsumer(**conf, auto_offset_reset="earliest", consumer_timeout_ms=10000)
    consumer.assign([KTopicPartition(topic_name, 0)])
    got = []
    for message in consumer:
        got.append(message.value)
        if len(got) == 5:
            break
    consumer.close()
    assert got == [f"k{i}".encode() for i in range(5)]


def test_confluent_wrong_password_is_an_authentication_error(sasl_broker: SecureBroker) -> None:
    errors: list[KafkaError] = []
    conf = {**confluent_conf(sasl_broker, "SASL_PLAINTEXT", "PLAIN", "alice", "wrong"), "error_cb": errors.append}
    admin = AdminClient(conf)
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=3)

    def authentication_errors() -> list[KafkaError] | None:
        admin.poll(0.2)  # error_cb is served by poll
        return [e for e in errors if e.code() == KafkaError._AUTHENTICATION] or None

    auth = wait_for(authentication_errors, timeout=10)
    assert "Authentication failed: Invalid username or password" in auth[0].str()


def test_kafka_python_wrong_password(sasl_broker: SecureBroker, caplog: pytest.LogCaptureFixture) -> None:
    """kafka-python 3 retries the bootstrap and times out; the login error is in its log, Kafka's text."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError as KPError

    conf = kafka_python_conf(sasl_broker, "SASL_PLAINTEXT", "PLAIN", "bob", "nope")
    with caplog.at_level(logging.ERROR, logger="kafka"), pytest.raises(KPError):
        KafkaProducer(**conf, max_block_ms=2000)
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        "SaslAuthenticationFailedError" in m and "Authentication failed: Invalid username or password" in m
        for m in messages
    ), messages
    # kafka-python drops an answer that arrives together with the end of the stream; the broker
    # lingers after a failed login's answer, so the client never sees a bare disconnection.
    assert not any("socket disconnected" in m for m in messages), messages


def test_sasl_listener_and_plaintext_listener_coexist(sasl_broker: SecureBroker, tmp_path: Path) -> None:
    md = AdminClient({"bootstrap.servers": sasl_broker.plaintext}).list_topics(timeout=10)
    assert md.brokers[1].port == sasl_broker.ports["PLAINTEXT"]
    md = AdminClient(confluent_conf(sasl_broker, "SASL_PLAINTEXT", "PLAIN", "admin")).list_topics(timeout=10)
    assert md.brokers[1].port == sasl_broker.ports["SASL_PLAINTEXT"]
