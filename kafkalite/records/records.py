"""Record-level decoding of one v2 batch, for the rare paths that need it.

The produce and fetch paths never call this; timestamp lookups (ListOffsets) do, to find
the first record at or after a timestamp exactly as Kafka does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from kafkalite.records.batch import HEADER_SIZE, BatchHeader
from kafkalite.records.compression import decompress


class RecordInfo(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


_ONE_BYTE = [bytes((i,)) for i in range(0x80)]


def encode_uvarint(value: int) -> bytes:
    """Kafka's unsigned varint (record fields after zig-zag, compact lengths in the protocol)."""
    if value < 0x80:
        return _ONE_BYTE[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(buf: bytes | bytearray, pos: int) -> tuple[int, int]:
    """Decode Kafka's zig-zag varint at ``pos``; return (value, next position)."""
    value = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def walk_records(
    body: bytes | bytearray, count: int
) -> Iterator[tuple[int, int, int, int, bytes | None, bytes | None]]:
    """(start, end, timestamp delta, offset delta, key, value) of each record in a decompressed body."""
    pos = 0
    for _ in range(count):
        begin = pos
        length, pos = read_varint(body, pos)
        end = pos + length
        pos += 1  # attributes
        ts_delta, pos = read_varint(body, pos)
        off_delta, pos = read_varint(body, pos)
        klen, pos = read_varint(body, pos)
        key = None if klen < 0 else bytes(body[pos : pos + klen])
        pos += max(klen, 0)
        vlen, pos = read_varint(body, pos)
        value = None if vlen < 0 else bytes(body[pos : pos + vlen])
        yield begin, end, ts_delta, off_delta, key, value
        pos = end


def iter_records(batch: bytes, header: BatchHeader) -> Iterator[RecordInfo]:
    """Decode offsets, timestamps, keys and values of the batch that ``batch`` holds whole."""
    body = decompress(header.compression, memoryview(batch)[HEADER_SIZE : header.length])
    log_append = header.attributes & 0x08
    for _, _, ts_delta, off_delta, key, value in walk_records(body, header.records_count):
        timestamp = header.max_timestamp if log_append else header.base_timestamp + ts_delta
        yield RecordInfo(header.base_offset + off_delta, timestamp, key, value)
