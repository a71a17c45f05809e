"""The SASL exchange at the protocol level, the same assertions against kafkalite and Apache Kafka.

Each test runs twice: against kafkalite and against Apache Kafka 4.4 configured the same way
(compat_tests/secure.py ``reference_kafka_kwargs``; skipped without a JVM). A raw socket sends
exactly what a test needs: requests before authentication, a v0 handshake followed by bare tokens,
wrong passwords, expired or under-scoped OAUTHBEARER tokens, SASL requests after authentication.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse
from kafka.protocol.sasl import (
    SaslAuthenticateRequest,
    SaslAuthenticateResponse,
    SaslHandshakeRequest,
    SaslHandshakeResponse,
)

from compat_tests.rawclient import RawClient
from compat_tests.secure import reference_kafka_kwargs, start_secure_broker, unsecured_jwt

pytestmark = pytest.mark.timeout(180)

MECHANISMS = ("PLAIN", "OAUTHBEARER")
OAUTH_OPTIONS = {"unsecuredValidatorRequiredScope": "kafka"}
UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE, SASL_AUTHENTICATION_FAILED = 33, 34, 58


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def sasl_bootstrap(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The SASL_PLAINTEXT address of a broker with PLAIN (PLAIN_USERS) and OAUTHBEARER (scope kafka)."""
    if request.param == "kafkalite":
        broker = start_secure_broker(
            tmp_path_factory.mktemp("sasl-protocol"), mechanisms=MECHANISMS, oauth_options=OAUTH_OPTIONS
        )
        yield broker.bootstrap("SASL_PLAINTEXT")
        assert broker.stop() == 0
        return
    from kafkalite.conformance.reference import ReferenceKafka, java_available

    if not java_available():
        pytest.skip("Apache Kafka needs java and mvn on PATH")
    kafka = ReferenceKafka(**reference_kafka_kwargs(mechanisms=MECHANISMS, oauth_options=OAUTH_OPTIONS)).start()
    try:
        yield kafka.listener_bootstrap("SASL_PLAINTEXT")
    finally:
        kafka.stop()


