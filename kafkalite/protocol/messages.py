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

from kafka.protocol.api_header import ResponseClassRegistry
from kafka.protocol.api_message import ApiMessage

SCHEMAS = "kafkalite.protocol.schemas"
# The JSON files kafka-python bundles: Kafka's own, before the library's ``json_patch`` edits.
LIBRARY_SCHEMAS = "kafka.protocol.schemas.resources"


def _message(name: str, package: str = SCHEMAS) -> type[ApiMessage]:
    """A message class read from ``<package>/<name>.json``, invisible to kafka-python's clients."""
    registry = ResponseClassRegistry._response_class_registry
    before = dict(registry)
    cls = types.new_class(name, (ApiMessage,), {"load_json": package}, lambda ns: ns.update(__module__=__name__))
    registry.clear()
    registry.update(before)
    return cls


# Kafka's schemas as they are, where kafka-python's patches turn Kafka's int32 authorized-operations
# bit fields into Python sets: handlers answer Kafka's wire values (see broker/authorized_operations.py).
MetadataResponse = _message("MetadataResponse", LIBRARY_SCHEMAS)
DescribeClusterResponse = _message("DescribeClusterResponse", LIBRARY_SCHEMAS)

__all__: list[str] = ["DescribeClusterResponse", "MetadataResponse"]
