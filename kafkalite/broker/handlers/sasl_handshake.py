"""SaslHandshake (key 17), v0-v1: the client names its SASL mechanism.

On a SASL listener the connection's SASL state (security/sasl_state.py) answers: the enabled
mechanisms, UNSUPPORTED_SASL_MECHANISM (then the connection closes), or the start of a
re-authentication (KIP-368) on an authenticated connection whose session has a lifetime. After v0
the client's tokens come as bare frames; after v1 as SaslAuthenticate requests. Anywhere else
(a plaintext or SSL listener, or an authenticated session that cannot re-authenticate now) Kafka's
KafkaApis answers ILLEGAL_SASL_STATE with no mechanisms, and so does kafkalite.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(17, "SaslHandshake", 0, 1)
async def handle_sasl_handshake(ctx: RequestContext, request: Any) -> dict[str, Any]:
    session = ctx.session
    if session is None or session.sasl is None:
        return {"error_code": int(ErrorCode.ILLEGAL_SASL_STATE), "mechanisms": []}
    now_ms = int(ctx.state.clock.monotonic() * 1000)
    return session.sasl.handshake(request.mechanism, ctx.version, now_ms)
