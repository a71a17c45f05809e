"""The per-connection SASL state machine (Kafka's SaslServerAuthenticator phases) and the mechanism table."""

from __future__ import annotations

from typing import Any

import pytest

from kafkalite.config import BrokerConfig
from kafkalite.security.mechanisms import MechanismConfigError, build_listener_config
from kafkalite.security.oauthbearer import OAuthBearerServer
from kafkalite.security.plain import PlainServer
from kafkalite.security.sasl import SaslAuthenticationFailed
from kafkalite.security.sasl_state import (
    API_VERSIONS,
    ILLEGAL_SASL_STATE,
    SASL_AUTHENTICATE,
    SASL_AUTHENTICATION_FAILED,
    SASL_HANDSHAKE,
    UNSUPPORTED_SASL_MECHANISM,
    Phase,
    SaslConnection,
    SaslListenerConfig,
)
from kafkalite.server.listeners import listener_lookup

METADATA = 3
USERS = {"alice": "pw", "bob": "pw2"}


def _connection(reauth_ms: int = 0, oauth_now: int = 1_700_000_000_000) -> SaslConnection:
    config = SaslListenerConfig(
        "SASL_PLAINTEXT",
        {"PLAIN": lambda: PlainServer(USERS), "OAUTHBEARER": lambda: OAuthBearerServer({}, lambda: oauth_now)},
        {"PLAIN": reauth_ms, "OAUTHBEARER": reauth_ms},
    )
    return SaslConnection(config)


def _login(conn: SaslConnection, now: int, user: str = "alice", password: str = "pw") -> dict[str, Any]:
    assert conn.admit(SASL_HANDSHAKE, True, now)
    assert conn.handshake("PLAIN", 1, now)["error_code"] == 0
    assert conn.admit(SASL_AUTHENTICATE, True, now)
    return conn.authenticate(f"\x00{user}\x00{password}".encode(), 2, now)


def test_before_authentication_only_api_versions_and_the_handshake_pass() -> None:
    conn = _connection()
    assert not conn.admit(METADATA, True, 0) and conn.failure
    conn = _connection()
    assert conn.admit(API_VERSIONS, True, 0) and conn.phase is Phase.HANDSHAKE
    assert not conn.admit(API_VERSIONS, True, 0)  # a second ApiVersions closes, as Kafka
    conn = _connection()
    assert conn.admit(API_VERSIONS, False, 0) and conn.phase is Phase.INITIAL  # unsupported version: may retry
    assert conn.admit(API_VERSIONS, True, 0)


def test_plain_login_sets_the_principal_and_lets_everything_through() -> None:
    conn = _connection()
    response = _login(conn, 0)
    assert response == {"error_code": 0, "error_message": "", "auth_bytes": b"", "session_lifetime_ms": 0}
    assert conn.principal == "User:alice" and conn.phase is Phase.COMPLETE and conn.close_after is None
    assert conn.admit(METADATA, True, 10**12)  # no session expiry without connections.max.reauth.ms


def test_unsupported_mechanism_answers_the_list_and_fails() -> None:
    conn = _connection()
    response = conn.handshake("GSSAPI", 1, 0)
    assert response == {"error_code": UNSUPPORTED_SASL_MECHANISM, "mechanisms": ["PLAIN", "OAUTHBEARER"]}
    assert conn.phase is Phase.FAILED and conn.close_after == 100
    assert not conn.admit(SASL_HANDSHAKE, True, 0)


def test_wrong_password_fails_with_the_delay() -> None:
    conn = _connection()
    response = _login(conn, 0, password="nope")
    assert (response["error_code"], response["error_message"]) == (
        SASL_AUTHENTICATION_FAILED, "Authentication failed: Invalid username or password"
    )
    assert conn.close_after == 100 and conn.principal is None


def test_v0_handshake_routes_bare_tokens() -> None:
    conn = _connection()
    conn.handshake("PLAIN", 0, 0)
    assert conn.raw_tokens
    assert conn.raw_token(b"\x00alice\x00pw", 0) == b""
    assert not conn.raw_tokens and conn.principal == "User:alice"
    failing = _connection()
    failing.handshake("PLAIN", 0, 0)
    with pytest.raises(SaslAuthenticationFailed):
        failing.raw_token(b"\x00alice\x00bad", 0)
    assert failing.close_after == 100


def test_handshake_during_authentication_and_authenticate_after_it() -> None:
    conn = _connection()
    conn.handshake("PLAIN", 1, 0)
    assert conn.admit(SASL_HANDSHAKE, True, 0)
    assert conn.handshake("PLAIN", 1, 0)["error_code"] == ILLEGAL_SASL_STATE and conn.close_after == 100
    done = _connection()
    _login(done, 0)
    again = done.authenticate(b"x", 2, 0)
    assert again["error_code"] == ILLEGAL_SASL_STATE and done.close_after is None
    assert done.handshake("PLAIN", 1, 0) == {"error_code": ILLEGAL_SASL_STATE, "mechanisms": []}


def test_session_expiry_and_reauthentication() -> None:
    conn = _connection(reauth_ms=1000)
    assert _login(conn, 0)["session_lifetime_ms"] == 1000
    assert conn.admit(METADATA, True, 1000)
    assert not conn.admit(METADATA, True, 1001) and "expired" in (conn.failure or "")
    conn = _connection(reauth_ms=1000)
    _login(conn, 0)
    assert conn.admit(SASL_HANDSHAKE, True, 1500)  # expired, but a re-authentication may start
    assert _login(conn, 1500)["session_lifetime_ms"] == 1000
    assert conn.admit(METADATA, True, 2400)
    assert conn.handshake("PLAIN", 1, 2000) == {"error_code": ILLEGAL_SASL_STATE, "mechanisms": []}  # < 1 s


