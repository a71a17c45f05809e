"""SASL/PLAIN as Kafka's PlainSaslServer: RFC 4616 message, Kafka's refusal messages."""

from __future__ import annotations

import pytest

from kafkalite.security.plain import INVALID_CREDENTIALS, PlainServer, plain_users
from kafkalite.security.sasl import SaslAuthenticationFailed

USERS = plain_users({"username": "admin", "password": "x", "user_admin": "admin-secret", "user_alice": "pw"})


def test_users_come_from_user_options_only() -> None:
    assert USERS == {"admin": "admin-secret", "alice": "pw"}


def test_login_without_and_with_authorization_id() -> None:
    for message in (b"\x00alice\x00pw", b"alice\x00alice\x00pw"):
        server = PlainServer(USERS)
        assert not server.complete
        assert server.evaluate(message) == b""
        assert server.complete and server.principal == "User:alice" and server.lifetime_ms is None


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (b"\x00alice\x00wrong", INVALID_CREDENTIALS),
        (b"\x00mallory\x00pw", INVALID_CREDENTIALS),
        (b"\x00\x00pw", "Authentication failed: username not specified"),
        (b"\x00alice\x00", "Authentication failed: password not specified"),
        (b"alice", "Invalid SASL/PLAIN response: expected 3 tokens, got 1"),
        (b"\x00alice", "Invalid SASL/PLAIN response: expected 3 tokens, got 2"),
        (b"\x00alice\x00pw\x00more", "Invalid SASL/PLAIN response: expected 3 tokens, got 4"),
        (b"admin\x00alice\x00pw",
         "Authentication failed: Client requested an authorization id that is different from username"),
        (b"\xff\xfe\x00alice\x00pw",
         "Authentication failed: Client requested an authorization id that is different from username"),
    ],
)
def test_refusals_carry_kafkas_messages(message: bytes, error: str) -> None:
    server = PlainServer(USERS)
    with pytest.raises(SaslAuthenticationFailed) as info:
        server.evaluate(message)
    assert str(info.value) == error
    assert not server.complete


def test_a_second_token_is_refused() -> None:
    server = PlainServer(USERS)
    server.evaluate(b"\x00alice\x00pw")
    with pytest.raises(SaslAuthenticationFailed):
        server.evaluate(b"\x00alice\x00pw")
