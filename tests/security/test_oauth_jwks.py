"""Signed OAUTHBEARER tokens against a JWKS (Kafka's OAuthBearerValidatorCallbackHandler)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kafkalite.security.oauth_jwks import JwksValidator
from kafkalite.security.oauthbearer import InvalidToken, OAuthBearerServer


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY, OTHER = _key(), _key()


def write_jwks(path: Path, kid: str = "k1", key: rsa.RSAPrivateKey = KEY) -> str:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig", alg="RS256")
    path.write_text(json.dumps({"keys": [jwk]}))
    return path.as_uri()


def signed(key: rsa.RSAPrivateKey = KEY, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "alice", "iat": now, "exp": now + 600, "aud": "kafka", "iss": "idp", **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


def test_valid_signed_token(tmp_path: Path) -> None:
    validator = JwksValidator(write_jwks(tmp_path / "jwks.json"), refresh_ms=0, audience=["kafka"], issuer="idp")
    token = validator.validate(signed(scope="a b"), int(time.time() * 1000))
    assert (token.principal, token.scope) == ("alice", ["a", "b"])
    server = OAuthBearerServer({}, lambda: int(time.time() * 1000), validator.validate)
    assert server.evaluate(f"n,,\x01auth=Bearer {signed()}\x01\x01".encode()) == b""
    assert server.principal == "User:alice" and 590_000 < (server.lifetime_ms or 0) <= 600_000


@pytest.mark.parametrize(
    "token",
    [
        signed(OTHER),  # signed by a key not in the set
        signed(kid="k2"),
        signed(exp=int(time.time()) - 120),
        signed(iat=None),
        signed(aud="other"),
        signed(iss="elsewhere"),
        signed(sub=None),
        jwt.encode({"sub": "alice", "exp": int(time.time()) + 60, "iat": int(time.time())}, None, algorithm="none"),
        "not-a-jwt",
    ],
    ids=["wrong-key", "unknown-kid", "expired", "no-iat", "audience", "issuer", "no-sub", "alg-none", "garbage"],
)
def test_refused_tokens(tmp_path: Path, token: str) -> None:
    validator = JwksValidator(write_jwks(tmp_path / "jwks.json"), refresh_ms=0, audience=["kafka"], issuer="idp")
    with pytest.raises(InvalidToken):
        validator.validate(token, int(time.time() * 1000))
    server = OAuthBearerServer({}, lambda: int(time.time() * 1000), validator.validate)
    assert server.evaluate(f"n,,\x01auth=Bearer {token}\x01\x01".encode()) in (b'{"status":"invalid_token"}',)


def test_refresh_picks_up_a_rotated_key(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    validator = JwksValidator(write_jwks(path), refresh_ms=50)
    try:
        write_jwks(path, kid="k2", key=OTHER)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                validator.validate(signed(OTHER, kid="k2"), int(time.time() * 1000))
                break
            except InvalidToken:
                time.sleep(0.05)
        else:
            raise AssertionError("the rotated key was never loaded")
    finally:
        validator.close()
