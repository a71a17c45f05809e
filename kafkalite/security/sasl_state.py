"""The SASL state machine of one connection on a SASL listener, as Kafka's SaslServerAuthenticator.

Pure: no I/O, times passed in (monotonic ms). The dispatcher asks ``admit`` before decoding each
request; the SaslHandshake and SaslAuthenticate handlers call ``handshake`` / ``authenticate``; after
a v0 SaslHandshake the connection hands raw frames (no Kafka header) to ``raw_token``. The connection
reads ``close_after`` to learn that the response it is about to send is the last one (sent after
``connection.failed.authentication.delay.ms``, then the connection closes).

Phases (Kafka's SaslState), and what each lets through:

    INITIAL        ApiVersions (-> HANDSHAKE) or SaslHandshake; anything else closes the connection
    HANDSHAKE      SaslHandshake; anything else closes (a second ApiVersions too)
    AUTHENTICATE   SaslAuthenticate (v1 handshake) or raw tokens (v0); a SaslHandshake is answered
                   ILLEGAL_SASL_STATE and the connection closes; anything else closes
    BAD_MECHANISM  re-authentication asked for another mechanism: the next token closes the connection
    COMPLETE       every request, until the session expires (KIP-368): then only a SaslHandshake that
                   starts a re-authentication, anything else closes the connection
    FAILED         nothing

Session lifetime (KIP-368): the lesser of ``connections.max.reauth.ms`` (per mechanism, 0 = none)
and the credential's own lifetime (an OAUTHBEARER token's exp). A re-authentication starts with a
SaslHandshake on an authenticated connection whose session has a lifetime, at most once a second;
it must use the same mechanism and end with the same principal.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafkalite.security.sasl import SaslAuthenticationFailed, SaslServer

API_VERSIONS = 18
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36

NONE = 0
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
SASL_AUTHENTICATION_FAILED = 58

MIN_REAUTH_INTERVAL_MS = 1000


class Phase(enum.Enum):
    INITIAL = "initial"
    HANDSHAKE = "handshake"
    AUTHENTICATE = "authenticate"
    BAD_MECHANISM = "bad-mechanism"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass
class SaslListenerConfig:
    """What every connection of one SASL listener shares: built once at start (security/mechanisms.py)."""

    listener: str
    #: Enabled mechanisms in the configured order -> a factory of one exchange each.
    mechanisms: dict[str, Callable[[], SaslServer]]
    #: connections.max.reauth.ms per mechanism (0: sessions do not expire unless the credential does).
    reauth_ms: dict[str, int] = field(default_factory=dict)
    failure_delay_ms: int = 100
    max_receive_size: int = 524288


class SaslConnection:
    """One connection's authentication and re-authentication state."""

    def __init__(self, config: SaslListenerConfig) -> None:
        self.config = config
        self.phase = Phase.INITIAL
        #: After a v0 SaslHandshake: the next frames are bare tokens, not Kafka requests.
        self.raw_tokens = False
        self.mechanism: str | None = None
        self.principal: str | None = None  # User:<name> once authenticated
        self.server: SaslServer | None = None
        #: Set when the response being built is the last: delay (ms) before sending it and closing.
        self.close_after: int | None = None
        #: Why the connection failed (for the log).
        self.failure: str | None = None
        self.session_expires_ms: int | None = None  # monotonic ms; None: the session never expires
        self.reauthenticating = False
        self._last_reauth_start_ms: int | None = None
        self._previous_mechanism: str | None = None
        self._bad_mechanism_message = ""

    # ---- queries ------------------------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        """A principal is established (also while a re-authentication is under way)."""
        return self.principal is not None

    def expired(self, now_ms: int) -> bool:
        return self.session_expires_ms is not None and now_ms > self.session_expires_ms

    def admit(self, api_key: int, version_ok: bool, now_ms: int) -> bool:
        """Whether a request with ``api_key`` may be handled now; False: close without an answer."""
        phase = self.phase
        if phase is Phase.COMPLETE:
            if not self.expired(now_ms):
                return True
            if api_key == SASL_HANDSHAKE and self.reauth_allowed(now_ms):
                return True
            self.failure = "session expired (connections.max.reauth.ms or credential lifetime), not re-authenticated"
            return False
        if phase is Phase.INITIAL:
            if api_key == API_VERSIONS:
                if version_ok:
                    self.phase = Phase.HANDSHAKE
                return True
            if api_key == SASL_HANDSHAKE:
                return True
            self.failure = f"API key {api_key} before SASL authentication"
            return False
        if phase is Phase.HANDSHAKE:
            if api_key == SASL_HANDSHAKE:
                return True
            self.failure = f"API key {api_key} during the SASL handshake"
            return False
        if phase is Phase.AUTHENTICATE:
            if api_key in (SASL_AUTHENTICATE, SASL_HANDSHAKE):
                return True
            self.failure = f"API key {api_key} during SASL authentication"
            return False
        if phase is Phase.BAD_MECHANISM:
            self.failure = self._bad_mechanism_message
            return False
        self.failure = self.failure or "request after a failed SASL authentication"
        return False

    def reauth_allowed(self, now_ms: int) -> bool:
        """KIP-368: only sessions with an expiry re-authenticate, and not twice within a second."""
        if not self.authenticated or self.session_expires_ms is None:
            return False
        last = self._last_reauth_start_ms
        return last is None or now_ms - last >= MIN_REAUTH_INTERVAL_MS

    # ---- requests -----------------------------------------------------------------------------

    def handshake(self, mechanism: str, version: int, now_ms: int) -> dict[str, Any]:
        """SaslHandshake: the response body (error_code, mechanisms)."""
        enabled = list(self.config.mechanisms)
        if self.phase is Phase.COMPLETE:
            if not self.reauth_allowed(now_ms):
                # Kafka's KafkaApis answer on an authenticated connection; the connection stays open.
                return {"error_code": ILLEGAL_SASL_STATE, "mechanisms": []}
            self._last_reauth_start_ms = now_ms
            self._previous_mechanism = self.mechanism
            self.reauthenticating = True
        elif self.phase not in (Phase.INITIAL, Phase.HANDSHAKE):
            self._fail(f"SaslHandshake during SASL authentication (state {self.phase.value})")
            return {"error_code": ILLEGAL_SASL_STATE, "mechanisms": []}
        self.raw_tokens = version == 0
        if mechanism not in self.config.mechanisms:
            self._fail(f"Unsupported SASL mechanism {mechanism}")
            return {"error_code": UNSUPPORTED_SASL_MECHANISM, "mechanisms": enabled}
        if self.reauthenticating and mechanism != self._previous_mechanism:
            self._bad_mechanism_message = (
                f"SASL mechanism '{mechanism}' requested by client is not supported for re-authentication "
                f"of mechanism '{self._previous_mechanism}'"
            )
            self.phase = Phase.BAD_MECHANISM
            return {"error_code": NONE, "mechanisms": enabled}
        self.mechanism = mechanism
        self.server = self.config.mechanisms[mechanism]()
        self.phase = Phase.AUTHENTICATE
        return {"error_code": NONE, "mechanisms": enabled}

    def authenticate(self, token: bytes, version: int, now_ms: int) -> dict[str, Any]:
        """SaslAuthenticate: the response body (error_code, error_message, auth_bytes, session_lifetime_ms)."""
        if self.phase is Phase.COMPLETE or (self.phase is not Phase.AUTHENTICATE and self.authenticated):
            return {
                "error_code": ILLEGAL_SASL_STATE,
                "error_message": "SaslAuthenticate request received after successful authentication",
                "auth_bytes": b"",
                "session_lifetime_ms": 0,
            }
        if self.phase is not Phase.AUTHENTICATE or self.server is None or self.raw_tokens:
            self._fail("SaslAuthenticate out of order")
            return {
                "error_code": ILLEGAL_SASL_STATE,
                "error_message": "Unexpected Kafka request of type SASL_AUTHENTICATE during SASL handshake.",
                "auth_bytes": b"",
                "session_lifetime_ms": 0,
            }
        try:
            challenge = self._evaluate(token, now_ms)
        except SaslAuthenticationFailed as exc:
            return {
                "error_code": SASL_AUTHENTICATION_FAILED,
                "error_message": str(exc),
                "auth_bytes": b"",
                "session_lifetime_ms": 0,
            }
        lifetime = self._complete(now_ms) if self.server.complete else 0
        # Kafka's answer carries an empty (not null) error message on success.
        return {"error_code": NONE, "error_message": "", "auth_bytes": challenge, "session_lifetime_ms": lifetime}

    def raw_token(self, token: bytes, now_ms: int) -> bytes:
        """A bare token after a v0 handshake: the bytes to send back (size-prefixed by the connection).

        Raises SaslAuthenticationFailed when the login is refused: the connection then closes
        without an answer, as Kafka does in the v0 flow.
        """
        if self.phase is Phase.BAD_MECHANISM:
            self._fail(self._bad_mechanism_message)
            raise SaslAuthenticationFailed(self._bad_mechanism_message)
        if self.server is None or self.phase is not Phase.AUTHENTICATE:
            self._fail("SASL token out of order")
            raise SaslAuthenticationFailed("SASL token out of order")
        challenge = self._evaluate(token, now_ms)
        if self.server.complete:
            self._complete(now_ms)
        return challenge

    # ---- internals ----------------------------------------------------------------------------

    def _evaluate(self, token: bytes, now_ms: int) -> bytes:
        assert self.server is not None
        from kafkalite.security.oauthbearer import MechanismError

        try:
            challenge = self.server.evaluate(token)
            if self.server.complete and self.reauthenticating and self.server.principal != self.principal:
                old, new = self.principal or "", self.server.principal
                raise SaslAuthenticationFailed(
                    "Cannot change principals during re-authentication from "
                    f"{old.replace(':', '.', 1)}: {new.replace(':', '.', 1)}"
                )
        except MechanismError as exc:
            message = self._generic_failure()
            self._fail(f"{message} ({exc})")
            raise SaslAuthenticationFailed(message) from exc
        except SaslAuthenticationFailed as exc:
            self._fail(str(exc))
            raise
        except Exception as exc:  # a mechanism bug or undecodable input: this connection only
            message = self._generic_failure()
            self._fail(f"{message} ({type(exc).__name__}: {exc})")
            raise SaslAuthenticationFailed(message) from exc
        return challenge

    def _generic_failure(self) -> str:
        """Kafka's answer to a malformed exchange (a SaslException): it says nothing more, on purpose."""
        text = "re-authentication" if self.reauthenticating else "authentication"
        return f"Authentication failed during {text} due to invalid credentials with SASL mechanism {self.mechanism}"

    def _complete(self, now_ms: int) -> int:
        """Authentication succeeded: the principal, the session expiry, and the lifetime to tell the client."""
        server = self.server
        assert server is not None and self.mechanism is not None
        self.principal = server.principal
        self.phase = Phase.COMPLETE
        self.raw_tokens = False
        self.reauthenticating = False
        self.server = None
        max_reauth = self.config.reauth_ms.get(self.mechanism, 0)
        credential = server.lifetime_ms
        lifetime = 0
        self.session_expires_ms = None
        if credential is not None or max_reauth > 0:
            if credential is None:
                lifetime = max(0, max_reauth)
            elif max_reauth <= 0:
                lifetime = max(0, credential)
            else:
                lifetime = max(0, min(credential, max_reauth))
            self.session_expires_ms = now_ms + lifetime
        return lifetime

    def _fail(self, reason: str) -> None:
        self.phase = Phase.FAILED
        self.failure = reason
        self.close_after = self.config.failure_delay_ms
        self.server = None

