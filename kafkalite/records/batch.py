"""Views over record batch v2 headers inside a buffer of concatenated batches.

Layout (big-endian): baseOffset int64, batchLength int32, partitionLeaderEpoch int32,
magic int8, crc uint32, attributes int16, lastOffsetDelta int32, baseTimestamp int64,
maxTimestamp int64, producerId int64, producerEpoch int16, baseSequence int32,
recordsCount int32 -- 61 bytes, then the (possibly compressed) records. The CRC-32C covers
attributes to the end, so the broker can patch baseOffset and partitionLeaderEpoch without
recomputing it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from kafkalite.records.checksum import crc32c

HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_SIZE = HEADER.size  # 61
LOG_OVERHEAD = 12  # baseOffset + batchLength: bytes not counted in batchLength
MAGIC_OFFSET = 16
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
MAX_TIMESTAMP_OFFSET = 35
_OFFSET_LENGTH = struct.Struct(">qi")
_ATTRS = struct.Struct(">h")
_INT64 = struct.Struct(">q")
_UINT32 = struct.Struct(">I")
_INT32 = struct.Struct(">i")

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20
NO_TIMESTAMP = -1


class InvalidBatch(Exception):
    """A batch fails validation. ``corrupt`` distinguishes CRC/size damage from bad content."""

    def __init__(self, message: str, corrupt: bool = True, checksum: bool = False) -> None:
        super().__init__(message)
        self.corrupt = corrupt
        self.checksum = checksum  # the CRC does not match (Kafka reports this without a message)


class BatchHeader(NamedTuple):
    position: int
    base_offset: int
    length: int  # whole batch size in bytes, header included
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)


def read_header(buf: bytes | bytearray | memoryview, pos: int) -> BatchHeader:
    """Unpack the header at ``pos``; the caller guarantees 61 bytes are there."""
    (base, blen, _epoch, magic, crc, attrs, lod, bts, mts, pid, pep, bseq, count) = HEADER.unpack_from(buf, pos)
    return BatchHeader(pos, base, blen + LOG_OVERHEAD, magic, crc, attrs, lod, bts, mts, pid, pep, bseq, count)


def at_offset(header: BatchHeader, base_offset: int) -> BatchHeader:
    """``header`` with the broker-assigned base offset (``_replace`` costs twice as much)."""
    return BatchHeader._make((header[0], base_offset, *header[2:]))


def batch_extent(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int] | None:
    """(base offset, whole size) of the batch at ``pos`` if its size field is readable."""
    if len(buf) - pos < LOG_OVERHEAD:
        return None
    base, blen = _OFFSET_LENGTH.unpack_from(buf, pos)
    return base, blen + LOG_OVERHEAD


def iter_headers(buf: bytes | bytearray | memoryview, start: int = 0) -> Iterator[BatchHeader]:
    """Headers of the complete v2 batches from ``start``; stops at a partial or foreign tail."""
    pos = start
    end = len(buf)
    while end - pos >= HEADER_SIZE:
        header = read_header(buf, pos)
        if header.length < HEADER_SIZE or pos + header.length > end:
            return
        yield header
        pos += header.length


def crc_ok(buf: bytes | bytearray | memoryview, header: BatchHeader) -> bool:
    """Whether the stored CRC-32C matches the bytes it covers."""
    view = memoryview(buf)[header.position + ATTRIBUTES_OFFSET : header.position + header.length]
    return crc32c(view) == header.crc


def validate_batches(buf: bytes | bytearray | memoryview) -> list[BatchHeader]:
    """Check a produce request's records: whole v2 batches with good CRCs and sane counts.

    Returns the batch headers; raises InvalidBatch (corrupt=True maps to CORRUPT_MESSAGE,
    False to INVALID_RECORD) on the first problem, so a bad request changes nothing.
    """
    headers: list[BatchHeader] = []
    pos = 0
    end = len(buf)
    if end == 0:
        raise InvalidBatch("no record batches in the request", corrupt=False)
    while pos < end:
        if end - pos < LOG_OVERHEAD + 5:
            raise InvalidBatch(f"{end - pos} trailing bytes do not form a batch")
        magic = buf[pos + MAGIC_OFFSET]
        if magic != 2:
            raise InvalidBatch(f"record batch magic {magic} is not supported here", corrupt=False)
        if end - pos < HEADER_SIZE:
            raise InvalidBatch("truncated record batch header")
        header = read_header(buf, pos)
        if header.length < HEADER_SIZE or pos + header.length > end:
            raise InvalidBatch(f"record batch length {header.length} does not fit the request")
        if not crc_ok(buf, header):
            raise InvalidBatch("record batch CRC-32C mismatch", checksum=True)
        if header.records_count <= 0 or header.last_offset_delta != header.records_count - 1:
            raise InvalidBatch(
                f"record count {header.records_count} disagrees with last offset delta {header.last_offset_delta}",
                corrupt=False,
            )
        headers.append(header)
        pos += header.length
    return headers


def patch_base_offset(buf: bytearray, header: BatchHeader, base_offset: int, leader_epoch: int = 0) -> None:
    """Stamp the broker-assigned offset and leader epoch; both lie outside the CRC."""
    _INT64.pack_into(buf, header.position, base_offset)
    _INT32.pack_into(buf, header.position + 12, leader_epoch)


def read_leader_epoch(buf: bytes | bytearray | memoryview, pos: int) -> int:
    """The partitionLeaderEpoch of the batch at ``pos`` (the leader that wrote it)."""
    return int(_INT32.unpack_from(buf, pos + 12)[0])


def set_log_append_time(buf: bytearray, header: BatchHeader, now_ms: int) -> None:
    """Mark the batch LogAppendTime with ``now_ms`` as max timestamp and re-seal its CRC."""
    pos = header.position
    _ATTRS.pack_into(buf, pos + ATTRIBUTES_OFFSET, header.attributes | TIMESTAMP_TYPE_MASK)
    _INT64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, now_ms)
    crc = crc32c(memoryview(buf)[pos + ATTRIBUTES_OFFSET : pos + header.length])
    _UINT32.pack_into(buf, pos + CRC_OFFSET, crc)
