"""A direct encoder for the usual Produce response: flexible versions, no per-record errors.

Why it exists: with many producers over many partitions, librdkafka sends one small Produce
request per partition batch, and building and encoding each response through the schema
codec (a struct object per topic and partition, then the generated encoder's tagged-field
handling) was about a quarter of the broker's CPU. This writes the same bytes with one
``struct.pack`` per partition. It covers what successful and plainly failed produces answer
(v9-v13, no ``record_errors``, no ``error_message``, no ``current_leader``, no
``node_endpoints``); anything else returns None and goes through the schema codec.
``tests/protocol/test_produce_response.py`` checks it byte for byte against that codec.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

from kafkalite.records.records import encode_uvarint

FIRST_FLEXIBLE = 9
TOPIC_ID_VERSION = 13
LAST_VERSION = 13

_PARTITION = struct.Struct(">ihqqq")  # index, error code, base offset, log append time, log start offset
_THROTTLE = struct.Struct(">i")
# After each partition: empty record_errors (compact length 0 + 1), null error_message (0) and no
# tagged fields (0).
_PARTITION_TAIL = b"\x01\x00\x00"
_NO_TAGS = b"\x00"
_ZERO_UUID = bytes(16)


def encode_produce_response(version: int, body: dict[str, Any]) -> bytes | None:
    """The body of a Produce response, or None when it needs the schema codec."""
    if not FIRST_FLEXIBLE <= version <= LAST_VERSION or body.get("node_endpoints"):
        return None
    responses = body["responses"]
    parts = [encode_uvarint(len(responses) + 1)]
    pack = _PARTITION.pack
    for topic in responses:
        if version >= TOPIC_ID_VERSION:
            topic_id = topic["topic_id"]
            # None is the zero UUID, as the codec reads and writes it (a request for an unknown id)
            parts.append(_ZERO_UUID if topic_id is None else topic_id.bytes if isinstance(topic_id, uuid.UUID)
                         else bytes(topic_id))
        else:
            name = topic["name"].encode()
            parts.append(encode_uvarint(len(name) + 1))
            parts.append(name)
        partitions = topic["partition_responses"]
        parts.append(encode_uvarint(len(partitions) + 1))
        for p in partitions:
            if p.get("record_errors") or p.get("error_message") is not None or p.get("current_leader"):
                return None
            parts += (
                pack(
                    p["index"],
                    p["error_code"],
                    p["base_offset"],
                    p.get("log_append_time_ms", -1),
                    p.get("log_start_offset", -1),
                ),
                _PARTITION_TAIL,
            )
        parts.append(_NO_TAGS)
    parts.append(_THROTTLE.pack(body.get("throttle_time_ms", 0)))
    parts.append(_NO_TAGS)
    return b"".join(parts)
