"""Re-authentication (KIP-368) with ``connections.max.reauth.ms``: on kafkalite and on Apache Kafka.

The raw tests run against both brokers configured the same way (2 s sessions); librdkafka, which
re-authenticates by itself before the session ends, runs against kafkalite.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from compat_tests.secure import reference_kafka_kwargs, start_secure_broker
from compat_tests.test_sasl_protocol import (
    ILLEGAL_SASL_STATE,
    SASL_AUTHENTICATION_FAILED,
    Raw,
    _authenticate,
    _handshake,
    _metadata,
)

pytestmark = pytest.mark.timeout(180)

REAUTH_MS = 2000
MECHANISMS = ("PLAIN", "OAUTHBEARER")


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def reauth_bootstrap(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "kafkalite":
        broker = start_secure_broker(tmp_path_factory.mktemp("reauth"), mechanisms=MECHANISMS, reauth_ms=REAUTH_MS)
        yield broker.bootstrap("SASL_PLAINTEXT")
        assert broker.stop() == 0
        return
    from kafkalite.conformance.reference import ReferenceKafka, java_available

    if not java_available():
        pytest.skip("Apache Kafka needs java and mvn on PATH")
    kafka = ReferenceKafka(**reference_kafka_kwargs(mechanisms=MECHANISMS, reauth_ms=REAUTH_MS)).start()
    try:
        yield kafka.listener_bootstrap("SASL_PLAINTEXT")
    finally:
        kafka.stop()


def _login(client: Raw, user: str = "alice", password: str = "alice-secret") -> int:
    assert _handshake(client).error_code == 0
    response = _authenticate(client, f"\x00{user}\x00{password}".encode())
    assert response.error_code == 0, response.error_message
    return int(response.session_lifetime_ms)


def test_session_lifetime_is_connections_max_reauth_ms(reauth_bootstrap: str) -> None:
    with Raw(reauth_bootstrap) as client:
        assert _login(client) == REAUTH_MS


def test_reauthentication_on_the_open_connection(reauth_bootstrap: str) -> None:
    with Raw(reauth_bootstrap) as client:
        _login(client)
        assert _metadata(client).brokers
        assert _login(client) == REAUTH_MS  # a new session on the same connection
        assert _metadata(client).brokers


def test_second_reauthentication_within_a_second_is_illegal_state(reauth_bootstrap: str) -> None:
    with Raw(reauth_bootstrap) as client:
        _login(client)
        _login(client)
        response = _handshake(client)
        assert (response.error_code, list(response.mechanisms)) == (ILLEGAL_SASL_STATE, [])
        assert _metadata(client).brokers


def test_reauthentication_as_another_user_fails_and_closes(reauth_bootstrap: str) -> None:
    with Raw(reauth_bootstrap) as client:
        _login(client)
        assert _handshake(client).error_code == 0
        response = _authenticate(client, b"\x00bob\x00bob-secret")
        assert (response.error_code, response.error_message) == (
            SASL_AUTHENTICATION_FAILED, "Cannot change principals during re-authentication from User.alice: User.bob"
        )
        assert client.closed_by_broker()


def test_reauthentication_with_another_mechanism_closes(reauth_bootstrap: str) -> None:
    with Raw(reauth_bootstrap) as client:
        _login(client)
        assert _handshake(client, "OAUTHBEARER").error_code == 0
        request_bytes = b"n,,\x01auth=Bearer x.y.\x01\x01"
        from kafka.protocol.sasl import SaslAuthenticateRequest

        request = SaslAuthenticateRequest(version=2, auth_bytes=request_bytes)
        request.with_header(correlation_id=99, client_id="raw")
        client.sock.sendall(bytes(request.encode(header=True, framed=True)))
        assert client.closed_by_broker()


def test_request_after_the_session_expired_closes(reauth_bootstrap: str) -> None:
    with Raw(reauth_bootstrap) as client:
        _login(client)
        assert _metadata(client).brokers
        time.sleep(REAUTH_MS / 1000 + 0.3)  # the behaviour under test is the passage of time
        from kafka.protocol.metadata import MetadataRequest

        request = MetadataRequest(version=12, topics=[], allow_auto_topic_creation=False)
        request.with_header(correlation_id=50, client_id="raw")
        client.sock.sendall(bytes(request.encode(header=True, framed=True)))
        assert client.closed_by_broker()


def test_librdkafka_reauthenticates_before_the_session_ends(tmp_path: Path, topic_name: str) -> None:
    """librdkafka re-authenticates on its own; the connection outlives several sessions."""
    broker = start_secure_broker(tmp_path, reauth_ms=REAUTH_MS, extra_args=["--log-requests"])
    try:
        from compat_tests.secure import confluent_conf

        producer = Producer(confluent_conf(broker, "SASL_PLAINTEXT", "PLAIN", "alice"))
        deadline = time.monotonic() + 3 * REAUTH_MS / 1000
        sent = 0
        while time.monotonic() < deadline:
            producer.produce(topic_name, value=b"x")
            assert producer.flush(10) == 0
            sent += 1
        log = broker.proc.log_text()
        handshakes: dict[str, int] = {}
        for peer in re.findall(r"request SaslHandshake v\d+ .* from (\S+)", log):
            handshakes[peer] = handshakes.get(peer, 0) + 1
        assert max(handshakes.values()) >= 3, handshakes  # one connection, three sessions or more
        assert "session expired" not in log
        assert sent > 10
    finally:
        assert broker.stop() == 0
