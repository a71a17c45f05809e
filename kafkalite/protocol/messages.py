"""Message classes for the schemas in ``kafkalite/protocol/schemas``, loaded by the codec's catalogue.

A class here with the API key of a kafka-python class replaces it in the broker's catalogue
only (kafka-python's own clients keep theirs), so a schema can be widened, e.g. to versions
Kafka 4 removed, without touching the library. Every class is listed in ``__all__``.
"""

from __future__ import annotations

import types

from kafka.protocol.api_message import ApiMessage

SCHEMAS = "kafkalite.protocol.schemas"


def _message(name: str) -> type[ApiMessage]:
    """A message class read from ``schemas/<name>.json``."""
    return types.new_class(name, (ApiMessage,), {"load_json": SCHEMAS})


GetTelemetrySubscriptionsRequest = _message("GetTelemetrySubscriptionsRequest")
GetTelemetrySubscriptionsResponse = _message("GetTelemetrySubscriptionsResponse")
PushTelemetryRequest = _message("PushTelemetryRequest")
PushTelemetryResponse = _message("PushTelemetryResponse")

__all__: list[str] = [
    "GetTelemetrySubscriptionsRequest",
    "GetTelemetrySubscriptionsResponse",
    "PushTelemetryRequest",
    "PushTelemetryResponse",
]
