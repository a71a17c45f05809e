"""Builds record batches (magic v2) from records, for the rare paths that must write new ones.

Up-converting old clients' message sets and rewriting batches (recompression) need it; the
produce path stores client batches as received and never comes here.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from kafkalite.records.batch import ATTRIBUTES_OFFSET, HEADER, HEADER_SIZE, TIMESTAMP_TYPE_MASK
from kafkalite.records.checksum import crc32c
from kafkalite.records.compression import NONE, compress
from kafkalite.records.records import encode_uvarint


class NewRecord(NamedTuple):
    offset_delta: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]] = ()


def zigzag(value: int) -> bytes:
    """Kafka's signed varint (zig-zag encoded)."""
    return encode_uvarint((value << 1) ^ (value >> 63))


def _field(data: bytes | None) -> bytes:
    return zigzag(-1) if data is None else zigzag(len(data)) + data


def encode_record(record: NewRecord, base_timestamp: int) -> bytes:
    body = bytearray(b"\x00")
    body += zigzag(record.timestamp - base_timestamp)
    body += zigzag(record.offset_delta)
    body += _field(record.key)
    body += _field(record.value)
    body += zigzag(len(record.headers))
    for name, value in record.headers:
        body += _field(name.encode())
        body += _field(value)
    return zigzag(len(body)) + bytes(body)


def build_batch(
    records: Sequence[NewRecord],
    compression: int = NONE,
    base_offset: int = 0,
    log_append_time: bool = False,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    attributes_extra: int = 0,
) -> bytearray:
    """A complete v2 batch with a valid CRC-32C; offsets are relative to ``base_offset``."""
    if not records:
        raise ValueError("a record batch needs at least one record")
    timestamps = [r.timestamp for r in records]
    base_ts = min(timestamps)
    max_ts = max(timestamps)
    payload = b"".join(encode_record(r, base_ts) for r in records)
    payload = compress(compression, payload)
    attributes = compression | attributes_extra | (TIMESTAMP_TYPE_MASK if log_append_time else 0)
    batch = bytearray(HEADER_SIZE + len(payload))
    last_delta = max(r.offset_delta for r in records)
    HEADER.pack_into(
        batch, 0, base_offset, len(batch) - 12, 0, 2, 0, attributes, last_delta, base_ts, max_ts, producer_id,
        producer_epoch, base_sequence, len(records),
    )
    batch[HEADER_SIZE:] = payload
    struct.pack_into(">I", batch, 17, crc32c(memoryview(batch)[ATTRIBUTES_OFFSET:]))
    return batch
