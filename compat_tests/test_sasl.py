"""SASL listeners with real clients: PLAIN and OAUTHBEARER over SASL_PLAINTEXT and SASL_SSL.

Brokers come from compat_tests/secure.py (a PLAINTEXT listener first, then the SASL ones).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from compat_tests.brokerproc import BrokerProcess, free_port
from compat_tests.conftest import wait_for
from compat_tests.secure import (
    SecureBroker,
    aiokafka_conf,
    confluent_conf,
    confluent_round_trip,
    kafka_python_conf,
    kafka_python_token_provider,
    start_secure_broker,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    broker = start_secure_broker(
        tmp_path_factory.mktemp("sasl"), listeners=("SASL_PLAINTEXT", "SASL_SSL"), mechanisms=("PLAIN", "OAUTHBEARER")
    )
    yield broker
    assert broker.stop() == 0


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "OAUTHBEARER"])
def test_confluent_round_trip(sasl_broker: SecureBroker, listener: str, mechanism: str, topic_name: str) -> None:
    conf = confluent_conf(sasl_broker, listener, mechanism, "alice")
    assert confluent_round_trip(conf, topic_name) == [f"v{i}".encode() for i in range(20)]


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
        KafkaProducer(**conf, max_block_ms=2000, bootstrap_timeout_ms=3000)
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


def _port_with_plus_two_free() -> int:
    """A free port whose port + 2 is free too (--sasl-plain-user opens SASL_PLAINTEXT there)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 2))
                return port
            except OSError:
                continue
    raise AssertionError("no free port pair")


def test_serve_sasl_plain_user_shortcut(tmp_path: Path, topic_name: str) -> None:
    proc = BrokerProcess(
        tmp_path / "data", port=_port_with_plus_two_free(),
        extra_args=["--sasl-plain-user", "alice:alice-pw", "--sasl-plain-user", "bob:bob-pw"],
    )
    proc.start()
    try:
        assert proc.proc is not None and proc.proc.stdout is not None
        printed = "".join(proc.proc.stdout.readline() for _ in range(5))
        address = f"127.0.0.1:{proc.port + 2}"
        assert f"bootstrap.servers={address} security.protocol=SASL_PLAINTEXT sasl.mechanism=PLAIN" in printed
        conf = confluent_conf(address, "SASL_PLAINTEXT", "PLAIN", "bob", "bob-pw")
        assert confluent_round_trip(conf, topic_name, 3) == [b"v0", b"v1", b"v2"]
        with pytest.raises(KafkaException):
            AdminClient(confluent_conf(address, "SASL_PLAINTEXT", "PLAIN", "bob", "alice-pw")).list_topics(timeout=2)
    finally:
        assert proc.stop() == 0


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "OAUTHBEARER"])
def test_aiokafka_round_trip(sasl_broker: SecureBroker, listener: str, mechanism: str, topic_name: str) -> None:
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def run() -> list[bytes]:
        conf = aiokafka_conf(sasl_broker, listener, mechanism, "alice")
        producer = AIOKafkaProducer(**conf)
        await producer.start()
        try:
            for i in range(3):
                await producer.send_and_wait(topic_name, f"a{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic_name, **conf, auto_offset_reset="earliest")
        await consumer.start()
        try:
            got: list[bytes] = []
            async with asyncio.timeout(20):
                async for message in consumer:
                    got.append(message.value)
                    if len(got) == 3:
                        break
            return got
        finally:
            await consumer.stop()

    assert asyncio.run(run()) == [b"a0", b"a1", b"a2"]


def test_kafka_python_expired_token_is_refused(sasl_broker: SecureBroker, caplog: pytest.LogCaptureFixture) -> None:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError as KPError

    conf = kafka_python_conf(sasl_broker, "SASL_PLAINTEXT", "OAUTHBEARER", "alice")
    expired = kafka_python_token_provider("alice", lifetime_s=-60, issued_at=time.time() - 120)
    conf["sasl_oauth_token_provider"] = expired
    with caplog.at_level(logging.ERROR, logger="kafka"), pytest.raises(KPError):
        KafkaProducer(**conf, max_block_ms=2000, bootstrap_timeout_ms=3000)
    messages = [r.getMessage() for r in caplog.records]
    assert any('{"status":"invalid_token"}' in m for m in messages), messages


def test_signed_oauthbearer_tokens_against_a_jwks(tmp_path: Path, topic_name: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """OAuthBearerValidatorCallbackHandler + a file: JWKS; kafka-python sends signed tokens."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError as KPError

    from tests.security.test_oauth_jwks import KEY, OTHER, signed, write_jwks

    url = write_jwks(tmp_path / "jwks.json")
    broker = start_secure_broker(tmp_path, mechanisms=("OAUTHBEARER",), overrides={
        "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class":
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
        "sasl.oauthbearer.jwks.endpoint.url": url,
        "sasl.oauthbearer.expected.audience": "kafka",
        "sasl.oauthbearer.expected.issuer": "idp",
    })
    try:
        from kafka.net.sasl.oauth import AbstractTokenProvider

        class Provider(AbstractTokenProvider):  # type: ignore[misc]
            def __init__(self, key: object) -> None:
                self.key = key

            def token(self) -> str:
                return signed(self.key)  # type: ignore[arg-type]

        conf = kafka_python_conf(broker, "SASL_PLAINTEXT", "OAUTHBEARER", "alice")
        producer = KafkaProducer(**{**conf, "sasl_oauth_token_provider": Provider(KEY)})
        producer.send(topic_name, b"signed").get(timeout=20)
        producer.close()
        with caplog.at_level(logging.ERROR, logger="kafka"), pytest.raises(KPError):
            refused = {**conf, "sasl_oauth_token_provider": Provider(OTHER)}
            KafkaProducer(**refused, max_block_ms=2000, bootstrap_timeout_ms=3000)
        assert any('{"status":"invalid_token"}' in r.getMessage() for r in caplog.records)
    finally:
        assert broker.stop() == 0


def test_sasl_principal_is_the_acl_principal(tmp_path: Path, topic_name: str) -> None:
    """The SASL login names the principal ACLs see: alice is denied until admin (a super user) grants her."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        NewTopic,
        ResourcePatternType,
        ResourceType,
    )

    broker = start_secure_broker(tmp_path, overrides={
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin",
    })
    try:
        alice = AdminClient(confluent_conf(broker, "SASL_PLAINTEXT", "PLAIN", "alice"))
        admin = AdminClient(confluent_conf(broker, "SASL_PLAINTEXT", "PLAIN", "admin"))
        denied = alice.create_topics([NewTopic(f"{topic_name}-a", 1, 1)])[f"{topic_name}-a"]
        with pytest.raises(KafkaException) as info:
            denied.result(10)
        assert info.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
        admin.create_topics([NewTopic(f"{topic_name}-b", 1, 1)])[f"{topic_name}-b"].result(10)
        grant = AclBinding(ResourceType.TOPIC, topic_name, ResourcePatternType.PREFIXED, "User:alice", "*",
                           AclOperation.CREATE, AclPermissionType.ALLOW)
        admin.create_acls([grant])[grant].result(10)
        alice.create_topics([NewTopic(f"{topic_name}-c", 1, 1)])[f"{topic_name}-c"].result(10)
    finally:
        assert broker.stop() == 0
