"""SaslAuthenticate (key 36), v0-v2: one SASL token from the client, the mechanism's answer back.

The connection's SASL state (security/sasl_state.py) feeds the token to the mechanism chosen by
SaslHandshake v1. On success with the exchange complete, the principal becomes the connection's
(``User:<name>``, used by ACLs) and v1+ answers carry the session lifetime (KIP-368); a refused
login answers SASL_AUTHENTICATION_FAILED with Kafka's message and the connection closes after
``connection.failed.authentication.delay.ms``. On an authenticated connection, or a listener
without SASL, Kafka's KafkaApis answers ILLEGAL_SASL_STATE, and so does kafkalite.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(36, "SaslAuthenticate", 0, 2)
async def handle_sasl_authenticate(ctx: RequestContext, request: Any) -> dict[str, Any]:
    session = ctx.session
    if session is None or session.sasl is None:
        return {
            "error_code": int(ErrorCode.ILLEGAL_SASL_STATE),
            "error_message": "SaslAuthenticate request received after successful authentication",
            "auth_bytes": b"",
            "session_lifetime_ms": 0,
        }
    now_ms = int(ctx.state.clock.monotonic() * 1000)
    response = session.sasl.authenticate(bytes(request.auth_bytes), ctx.version, now_ms)
    if session.sasl.principal is not None:
        session.principal = session.sasl.principal
    return response
