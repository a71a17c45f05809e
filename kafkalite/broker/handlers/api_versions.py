"""ApiVersions (key 18), v0-v4.

Answers from the registry, so every registered handler is advertised exactly once, except those
registered with ``advertised=False`` (Kafka's client telemetry without a receiver plugin). A request
at a version above ours is answered by the dispatcher in v0 with UNSUPPORTED_VERSION (Kafka's
rule), so the client can retry at a version we support.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import APIS, RequestContext, api
from kafkalite.errors import ErrorCode

API_VERSIONS_KEY = 18


def api_versions_body(error: ErrorCode = ErrorCode.NONE) -> dict[str, Any]:
    return {
        "error_code": int(error),
        "api_keys": [
            {"api_key": s.key, "min_version": s.min_version, "max_version": s.max_version}
            for s in sorted(APIS.values(), key=lambda s: s.key)
            if s.advertised
        ],
        "throttle_time_ms": 0,
    }


@api(API_VERSIONS_KEY, "ApiVersions", 0, 4)
async def handle_api_versions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    return api_versions_body()
