"""Transaction markers: the control batches that end a transaction in a partition.

A marker is a v2 batch with the transactional and control attributes set and one record
whose key is (version int16 = 0, type int16: 0 abort, 1 commit) and whose value is (version
int16 = 0, coordinator epoch int32), exactly as Kafka's EndTransactionMarker writes it.
"""

from __future__ import annotations

import struct

from kafkalite.records.batch import CONTROL_MASK, HEADER_SIZE, TRANSACTIONAL_MASK
from kafkalite.records.builder import NewRecord, build_batch
from kafkalite.records.records import read_varint

ABORT, COMMIT = 0, 1
_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")


def build_marker(
    producer_id: int, producer_epoch: int, commit: bool, timestamp: int, coordinator_epoch: int = 0
) -> bytearray:
    """A complete control batch (base offset 0, to be patched on append) with a valid CRC."""
    record = NewRecord(0, timestamp, _KEY.pack(0, COMMIT if commit else ABORT), _VALUE.pack(0, coordinator_epoch))
    return build_batch(
        [record],
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        attributes_extra=TRANSACTIONAL_MASK | CONTROL_MASK,
    )


def read_marker(batch: bytes | bytearray) -> tuple[int, int]:
    """(ABORT or COMMIT, coordinator epoch) of a whole control batch as stored (uncompressed, one record)."""
    # record: length, attributes (1 byte), timestamp delta, offset delta, key length, key,
    # value length, value
    _, pos = read_varint(batch, HEADER_SIZE)
    _, pos = read_varint(batch, pos + 1)
    _, pos = read_varint(batch, pos)
    key_len, pos = read_varint(batch, pos)
    if key_len < _KEY.size:
        raise ValueError("control record key too short")
    kind = int(_KEY.unpack_from(batch, pos)[1])
    value_len, pos = read_varint(batch, pos + key_len)
    epoch = int(_VALUE.unpack_from(batch, pos)[1]) if value_len >= _VALUE.size else -1
    return kind, epoch
