"""SASL/OAUTHBEARER (RFC 7628) with Kafka's default development validator: unsecured JWS tokens.

The client's first message is the GS2 header and key/value pairs ``n,[a=<authzid>],^Aauth=Bearer
<token>^A[key=value^A]*^A``. The token is checked as Kafka's OAuthBearerUnsecuredValidatorCallbackHandler
does: an unsecured JWS (header ``alg: none``, empty signature), a string principal claim
(``unsecuredValidatorPrincipalClaimName``, default ``sub``), a required ``exp`` not yet past and an
``iat`` not in the future (give or take ``unsecuredValidatorAllowableClockSkewMs``), ``exp`` after
``iat``, and every scope of ``unsecuredValidatorRequiredScope`` present in the scope claim
(``unsecuredValidatorScopeClaimName``, default ``scope``). These options come from the listener's
OAuthBearerLoginModule JAAS entry.

A refused token is answered, as Kafka does, with an error challenge ``{"status":"invalid_token"}``
(or ``insufficient_scope`` with the required scope list,
``[a, b]`` as Java prints it); the client then sends ``^A`` and the exchange
fails with that JSON as the message. A message that is not valid OAUTHBEARER fails at once with
``MechanismError`` (the connection words it as Kafka's generic credentials message).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from kafkalite.security.sasl import SaslAuthenticationFailed

SEPARATOR = "\x01"
_CLIENT_FIRST = re.compile(
    r"n,(?:a=(?P<authzid>(?:[\x01-\x2b\x2d-\x3c\x3e-\x7f]|=2C|=3D)+))?,\x01"
    r"(?P<kvpairs>(?:[A-Za-z]+=[\x21-\x7e \t\r\n]+\x01)*)\x01",
    re.DOTALL,
)
_AUTH = re.compile(r"(?P<scheme>\w+) +(?P<token>[-_.a-zA-Z0-9]+)")


class MechanismError(SaslAuthenticationFailed):
    """A malformed exchange (Java's SaslException): the client is told only the generic message
    ``Authentication failed during authentication due to invalid credentials with SASL mechanism X``."""


class InvalidToken(Exception):
    """The token fails validation; ``scope`` is the missing scope for insufficient_scope."""

    def __init__(self, reason: str, scope: str | None = None) -> None:
        super().__init__(reason)
        self.scope = scope


def _b64_json(part: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken(f"invalid JWS part: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidToken("a JWS part is not a JSON object")
    return value


def _parse_scope(value: str) -> list[str]:
    return [item for item in value.split(" ") if item]


class UnsecuredToken:
    """A validated unsecured JWS: principal, scope, lifetime and start (epoch ms)."""

    def __init__(self, principal: str, scope: list[str], lifetime_ms: int, start_ms: int | None) -> None:
        self.principal = principal
        self.scope = scope
        self.lifetime_ms = lifetime_ms  # the expiry time, epoch ms
        self.start_ms = start_ms


def validate_unsecured(token: str, options: Mapping[str, str], now_ms: int) -> UnsecuredToken:
    """Kafka's OAuthBearerUnsecuredJws + OAuthBearerUnsecuredValidatorCallbackHandler checks."""
    principal_claim = (options.get("unsecuredValidatorPrincipalClaimName") or "sub").strip() or "sub"
    scope_claim = (options.get("unsecuredValidatorScopeClaimName") or "scope").strip() or "scope"
    required_scope = _parse_scope(options.get("unsecuredValidatorRequiredScope") or "")
    try:
        skew_ms = int(options.get("unsecuredValidatorAllowableClockSkewMs") or 0)
    except ValueError:
        skew_ms = 0
    if ".." in token:
        raise InvalidToken("Malformed compact serialization contains '..'")
    parts = token.split(".")
    if len(parts) == 2 and token.endswith("."):
        parts.append("")
    if len(parts) != 3:
        raise InvalidToken(f"Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded "
                           f"values; found {len(parts)}")
    header, claims = _b64_json(parts[0]), _b64_json(parts[1])
    if header.get("alg") != "none":
        raise InvalidToken("Unsecured JWS must have 'none' for an algorithm")
    if parts[2]:
        raise InvalidToken("Unsecured JWS must not contain a digital signature")
    scope_value = claims.get(scope_claim)
    if isinstance(scope_value, str):
        scope = _parse_scope(scope_value)
    elif isinstance(scope_value, list) and all(isinstance(s, str) for s in scope_value):
        scope = list(scope_value)
    elif scope_value is None:
        scope = []
    else:
        raise InvalidToken(f"The scope claim is not a string or a list of strings: {scope_claim}")
    exp = claims.get("exp")
    if exp is None:
        raise InvalidToken("No expiration time in JWT")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise InvalidToken("The exp claim is not a number")
    expires_ms = int(exp * 1000)
    principal = claims.get(principal_claim)
    if not isinstance(principal, str) or not principal.strip():
        raise InvalidToken(f"No principal name in JWT claim: {principal_claim}")
    iat = claims.get("iat")
    start_ms: int | None = None
    if iat is not None:
        if not isinstance(iat, (int, float)) or isinstance(iat, bool):
            raise InvalidToken("The iat claim is not a number")
        start_ms = int(iat * 1000)
        if now_ms + skew_ms < start_ms:
            raise InvalidToken(
                f"The Issued At value ({start_ms} ms) was after the indicated time ({now_ms} ms) plus "
                f"allowable clock skew ({skew_ms} ms)"
            )
    if now_ms - skew_ms >= expires_ms:
        raise InvalidToken(
            f"The indicated time ({now_ms} ms) minus allowable clock skew ({skew_ms} ms) was on or after the "
            f"Expiration Time value ({expires_ms} ms)"
        )
    if start_ms is not None and expires_ms <= start_ms:
        raise InvalidToken(
            f"The Expiration Time time ({expires_ms} ms) was not after the Issued At time ({start_ms} ms)"
        )
    for element in required_scope:
        if element not in scope:
            raise InvalidToken(
                f"The provided scope ({scope}) was missing a required scope ({element}). "
                f"All required scope elements: {required_scope}",
                scope="[" + ", ".join(required_scope) + "]",  # Kafka names the whole required list (Java's toString)
            )
    return UnsecuredToken(principal, scope, expires_ms, start_ms)


def parse_client_first(message: bytes) -> tuple[str, str, dict[str, str]]:
    """(authorization id or "", token, extensions) from the client's first message; MechanismError."""
    text = message.decode("utf-8", errors="replace")
    match = _CLIENT_FIRST.fullmatch(text)
    if match is None:
        raise MechanismError("Invalid OAUTHBEARER client first message")
    authzid = (match.group("authzid") or "").replace("=2C", ",").replace("=3D", "=")
    pairs: dict[str, str] = {}
    for item in match.group("kvpairs").split(SEPARATOR):
        if item:
            key, _, value = item.partition("=")
            pairs[key] = value
    auth = pairs.pop("auth", None)
    if auth is None:
        raise MechanismError("Invalid OAUTHBEARER client first message: 'auth' not specified")
    auth_match = _AUTH.fullmatch(auth)
    if auth_match is None:
        raise MechanismError("Invalid OAUTHBEARER client first message: invalid 'auth' format")
    if auth_match.group("scheme").lower() != "bearer":
        raise MechanismError(f"Invalid scheme in OAUTHBEARER client first message: {auth_match.group('scheme')}")
    return authzid, auth_match.group("token"), pairs


def _error_json(status: str, scope: str | None) -> str:
    """Kafka's jsonErrorResponse, byte for byte (note the space after the comma)."""
    text = f'{{"status":"{status}"'
    if scope is not None:
        text += f', "scope":"{scope}"'
    return text + "}"


class OAuthBearerServer:
    """One OAUTHBEARER exchange against the unsecured validator."""

    mechanism = "OAUTHBEARER"

    def __init__(
        self,
        options: Mapping[str, str],
        now_ms: Callable[[], int],
        validator: Callable[[str, int], UnsecuredToken] | None = None,
    ) -> None:
        """``validator(token, now_ms)`` replaces the unsecured checks (signed tokens: oauth_jwks.py)."""
        self._options = options
        self._now_ms = now_ms
        self._validator = validator
        self._token: UnsecuredToken | None = None
        self._error: str | None = None

    def evaluate(self, token: bytes) -> bytes:
        if token == b"\x01" and self._error is not None:
            raise SaslAuthenticationFailed(self._error)
        self._error = None
        authzid, value, _extensions = parse_client_first(token)
        try:
            if self._validator is not None:
                validated = self._validator(value, self._now_ms())
            else:
                validated = validate_unsecured(value, self._options, self._now_ms())
        except InvalidToken as exc:
            status = "insufficient_scope" if exc.scope is not None else "invalid_token"
            self._error = _error_json(status, exc.scope)
            return self._error.encode()
        if authzid and authzid != validated.principal:
            raise SaslAuthenticationFailed(
                f"Authentication failed: Client requested an authorization id ({authzid}) that is different "
                f"from the token's principal name ({validated.principal})"
            )
        self._token = validated
        return b""

    @property
    def complete(self) -> bool:
        return self._token is not None

    @property
    def principal(self) -> str:
        if self._token is None:
            raise RuntimeError("OAUTHBEARER exchange not complete")
        return f"User:{self._token.principal}"

    @property
    def lifetime_ms(self) -> int | None:
        if self._token is None:
            return None
        return self._token.lifetime_ms - self._now_ms()
