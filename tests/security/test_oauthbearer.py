"""OAUTHBEARER with Kafka's unsecured validator: client message parsing and token checks."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from kafkalite.security.oauthbearer import (
    InvalidToken,
    MechanismError,
    OAuthBearerServer,
    parse_client_first,
    validate_unsecured,
)
from kafkalite.security.sasl import SaslAuthenticationFailed

NOW_MS = 1_700_000_000_000


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def token(header: dict[str, Any] | None = None, signature: str = "", **claims: Any) -> str:
    body = {"sub": "alice", "iat": NOW_MS // 1000 - 10, "exp": NOW_MS // 1000 + 600, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return f"{_b64(header or {'alg': 'none'})}.{_b64(body)}.{signature}"


def message(value: str, authzid: str = "", extra: str = "") -> bytes:
    return f"n,{'a=' + authzid if authzid else ''},\x01auth=Bearer {value}\x01{extra}\x01".encode()


def test_client_first_message() -> None:
    assert parse_client_first(message("a.b.", "alice", "k=v\x01")) == ("alice", "a.b.", {"k": "v"})
    assert parse_client_first(b"n,a=x=2Cy,\x01auth=bearer t\x01\x01") == ("x,y", "t", {})


@pytest.mark.parametrize(
    "raw",
    [b"", b"n,,auth=Bearer t", b"y,,\x01auth=Bearer t\x01\x01", b"n,,\x01k=v\x01\x01", b"n,,\x01auth=Basic t\x01\x01",
     b"n,,\x01auth=Bearer a b\x01\x01"],
)
def test_malformed_client_messages_are_mechanism_errors(raw: bytes) -> None:
    with pytest.raises(MechanismError):
        parse_client_first(raw)


def test_valid_token_principal_scope_lifetime() -> None:
    valid = validate_unsecured(token(scope="a b"), {}, NOW_MS)
    assert (valid.principal, valid.scope, valid.lifetime_ms) == ("alice", ["a", "b"], NOW_MS + 600_000)
    options = {"unsecuredValidatorPrincipalClaimName": "user"}
    listed = validate_unsecured(token(scope=["a"], user="bob"), options, NOW_MS)
    assert (listed.principal, listed.scope) == ("bob", ["a"])


@pytest.mark.parametrize(
    ("tok", "options", "reason"),
    [
        (token(exp=NOW_MS // 1000 - 1), {}, "Expiration Time"),
        (token(exp=NOW_MS // 1000), {}, "Expiration Time"),
        (token(exp=None), {}, "No expiration time in JWT"),
        (token(iat=NOW_MS // 1000 + 60), {}, "Issued At"),
        (token(iat=NOW_MS // 1000 + 500, exp=NOW_MS // 1000 + 400), {}, "Issued At"),
        (token(sub=None), {}, "No principal name in JWT claim: sub"),
        (token(sub=" "), {}, "No principal name"),
        (token(header={"alg": "HS256"}), {}, "must have 'none' for an algorithm"),
        (token(signature="c2ln"), {}, "must not contain a digital signature"),
        ("a..b", {}, "contains '..'"),
        ("onlyone", {}, "3 dot-separated"),
        ("!!!.???.", {}, "invalid JWS part"),
        (token(scope="a"), {"unsecuredValidatorRequiredScope": "a b"}, r"missing a required scope \(b\)"),
    ],
)
def test_invalid_tokens(tok: str, options: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        validate_unsecured(tok, options, NOW_MS)


def test_clock_skew_option_tolerates_a_just_expired_token() -> None:
    tok = token(exp=NOW_MS // 1000 - 1)
    assert validate_unsecured(tok, {"unsecuredValidatorAllowableClockSkewMs": "5000"}, NOW_MS).principal == "alice"


def test_exchange_success_and_lifetime() -> None:
    server = OAuthBearerServer({}, lambda: NOW_MS)
    assert server.evaluate(message(token())) == b""
    assert server.complete and server.principal == "User:alice" and server.lifetime_ms == 600_000


def test_refused_token_error_challenge_then_failure_with_the_same_json() -> None:
    server = OAuthBearerServer({"unsecuredValidatorRequiredScope": "kafka admin"}, lambda: NOW_MS)
    challenge = server.evaluate(message(token(scope="kafka")))
    assert challenge == b'{"status":"insufficient_scope", "scope":"[kafka, admin]"}'
    assert not server.complete
    with pytest.raises(SaslAuthenticationFailed) as info:
        server.evaluate(b"\x01")
    assert str(info.value) == challenge.decode()
    expired = OAuthBearerServer({}, lambda: NOW_MS)
    assert expired.evaluate(message(token(exp=NOW_MS // 1000 - 5))) == b'{"status":"invalid_token"}'


def test_authorization_id_must_match_the_principal() -> None:
    server = OAuthBearerServer({}, lambda: NOW_MS)
    with pytest.raises(SaslAuthenticationFailed, match=r"authorization id \(bob\) that is different"):
        server.evaluate(message(token(), authzid="bob"))
    assert OAuthBearerServer({}, lambda: NOW_MS).evaluate(message(token(), authzid="alice")) == b""
