"""Signed OAUTHBEARER tokens checked against a JWKS, as Kafka's OAuthBearerValidatorCallbackHandler does.

Chosen as Kafka chooses it: ``listener.name.<l>.oauthbearer.sasl.server.callback.handler.class=
org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler`` with
``sasl.oauthbearer.jwks.endpoint.url`` (``https://``, ``http://`` or ``file:``). A token must be a
JWS signed by a key of that set (``alg: none`` refused), carry ``exp`` and ``iat`` (``sasl.oauthbearer.
clock.skew.seconds`` of leeway), the audience of ``sasl.oauthbearer.expected.audience`` and the issuer
of ``sasl.oauthbearer.expected.issuer`` when those are set, and a string principal claim
(``sasl.oauthbearer.sub.claim.name``); the scope claim (``sasl.oauthbearer.scope.claim.name``) may be
a string or a list. Any failure is Kafka's ``{"status":"invalid_token"}`` challenge.

The key set is read at start (a broker that cannot read it does not start) and read again every
``sasl.oauthbearer.jwks.endpoint.refresh.ms`` in a daemon thread; a failed refresh keeps the old keys.
Signatures are checked by PyJWT (with ``cryptography``).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

from kafkalite.security.oauthbearer import InvalidToken, UnsecuredToken

log = logging.getLogger(__name__)

VALIDATOR_HANDLER = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
FETCH_TIMEOUT_SECONDS = 10.0


class JwksError(ValueError):
    """The key set cannot be read or parsed (at start: the broker refuses to start)."""


def read_jwks(url: str) -> dict[str, Any]:
    """The JSON key set at ``url`` (file:, http:, https:)."""
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # the configured URL
            data = response.read()
        value = json.loads(data)
    except (OSError, ValueError) as exc:
        raise JwksError(f"cannot read the JWKS at {url}: {exc}") from exc
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise JwksError(f"the JWKS at {url} has no 'keys' list")
    return value


class JwksValidator:
    """Validates signed JWTs against a refreshed key set; ``validate(token, now_ms)`` as the unsecured one."""

    def __init__(
        self,
        url: str,
        refresh_ms: int = 3_600_000,
        clock_skew_s: int = 30,
        audience: list[str] | None = None,
        issuer: str | None = None,
        sub_claim: str = "sub",
        scope_claim: str = "scope",
        fetch: Callable[[str], dict[str, Any]] = read_jwks,
    ) -> None:
        import jwt  # PyJWT: imported only when a listener validates signed tokens

        self._jwt = jwt
        self.url = url
        self.refresh_ms = refresh_ms
        self.clock_skew_s = clock_skew_s
        self.audience = audience or None
        self.issuer = issuer or None
        self.sub_claim = sub_claim or "sub"
        self.scope_claim = scope_claim or "scope"
        self._fetch = fetch
        self._keys: dict[str | None, Any] = {}
        self._load()  # raises JwksError: a broker with an unreadable key set does not start
        self._timer: threading.Timer | None = None
        if refresh_ms > 0:
            self._schedule()

    def _load(self) -> None:
        try:
            key_set = self._jwt.PyJWKSet.from_dict(self._fetch(self.url))
        except self._jwt.PyJWTError as exc:
            raise JwksError(f"cannot use the JWKS at {self.url}: {exc}") from exc
        self._keys = {key.key_id: key for key in key_set.keys}  # replaced at once: readers see old or new

    def _schedule(self) -> None:
        self._timer = threading.Timer(self.refresh_ms / 1000, self._refresh)
        self._timer.daemon = True
        self._timer.start()

    def _refresh(self) -> None:
        try:
            self._load()
        except JwksError as exc:
            log.warning("keeping the previous JWKS: %s", exc)
        self._schedule()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def validate(self, token: str, now_ms: int) -> UnsecuredToken:
        jwt = self._jwt
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed JWT: {exc}") from exc
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm.lower() == "none":
            raise InvalidToken("the JWT is not signed")
        keys = self._keys
        key = keys.get(header.get("kid"))
        if key is None and len(keys) == 1 and header.get("kid") is None:
            key = next(iter(keys.values()))
        if key is None:
            raise InvalidToken(f"no key {header.get('kid')!r} in the JWKS")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.clock_skew_s,
                options={"require": ["exp", "iat"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        exp = claims["exp"]
        if not isinstance(exp, (int, float)) or now_ms - self.clock_skew_s * 1000 >= exp * 1000:
            raise InvalidToken("expired")
        principal = claims.get(self.sub_claim)
        if not isinstance(principal, str) or not principal.strip():
            raise InvalidToken(f"No principal name in JWT claim: {self.sub_claim}")
        scope_value = claims.get(self.scope_claim)
        if isinstance(scope_value, str):
            scope = [s for s in scope_value.split(" ") if s]
        elif isinstance(scope_value, list):
            scope = [str(s) for s in scope_value]
        else:
            scope = []
        iat = claims.get("iat")
        start_ms = int(iat * 1000) if isinstance(iat, (int, float)) else None
        return UnsecuredToken(principal, scope, int(exp * 1000), start_ms)
