"""Transaction markers: the control batches that end a transaction in a partition.

A marker is a v2 batch with the transactional and control attributes set and one record
whose key is (version int16 = 0, type int16: 0 abort, 1 commit) and whose value is (version
int16 = 0, coordinator epoch int32), exactly as Kafka's EndTransactionMarker writes it.
"""

from __future__ import annotations

import struct

import crc32c

from kafkalite.records.batch import ATTRIBUTES_OFFSET, CONTROL_MASK, HEADER, HEADER_SIZE, TRANSACTIONAL_MASK

ABORT, COMMIT = 0, 1
_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")


def _varint(value: int) -> bytes:
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while value & ~0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def build_marker(
    producer_id: int, producer_epoch: int, commit: bool, timestamp: int, coordinator_epoch: int = 0
) -> bytearray:
    """A complete control batch (base offset 0, to be patched on append) with a valid CRC."""
    key = _KEY.pack(0, COMMIT if commit else ABORT)
    value = _VALUE.pack(0, coordinator_epoch)
    body = b"\x00" + _varint(0) + _varint(0) + _varint(len(key)) + key + _varint(len(value)) + value + _varint(0)
    record = _varint(len(body)) + body
    attributes = TRANSACTIONAL_MASK | CONTROL_MASK
    batch = bytearray(HEADER_SIZE + len(record))
    HEADER.pack_into(batch, 0, 0, len(batch) - 12, 0, 2, 0, attributes, 0, timestamp, timestamp, producer_id,
                     producer_epoch, -1, 1)
    batch[HEADER_SIZE:] = record
    struct.pack_into(">I", batch, 17, crc32c.crc32c(memoryview(batch)[ATTRIBUTES_OFFSET:]))
    return batch


def marker_type(batch: bytes | bytearray) -> int:
    """ABORT or COMMIT for a whole control batch as stored (uncompressed, one record)."""
    pos = HEADER_SIZE
    # record: length, attributes, timestamp delta, offset delta, key length, key
    _, pos = _read_varint(batch, pos)  # record length
    pos += 1  # attributes
    _, pos = _read_varint(batch, pos)  # timestamp delta
    _, pos = _read_varint(batch, pos)  # offset delta
    key_len, pos = _read_varint(batch, pos)
    if key_len < 4:
        raise ValueError("control record key too short")
    _version, kind = _KEY.unpack_from(batch, pos)
    return int(kind)


def _read_varint(buf: bytes | bytearray, pos: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7
