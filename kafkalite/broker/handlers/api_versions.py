"""ApiVersions (key 18), v0-v4.

Answers from the registry, so every registered handler is advertised exactly once, except those
registered with ``advertised=False`` (client telemetry, 71/72: listed only when the broker has a
telemetry receiver, its Prometheus endpoint, as Kafka lists them only with a receiver plugin). A request
at a version above ours is answered by the dispatcher in v0 with UNSUPPORTED_VERSION and, as
Kafka does (KIP-511), only ApiVersions' own range, so the client can retry at a version we
support. From v3 the client names its software; a name or version outside KIP-511's pattern
(empty included) is INVALID_REQUEST with no API list, as Kafka answers.

No feature levels are advertised or finalized: transaction.version 2, group.version 1 and the
share/streams versions would tell clients to use protocols kafkalite does not implement, and
an empty list is what clients see from a broker without them.
"""

from __future__ import annotations

import re
from typing import Any

from kafkalite.broker.handlers.registry import APIS, RequestContext, api
from kafkalite.errors import ErrorCode

API_VERSIONS_KEY = 18
#: GetTelemetrySubscriptions and PushTelemetry (handlers/client_telemetry.py).
TELEMETRY_KEYS = frozenset({71, 72})
#: KIP-511's pattern for ClientSoftwareName and ClientSoftwareVersion.
SOFTWARE_PATTERN = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")


def api_versions_body(error: ErrorCode = ErrorCode.NONE, also: frozenset[int] = frozenset()) -> dict[str, Any]:
    """The answer; ``also``: keys registered unadvertised that this broker lists all the same."""
    specs = [s for s in sorted(APIS.values(), key=lambda s: s.key) if s.advertised or s.key in also]
    if error == ErrorCode.UNSUPPORTED_VERSION:
        specs = [s for s in specs if s.key == API_VERSIONS_KEY]
    elif error != ErrorCode.NONE:
        specs = []
    return {
        "error_code": int(error),
        "api_keys": [{"api_key": s.key, "min_version": s.min_version, "max_version": s.max_version} for s in specs],
        "throttle_time_ms": 0,
    }


def valid_client_software(request: Any) -> bool:
    name = getattr(request, "client_software_name", None) or ""
    version = getattr(request, "client_software_version", None) or ""
    return bool(SOFTWARE_PATTERN.fullmatch(name) and SOFTWARE_PATTERN.fullmatch(version))


@api(API_VERSIONS_KEY, "ApiVersions", 0, 4)
async def handle_api_versions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    if ctx.version >= 3 and not valid_client_software(request):
        return api_versions_body(ErrorCode.INVALID_REQUEST)
    telemetry = ctx.state.telemetry
    if ctx.version >= 3:
        telemetry.client_software(ctx.peer, request.client_software_name, request.client_software_version)
    return api_versions_body(also=TELEMETRY_KEYS if telemetry.receiver is not None else frozenset())