def test_reauthentication_cannot_change_principal_or_mechanism() -> None:
    conn = _connection(reauth_ms=1000)
    _login(conn, 0)
    conn.handshake("PLAIN", 1, 10)
    failed = conn.authenticate(b"\x00bob\x00pw2", 2, 10)
    assert failed["error_message"] == "Cannot change principals during re-authentication from User.alice: User.bob"
    other = _connection(reauth_ms=1000)
    _login(other, 0)
    assert other.handshake("OAUTHBEARER", 1, 10)["error_code"] == 0
    assert other.phase is Phase.BAD_MECHANISM and not other.admit(SASL_AUTHENTICATE, True, 10)


def test_oauthbearer_credential_lifetime_bounds_the_session() -> None:
    import base64
    import json

    now = 1_700_000_000_000

    def b64(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    tok = f"{b64({'alg': 'none'})}.{b64({'sub': 'alice', 'exp': now // 1000 + 30})}."
    for reauth, expected in ((0, 30_000), (10_000, 10_000), (60_000, 30_000)):
        conn = _connection(reauth_ms=reauth, oauth_now=now)
        conn.handshake("OAUTHBEARER", 1, 0)
        response = conn.authenticate(f"n,,\x01auth=Bearer {tok}\x01\x01".encode(), 2, 0)
        assert response["session_lifetime_ms"] == expected


def _table(**settings: str) -> SaslListenerConfig:
    config = BrokerConfig.from_properties(settings)
    return build_listener_config("SASL_PLAINTEXT", listener_lookup(config, "SASL_PLAINTEXT"), lambda: 0)


PLAIN_JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="pw";'


def test_mechanism_table_from_kafka_settings() -> None:
    table = _table(**{
        "sasl.enabled.mechanisms": "GSSAPI,PLAIN,OAUTHBEARER",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config":
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        "connections.max.reauth.ms": "5000",
        "listener.name.sasl_plaintext.oauthbearer.connections.max.reauth.ms": "700",
        "sasl.server.max.receive.size": "4096",
    })
    assert list(table.mechanisms) == ["PLAIN", "OAUTHBEARER"]  # GSSAPI left out (warning)
    assert table.reauth_ms == {"PLAIN": 5000, "OAUTHBEARER": 700}
    assert table.max_receive_size == 4096 and table.failure_delay_ms == 100
    server = table.mechanisms["PLAIN"]()
    server.evaluate(b"\x00alice\x00pw")
    assert server.principal == "User:alice"


def test_listener_enabled_mechanisms_and_bare_jaas_fallback() -> None:
    table = _table(**{
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
        "sasl.jaas.config": PLAIN_JAAS,
    })
    assert list(table.mechanisms) == ["PLAIN"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "enables only GSSAPI"),
        ({"sasl.enabled.mechanisms": "PLAIN"}, "Could not find a JAAS configuration for SASL mechanism PLAIN"),
        ({"sasl.enabled.mechanisms": "DIGEST-MD5"}, "SASL mechanism DIGEST-MD5 is not supported"),
        ({"sasl.enabled.mechanisms": "PLAIN", "listener.name.sasl_plaintext.plain.sasl.jaas.config": "x required"},
         "not terminated by semi-colon"),
        ({"sasl.enabled.mechanisms": "OAUTHBEARER", "sasl.jaas.config": "x required;",
          "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class":
              "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"},
         "needs sasl.oauthbearer.jwks.endpoint.url"),
        ({"sasl.enabled.mechanisms": "OAUTHBEARER", "sasl.jaas.config": "x required;",
          "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class": "com.example.Mine"},
         "com.example.Mine is not supported"),
        ({"sasl.enabled.mechanisms": "OAUTHBEARER", "sasl.jaas.config": "x required;",
          "sasl.oauthbearer.jwks.endpoint.url": "file:///nonexistent/jwks.json",
          "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class":
              "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"},
         "cannot read the JWKS"),
    ],
)
def test_unservable_settings_refuse_to_start(settings: dict[str, str], message: str) -> None:
    with pytest.raises(MechanismConfigError, match=message):
        _table(**settings)


def test_garbage_tokens_cost_only_the_login() -> None:
    """Random and truncated tokens answer an error (or a challenge), never raise out of the state machine."""
    import random

    rng = random.Random(13)
    samples = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300))) for _ in range(300)]
    samples += [b"n,,\x01auth=Bearer " + bytes(rng.getrandbits(8) for _ in range(50)) + b"\x01\x01" for _ in range(50)]
    samples += [b"n,,\x01auth=Bearer a." + b"A" * n + b".\x01\x01" for n in range(0, 40, 3)]
    for mechanism in ("PLAIN", "OAUTHBEARER"):
        for sample in samples:
            conn = _connection()
            conn.handshake(mechanism, 1, 0)
            response = conn.authenticate(sample, 2, 0)
            assert response["error_code"] in (0, SASL_AUTHENTICATION_FAILED)
            if response["error_code"] == 0:
                assert conn.principal is not None or response["auth_bytes"].startswith(b'{"status"')
