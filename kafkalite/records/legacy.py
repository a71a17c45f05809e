"""Message format v0/v1 (Kafka before 0.11), for old clients only.

Produce v0-v2 carry message sets: each message is (offset int64, size int32, crc uint32, magic
int8, attributes int8, [timestamp int64 if magic 1], key bytes, value bytes), and a compressed
message wraps a whole inner message set in its value. They are up-converted to one v2 batch on
produce; Fetch v0-v3 get v2 batches down-converted to such message sets (uncompressed), as
Kafka does for clients that cannot read v2.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

from kafkalite.records.batch import InvalidBatch, iter_headers
from kafkalite.records.builder import NewRecord, build_batch
from kafkalite.records.compression import NONE, decompress
from kafkalite.records.records import iter_records

_PREFIX = struct.Struct(">qiIbb")  # offset, size, crc, magic, attributes
NO_TIMESTAMP = -1


class LegacyRecord(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def _bytes_field(data: bytes, pos: int) -> tuple[bytes | None, int]:
    (size,) = struct.unpack_from(">i", data, pos)
    pos += 4
    if size < 0:
        return None, pos
    if pos + size > len(data):
        raise InvalidBatch("message field runs past its message")
    return data[pos : pos + size], pos + size


def parse_message_set(data: bytes) -> tuple[list[LegacyRecord], int]:
    """Records of a v0/v1 message set (wrappers expanded) and the compression codec used."""
    records: list[LegacyRecord] = []
    codec = NONE
    pos = 0
    while pos + _PREFIX.size <= len(data):
        offset, size, crc, magic, attributes = _PREFIX.unpack_from(data, pos)
        end = pos + 12 + size
        if size < 6 or end > len(data):
            raise InvalidBatch("truncated message in a message set")
        if magic not in (0, 1):
            raise InvalidBatch(f"message magic {magic} in a v0/v1 message set", corrupt=False)
        if zlib.crc32(data[pos + 16 : end]) != crc:
            raise InvalidBatch("message CRC-32 mismatch")
        body = pos + 18
        timestamp = NO_TIMESTAMP
        if magic == 1:
            (timestamp,) = struct.unpack_from(">q", data, body)
            body += 8
        key, body = _bytes_field(data, body)
        value, body = _bytes_field(data, body)
        inner_codec = attributes & 0x07
        if inner_codec:
            codec = inner_codec
            inner, _ = parse_message_set(decompress(inner_codec, value or b""))
            records.extend(r if r.timestamp != NO_TIMESTAMP else r._replace(timestamp=timestamp) for r in inner)
        else:
            records.append(LegacyRecord(offset, timestamp, key, value))
        pos = end
    if pos != len(data):
        raise InvalidBatch("trailing bytes after the last message")
    return records, codec


def up_convert(data: bytes) -> bytearray:
    """One v2 batch holding the message set's records, in order, with the same codec.

    v0 messages have no timestamp and keep none (-1), as Kafka's up-conversion does.
    """
    records, codec = parse_message_set(data)
    if not records:
        raise InvalidBatch("empty message set", corrupt=False)
    return build_batch([NewRecord(i, r.timestamp, r.key, r.value) for i, r in enumerate(records)], compression=codec)


def encode_message(offset: int, magic: int, timestamp: int, key: bytes | None, value: bytes | None) -> bytes:
    body = struct.pack(">bb", magic, 0)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    for field in (key, value):
        body += struct.pack(">i", -1) if field is None else struct.pack(">i", len(field)) + field
    crc = zlib.crc32(body)
    return struct.pack(">qiI", offset, len(body) + 4, crc) + body


def down_convert(data: bytes | memoryview, magic: int) -> bytes:
    """v2 batches as an uncompressed v0/v1 message set; control batches are dropped."""
    out = bytearray()
    for header in iter_headers(data):
        if header.is_control:
            continue
        batch = bytes(data[header.position : header.position + header.length])
        for record in iter_records(batch, header._replace(position=0)):
            out += encode_message(record.offset, magic, record.timestamp, record.key, record.value)
    return bytes(out)
