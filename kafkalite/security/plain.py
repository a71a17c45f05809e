"""SASL/PLAIN (RFC 4616) as Kafka's PlainSaslServer checks it.

The client sends one message ``[authzid] NUL authcid NUL passwd``; the password is compared, in
constant time, with the ``user_<name>`` option of the listener's PlainLoginModule JAAS entry (Kafka's
default PlainServerCallbackHandler). An authorization id, when given, must equal the user name.
Every refusal carries Kafka's exact message, which clients show to the user.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from kafkalite.security.sasl import SaslAuthenticationFailed

INVALID_CREDENTIALS = "Authentication failed: Invalid username or password"


def plain_users(options: Mapping[str, str]) -> dict[str, str]:
    """User name -> password from a PlainLoginModule's ``user_<name>`` options."""
    return {key[len("user_"):]: value for key, value in options.items() if key.startswith("user_")}


def _tokens(message: str) -> list[str]:
    """Up to four NUL-separated tokens, as Kafka's extractTokens (so a fourth part is an error)."""
    tokens: list[str] = []
    start = 0
    for _ in range(4):
        end = message.find("\x00", start)
        if end == -1:
            tokens.append(message[start:])
            break
        tokens.append(message[start:end])
        start = end + 1
    if len(tokens) != 3:
        raise SaslAuthenticationFailed(f"Invalid SASL/PLAIN response: expected 3 tokens, got {len(tokens)}")
    return tokens


class PlainServer:
    """One PLAIN exchange: a single client message, an empty answer on success."""

    mechanism = "PLAIN"

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = users
        self._principal: str | None = None

    def evaluate(self, token: bytes) -> bytes:
        if self._principal is not None:
            raise SaslAuthenticationFailed("Authentication exchange has completed")
        authzid, username, password = _tokens(token.decode("utf-8", errors="replace"))
        if not username:
            raise SaslAuthenticationFailed("Authentication failed: username not specified")
        if not password:
            raise SaslAuthenticationFailed("Authentication failed: password not specified")
        expected = self._users.get(username)
        # Compared even for an unknown user, so the time taken does not tell which users exist.
        matches = hmac.compare_digest((expected or "\x00" + password).encode(), password.encode())
        if expected is None or not matches:
            raise SaslAuthenticationFailed(INVALID_CREDENTIALS)
        if authzid and authzid != username:
            raise SaslAuthenticationFailed(
                "Authentication failed: Client requested an authorization id that is different from username"
            )
        self._principal = f"User:{username}"
        return b""

    @property
    def complete(self) -> bool:
        return self._principal is not None

    @property
    def principal(self) -> str:
        if self._principal is None:
            raise RuntimeError("PLAIN exchange not complete")
        return self._principal

    @property
    def lifetime_ms(self) -> int | None:
        return None
