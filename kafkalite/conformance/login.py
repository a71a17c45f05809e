"""A client's side of a SASL login, for scenarios: PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802/7677).

The exchange is SaslHandshake v1 then SaslAuthenticate v2, as the Java client does. Its outcome is
returned as a small JSON-able record that compares between brokers although SCRAM's nonces and
salts are random: per SaslAuthenticate, the error code, message and session lifetime; for SCRAM,
whether the server's final signature verifies (``server_signature_ok``), which shows the server
derived the same keys as the client from the stored credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from kafkalite.conformance.wire import Connection

SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


def exchange(conn: Connection, mechanism: str, username: str, password: str) -> dict[str, Any]:
    """Log ``conn`` in; the record of what the broker answered (``error_code`` 0 when logged in)."""
    if mechanism != "PLAIN" and mechanism not in SCRAM_HASHES:
        raise ValueError(f"scenario logins use PLAIN or SCRAM-SHA-256/512, not {mechanism}")
    conn.send("SaslHandshake", 1, {"mechanism": mechanism})
    answer = conn.receive()
    if not isinstance(answer, dict):
        return {"handshake": {"$closed": True}, "error_code": -1}
    if answer.get("error_code"):
        return {"handshake": {"error_code": answer["error_code"]}, "error_code": answer["error_code"]}
    if mechanism == "PLAIN":
        token = b"\0" + username.encode() + b"\0" + password.encode()
        step = _authenticate(conn, token)
        return {"authenticate": [_summary(step)], "error_code": _code(step)}
    return _scram(conn, SCRAM_HASHES[mechanism], username, password)


def _scram(conn: Connection, hash_name: str, username: str, password: str) -> dict[str, Any]:
    nonce = base64.b64encode(secrets.token_bytes(18)).decode()
    name = username.replace("=", "=3D").replace(",", "=2C")
    first_bare = f"n={name},r={nonce}"
    first = _authenticate(conn, ("n,," + first_bare).encode())
    steps = [_summary(first)]
    if _code(first) != 0:
        return {"authenticate": steps, "error_code": _code(first)}
    assert isinstance(first, dict)
    server_first = _auth_bytes(first).decode()
    fields = dict(part.split("=", 1) for part in server_first.split(",") if "=" in part)
    if not fields.get("r", "").startswith(nonce):
        return {"authenticate": steps, "error_code": -1, "bad_server_first": True}
    salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", hash_name).digest()
    stored_key = hashlib.new(hash_name, client_key).digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, hash_name).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
    final = _authenticate(conn, f"{without_proof},p={proof}".encode())
    steps.append(_summary(final))
    record: dict[str, Any] = {"authenticate": steps, "error_code": _code(final)}
    if _code(final) == 0 and isinstance(final, dict):
        server_key = hmac.new(salted, b"Server Key", hash_name).digest()
        expected = base64.b64encode(hmac.new(server_key, auth_message, hash_name).digest()).decode()
        record["server_signature_ok"] = _auth_bytes(final).decode() == f"v={expected}"
    return record


def _authenticate(conn: Connection, token: bytes) -> Any:
    try:
        conn.send("SaslAuthenticate", 2, {"auth_bytes": {"$hex": token.hex()}})
    except OSError:
        return {"$closed": True}
    answer = conn.receive()
    return answer if isinstance(answer, dict) else {"$closed": True}


def _auth_bytes(answer: dict[str, Any]) -> bytes:
    value = answer.get("auth_bytes") or {}
    return bytes.fromhex(value.get("$hex", "")) if isinstance(value, dict) else b""


def _code(answer: Any) -> int:
    if not isinstance(answer, dict) or answer.get("$closed"):
        return -1
    return int(answer.get("error_code") or 0)


def _summary(answer: Any) -> dict[str, Any]:
    """What compares of one SaslAuthenticate answer (its auth_bytes carry random nonces and salts)."""
    if not isinstance(answer, dict) or answer.get("$closed"):
        return {"$closed": True}
    return {k: answer.get(k) for k in ("error_code", "error_message", "session_lifetime_ms")}
