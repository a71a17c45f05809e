"""Rebuilding record batches: recompression on produce and record removal for compaction.

Off the hot path: used only when a topic's ``compression.type`` names a codec different from
the producer's, and by the log cleaner. A rebuilt batch keeps its base offset, last offset
delta, base timestamp and producer fields, so offsets and idempotence state stay exactly as
they were (record batch v2 allows gaps inside a batch); records are copied as raw bytes,
since their offset and timestamp deltas are relative to fields that do not change.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from kafkalite.records.batch import (
    ATTRIBUTES_OFFSET,
    COMPRESSION_MASK,
    HEADER,
    HEADER_SIZE,
    LOG_OVERHEAD,
    TIMESTAMP_TYPE_MASK,
    BatchHeader,
    read_header,
)
from kafkalite.records.checksum import crc32c
from kafkalite.records.compression import compress, decompress
from kafkalite.records.records import walk_records

_CRC = struct.Struct(">I")
_EPOCH = struct.Struct(">i")

CODEC_BY_NAME = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def target_codec(compression_type: str) -> int | None:
    """The codec a topic's ``compression.type`` forces, or None for ``producer``."""
    return CODEC_BY_NAME.get(compression_type)


class RawRecord(NamedTuple):
    offset_delta: int
    timestamp_delta: int
    key: bytes | None
    is_tombstone: bool
    raw: bytes  # the whole record, length prefix included


def iter_raw_records(batch: bytes | bytearray, header: BatchHeader) -> Iterator[RawRecord]:
    """The records of the batch at ``header.position`` in ``batch``, undecoded beyond the key."""
    start = header.position
    body = decompress(header.compression, memoryview(batch)[start + HEADER_SIZE : start + header.length])
    for begin, end, ts_delta, off_delta, key, value in walk_records(body, header.records_count):
        yield RawRecord(off_delta, ts_delta, key, value is None, bytes(body[begin:end]))


def build_batch(
    original: bytes | bytearray,
    header: BatchHeader,
    records: Iterable[RawRecord],
    codec: int,
) -> bytes:
    """A batch like ``header``'s (in ``original``) holding ``records``, compressed with ``codec``.

    Base offset, leader epoch, last offset delta, base timestamp and producer fields are kept;
    the max timestamp is recomputed from the records unless the batch uses LogAppendTime.
    """
    kept = list(records)
    payload = compress(codec, b"".join(r.raw for r in kept))
    (leader_epoch,) = _EPOCH.unpack_from(original, header.position + 12)
    attributes = (header.attributes & ~COMPRESSION_MASK) | codec
    max_ts = header.max_timestamp
    if not header.attributes & TIMESTAMP_TYPE_MASK and kept:
        max_ts = max(header.base_timestamp + r.timestamp_delta for r in kept)
    out = bytearray(HEADER_SIZE + len(payload))
    HEADER.pack_into(
        out,
        0,
        header.base_offset,
        len(out) - LOG_OVERHEAD,
        leader_epoch,
        2,
        0,
        attributes,
        header.last_offset_delta,
        header.base_timestamp,
        max_ts,
        header.producer_id,
        header.producer_epoch,
        header.base_sequence,
        len(kept),
    )
    out[HEADER_SIZE:] = payload
    _CRC.pack_into(out, 17, crc32c(memoryview(out)[ATTRIBUTES_OFFSET:]))
    return bytes(out)


def recompress_batches(
    data: bytes | bytearray, headers: list[BatchHeader], codec: int
) -> tuple[bytearray, list[BatchHeader]]:
    """Batches of ``data`` with every one not already in ``codec`` recompressed into it.

    Returns the new buffer and its headers (positions within it); control batches stay as they are.
    """
    out = bytearray()
    new_headers: list[BatchHeader] = []
    for header in headers:
        if header.compression == codec or header.is_control:
            chunk: bytes | bytearray = data[header.position : header.position + header.length]
        else:
            chunk = build_batch(data, header, iter_raw_records(data, header), codec)
        new_headers.append(read_header(chunk, 0)._replace(position=len(out)))
        out += chunk
    return out, new_headers


def apply_topic_compression(
    compression_type: str, records: bytes | bytearray, headers: list[BatchHeader]
) -> tuple[bytearray, list[BatchHeader]]:
    """The produced batches as they are stored under a topic's ``compression.type``.

    ``producer`` (or batches already in the topic's codec) keeps the bytes as sent; a specific
    codec recompresses the other batches, as Kafka's broker does.
    """
    codec = target_codec(compression_type)
    if codec is None or all(h.compression == codec or h.is_control for h in headers):
        return bytearray(records), headers
    return recompress_batches(records, headers, codec)
