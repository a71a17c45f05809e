"""Message classes for the schemas in ``kafkalite/protocol/schemas``, loaded by the codec's catalogue.

A class here with the API key of a kafka-python class replaces it in the broker's catalogue
only (kafka-python's own clients keep theirs), so a schema can be widened, e.g. to versions
Kafka 4 removed, without touching the library. Every class is listed in ``__all__``.

kafka-python registers every response class it creates in a process-wide table by API key, and
its client parses responses with whatever that table holds; a class made here would take the
library's place there. So each class is made with the table restored afterwards: kafka-python
clients running in the same process (tests, the CLI tools) keep decoding with their own classes.
"""

from __future__ import annotations

import types
from typing import Any

from kafka.protocol.api_header import ResponseClassRegistry
from kafka.protocol.api_message import ApiMessage

SCHEMAS = "kafkalite.protocol.schemas"
# The JSON files kafka-python bundles: Kafka's own, before the library's ``json_patch`` edits.
LIBRARY_SCHEMAS = "kafka.protocol.schemas.resources"


def _message(name: str, package: str = SCHEMAS, json_patch: Any = None) -> type[ApiMessage]:
    """A message class read from ``<package>/<name>.json``, invisible to kafka-python's clients."""
    namespace: dict[str, Any] = {"__module__": __name__}
    if json_patch is not None:
        namespace["json_patch"] = classmethod(json_patch)
    registry = ResponseClassRegistry._response_class_registry
    before = dict(registry)
    cls = types.new_class(name, (ApiMessage,), {"load_json": package}, lambda ns: ns.update(namespace))
    registry.clear()
    registry.update(before)
    return cls


def _widened(name: str, first_version: int) -> type[ApiMessage]:
    """Kafka's schema for ``name`` as kafka-python bundles it, valid again from ``first_version``.

    Kafka 4 dropped old versions (KIP-896) by raising ``validVersions`` only: every field kept
    its ``versions``, so the layouts of the dropped versions are still in the schema. Each one
    widened here was compared field by field with Kafka 3.9's message JSON, which still had
    those versions; ``tests/protocol/test_old_versions.py`` pins the bytes of each.
    """

    def patch(cls: type, schema: dict[str, Any]) -> dict[str, Any]:
        last = schema["validVersions"].split("-")[-1]
        schema["validVersions"] = f"{first_version}-{last}"
        schema.pop("deprecatedVersions", None)
        return schema

    return _message(name, LIBRARY_SCHEMAS, patch)


# Kafka's schemas as they are, where kafka-python's patches turn Kafka's int32 authorized-operations
# bit fields into Python sets: handlers answer Kafka's wire values (see broker/authorized_operations.py).
MetadataResponse = _message("MetadataResponse", LIBRARY_SCHEMAS)
DescribeClusterResponse = _message("DescribeClusterResponse", LIBRARY_SCHEMAS)
DescribeGroupsResponse = _message("DescribeGroupsResponse", LIBRARY_SCHEMAS)

# Versions Kafka 4 removed that kafkalite still serves, for clients that never moved on
# (README "Versions beyond Kafka 4"): API name -> (API key, first version Kafka 3.9 served).
# Built on first use (``<Name>Request`` / ``<Name>Response`` attributes of this module), so
# they cost the broker's startup nothing; the catalogue knows them by key from this table.
WIDENED: dict[str, tuple[int, int]] = {
    "Produce": (0, 0),
    "Fetch": (1, 0),
    "ListOffsets": (2, 0),
    "OffsetCommit": (8, 0),
    "OffsetFetch": (9, 0),
    "CreateTopics": (19, 0),
    "DeleteTopics": (20, 0),
    "OffsetForLeaderEpoch": (23, 0),
    "DescribeConfigs": (32, 0),
    "DescribeLogDirs": (35, 0),
}


def __getattr__(name: str) -> type[ApiMessage]:
    """Build a widened class on first access (PEP 562), then keep it as a module attribute."""
    for suffix in ("Request", "Response"):
        api = name.removesuffix(suffix)
        if api != name and api in WIDENED:
            cls = _widened(name, WIDENED[api][1])
            globals()[name] = cls
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Client telemetry (KIP-714), answered as Kafka does without a receiver plugin (not advertised).
GetTelemetrySubscriptionsRequest = _message("GetTelemetrySubscriptionsRequest")
GetTelemetrySubscriptionsResponse = _message("GetTelemetrySubscriptionsResponse")
PushTelemetryRequest = _message("PushTelemetryRequest")
PushTelemetryResponse = _message("PushTelemetryResponse")

# The next consumer group protocol (KIP-848) and share groups (KIP-932), Kafka 4.4's message
# specifications as they are. Declared for the codec only: no handler serves them yet, so the
# broker neither advertises them in ApiVersions nor answers them (an unknown API, as before).
ConsumerGroupHeartbeatRequest = _message("ConsumerGroupHeartbeatRequest")
ConsumerGroupHeartbeatResponse = _message("ConsumerGroupHeartbeatResponse")
ConsumerGroupDescribeRequest = _message("ConsumerGroupDescribeRequest")
ConsumerGroupDescribeResponse = _message("ConsumerGroupDescribeResponse")
ShareGroupHeartbeatRequest = _message("ShareGroupHeartbeatRequest")
ShareGroupHeartbeatResponse = _message("ShareGroupHeartbeatResponse")
ShareGroupDescribeRequest = _message("ShareGroupDescribeRequest")
ShareGroupDescribeResponse = _message("ShareGroupDescribeResponse")
ShareFetchRequest = _message("ShareFetchRequest")
ShareFetchResponse = _message("ShareFetchResponse")
ShareAcknowledgeRequest = _message("ShareAcknowledgeRequest")
ShareAcknowledgeResponse = _message("ShareAcknowledgeResponse")
DescribeShareGroupOffsetsRequest = _message("DescribeShareGroupOffsetsRequest")
DescribeShareGroupOffsetsResponse = _message("DescribeShareGroupOffsetsResponse")
AlterShareGroupOffsetsRequest = _message("AlterShareGroupOffsetsRequest")
AlterShareGroupOffsetsResponse = _message("AlterShareGroupOffsetsResponse")
DeleteShareGroupOffsetsRequest = _message("DeleteShareGroupOffsetsRequest")
DeleteShareGroupOffsetsResponse = _message("DeleteShareGroupOffsetsResponse")

__all__: list[str] = [
    "AlterShareGroupOffsetsRequest",
    "AlterShareGroupOffsetsResponse",
    "ConsumerGroupDescribeRequest",
    "ConsumerGroupDescribeResponse",
    "ConsumerGroupHeartbeatRequest",
    "ConsumerGroupHeartbeatResponse",
    "DeleteShareGroupOffsetsRequest",
    "DeleteShareGroupOffsetsResponse",
    "DescribeClusterResponse",
    "DescribeGroupsResponse",
    "DescribeShareGroupOffsetsRequest",
    "DescribeShareGroupOffsetsResponse",
    "GetTelemetrySubscriptionsRequest",
    "GetTelemetrySubscriptionsResponse",
    "MetadataResponse",
    "PushTelemetryRequest",
    "PushTelemetryResponse",
    "ShareAcknowledgeRequest",
    "ShareAcknowledgeResponse",
    "ShareFetchRequest",
    "ShareFetchResponse",
    "ShareGroupDescribeRequest",
    "ShareGroupDescribeResponse",
    "ShareGroupHeartbeatRequest",
    "ShareGroupHeartbeatResponse",
]
