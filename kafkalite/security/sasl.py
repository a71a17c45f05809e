"""The contract between a connection's SASL exchange and each SASL mechanism.

A mechanism is a small state machine fed the client's tokens one at a time (from SaslAuthenticate
requests, or raw frames after a v0 SaslHandshake); it answers each with the bytes to send back
and knows, once complete, who the client is. It does no I/O, so the connection owns framing,
error answers, closing and re-authentication (KIP-368), and each mechanism is unit-tested alone.
Credential stores are reached through small lookups (``CredentialLookup``) so mechanisms never
see broker state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class SaslAuthenticationFailed(Exception):
    """The login is refused. ``str(exc)`` is the message Kafka sends with SASL_AUTHENTICATION_FAILED
    (e.g. ``Authentication failed: Invalid username or password`` for PLAIN)."""


class MechanismError(SaslAuthenticationFailed):
    """A malformed exchange (Java's SaslException): the client is told only the generic message
    ``Authentication failed during authentication due to invalid credentials with SASL mechanism X``."""


class SaslServer(Protocol):
    """One authentication attempt with one mechanism (a new object for each attempt)."""

    #: The mechanism name as clients send it: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER.
    mechanism: str

    def evaluate(self, token: bytes) -> bytes:
        """Answer one client token with the challenge to send back (``b""`` when there is none).

        Raises SaslAuthenticationFailed when the login is refused; the caller then answers with
        SASL_AUTHENTICATION_FAILED and closes the connection.
        """
        ...

    @property
    def complete(self) -> bool:
        """The exchange has succeeded: ``principal`` is known."""
        ...

    @property
    def principal(self) -> str:
        """``User:<name>`` once complete."""
        ...

    @property
    def lifetime_ms(self) -> int | None:
        """Milliseconds the credential itself stays valid from now (an OAUTHBEARER token's ``exp``),
        or None when it does not expire; the session lifetime is the lesser of this and
        ``connections.max.reauth.ms``."""
        ...


MechanismFactory = Callable[[], SaslServer]


@dataclass(frozen=True)
class ScramCredential:
    """A salted SCRAM credential as Kafka stores it (RFC 5802): never the password itself."""

    mechanism: str  # SCRAM-SHA-256 or SCRAM-SHA-512
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


#: (user name, mechanism) -> that user's credential for the mechanism, or None.
CredentialLookup = Callable[[str, str], "ScramCredential | None"]

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