class Raw(RawClient):
    """RawClient plus bare frames (the v0 token flow) and a check that the broker hung up."""

    def frame(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def read_frame(self) -> bytes:
        (size,) = struct.unpack(">i", self._read(4))
        return self._read(size)

    def closed_by_broker(self, timeout: float = 5.0) -> bool:
        """True once the broker closes the connection (EOF or reset) with nothing more to read."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


def _handshake(client: Raw, mechanism: str = "PLAIN", version: int = 1) -> Any:
    return client.call(SaslHandshakeRequest(version=version, mechanism=mechanism), SaslHandshakeResponse)


def _authenticate(client: Raw, auth_bytes: bytes, version: int = 2) -> Any:
    return client.call(SaslAuthenticateRequest(version=version, auth_bytes=auth_bytes), SaslAuthenticateResponse)


def _oauth_message(token: str, authzid: str = "") -> bytes:
    return f"n,{'a=' + authzid if authzid else ''},\x01auth=Bearer {token}\x01\x01".encode()


def _metadata(client: Raw) -> Any:
    return client.call(MetadataRequest(version=12, topics=[], allow_auto_topic_creation=False), MetadataResponse)


def _metadata_closes(client: Raw, correlation_id: int) -> bool:
    """Send a Metadata request where the broker expects the SASL handshake: True when it closes
    the connection without an answer."""
    request = MetadataRequest(version=12, topics=[], allow_auto_topic_creation=False)
    request.with_header(correlation_id=correlation_id, client_id="raw")
    client.sock.sendall(bytes(request.encode(header=True, framed=True)))
    return bool(client.closed_by_broker())


def test_metadata_before_authentication_closes_the_connection(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        assert _metadata_closes(client, correlation_id=1)


def test_api_versions_then_a_request_other_than_the_handshake_closes(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        versions = client.call(
            ApiVersionsRequest(version=3, client_software_name="raw", client_software_version="1"), ApiVersionsResponse
        )
        keys = {entry.api_key for entry in versions.api_keys}
        assert {17, 36} <= keys
        assert _metadata_closes(client, correlation_id=5)


def test_unsupported_mechanism_lists_the_enabled_ones_then_closes(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        response = _handshake(client, "SCRAM-SHA-512")
        assert response.error_code == UNSUPPORTED_SASL_MECHANISM
        assert sorted(response.mechanisms) == sorted(MECHANISMS)
        assert client.closed_by_broker()


def test_plain_login_then_requests_are_served(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        response = _handshake(client)
        assert response.error_code == 0 and sorted(response.mechanisms) == sorted(MECHANISMS)
        done = _authenticate(client, b"\x00alice\x00alice-secret")
        assert (done.error_code, done.error_message, done.auth_bytes, done.session_lifetime_ms) == (0, "", b"", 0)
        assert _metadata(client).brokers


@pytest.mark.parametrize(
    ("auth_bytes", "message"),
    [
        (b"\x00alice\x00wrong", "Authentication failed: Invalid username or password"),
        (b"\x00nobody\x00secret", "Authentication failed: Invalid username or password"),
        (b"\x00\x00secret", "Authentication failed: username not specified"),
        (b"\x00alice\x00", "Authentication failed: password not specified"),
        (b"alice-secret", "Invalid SASL/PLAIN response: expected 3 tokens, got 1"),
        (b"bob\x00alice\x00alice-secret",
         "Authentication failed: Client requested an authorization id that is different from username"),
    ],
)
def test_plain_failures_answer_kafkas_message_late_then_close(sasl_bootstrap: str, auth_bytes: bytes,
                                                              message: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client)
        started = time.monotonic()
        response = _authenticate(client, auth_bytes)
        elapsed = time.monotonic() - started
        assert (response.error_code, response.error_message) == (SASL_AUTHENTICATION_FAILED, message)
        assert elapsed >= 0.09  # connection.failed.authentication.delay.ms (100)
        assert client.closed_by_broker()


def test_plain_authorization_id_equal_to_the_user_is_accepted(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client)
        assert _authenticate(client, b"alice\x00alice\x00alice-secret").error_code == 0


def test_v0_handshake_then_bare_tokens(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        assert _handshake(client, version=0).error_code == 0
        client.frame(b"\x00alice\x00alice-secret")
        assert client.read_frame() == b""  # PLAIN's empty answer, size-prefixed, no Kafka header
        assert _metadata(client).brokers


def test_v0_bare_token_with_a_wrong_password_closes_without_an_answer(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        assert _handshake(client, version=0).error_code == 0
        client.frame(b"\x00alice\x00wrong")
        assert client.closed_by_broker()


def test_sasl_requests_after_authentication_are_illegal_state_and_keep_the_connection(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client)
        assert _authenticate(client, b"\x00alice\x00alice-secret").error_code == 0
        again = _authenticate(client, b"\x00alice\x00alice-secret")
        assert (again.error_code, again.error_message) == (
            ILLEGAL_SASL_STATE, "SaslAuthenticate request received after successful authentication"
        )
        handshake = _handshake(client)
        assert (handshake.error_code, list(handshake.mechanisms)) == (ILLEGAL_SASL_STATE, [])
        assert _metadata(client).brokers


def test_second_handshake_during_authentication_is_illegal_state_then_closes(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client)
        response = _handshake(client)
        assert response.error_code == ILLEGAL_SASL_STATE
        assert client.closed_by_broker()


def test_oauthbearer_valid_token_session_lifetime_is_the_tokens(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client, "OAUTHBEARER")
        response = _authenticate(client, _oauth_message(unsecured_jwt("alice", 600, scope="kafka")))
        assert (response.error_code, response.auth_bytes) == (0, b"")
        assert 590_000 <= response.session_lifetime_ms <= 600_000
        assert _metadata(client).brokers


def test_oauthbearer_session_lifetime_only_from_v1(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client, "OAUTHBEARER")
        response = _authenticate(client, _oauth_message(unsecured_jwt("alice", 600, scope="kafka")), version=0)
        assert response.error_code == 0


@pytest.mark.parametrize(
    ("make_token", "challenge"),
    [
        (lambda: unsecured_jwt("alice", -60, scope="kafka", issued_at=time.time() - 120), '{"status":"invalid_token"}'),
        (lambda: unsecured_jwt("alice", 600, scope="other"), '{"status":"insufficient_scope", "scope":"[kafka]"}'),
        (lambda: unsecured_jwt("alice", 600, scope="kafka", issued_at=time.time() + 3600),
         '{"status":"invalid_token"}'),
        (lambda: unsecured_jwt("", 600, scope="kafka"), '{"status":"invalid_token"}'),
        (lambda: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.", '{"status":"invalid_token"}'),
    ],
    ids=["expired", "scope", "future-iat", "no-principal", "alg-not-none"],
)
def test_oauthbearer_refused_token_error_challenge_then_failure(sasl_bootstrap: str, make_token: Callable[[], str],
                                                                challenge: str) -> None:
    # Tokens are made when the test runs, not when it is collected: a long suite would see them expire.
    token = make_token()
    with Raw(sasl_bootstrap) as client:
        _handshake(client, "OAUTHBEARER")
        first = _authenticate(client, _oauth_message(token))
        assert (first.error_code, first.auth_bytes.decode()) == (0, challenge)
        second = _authenticate(client, b"\x01")
        assert (second.error_code, second.error_message) == (SASL_AUTHENTICATION_FAILED, challenge)
        assert client.closed_by_broker()


def test_oauthbearer_malformed_message_is_the_generic_failure(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client, "OAUTHBEARER")
        response = _authenticate(client, b"not an oauthbearer message")
        assert (response.error_code, response.error_message) == (
            SASL_AUTHENTICATION_FAILED,
            "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER",
        )
        assert client.closed_by_broker()


def test_oauthbearer_authorization_id_must_be_the_principal(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client, "OAUTHBEARER")
        response = _authenticate(client, _oauth_message(unsecured_jwt("alice", 600, scope="kafka"), authzid="bob"))
        assert (response.error_code, response.error_message) == (
            SASL_AUTHENTICATION_FAILED,
            "Authentication failed: Client requested an authorization id (bob) that is different from the "
            "token's principal name (alice)",
        )


def test_oversized_frame_before_authentication_closes(sasl_bootstrap: str) -> None:
    with Raw(sasl_bootstrap) as client:
        _handshake(client)
        client.sock.sendall(struct.pack(">i", 524288 + 1) + b"\x00" * 64)
        assert client.closed_by_broker()

