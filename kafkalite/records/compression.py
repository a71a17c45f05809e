"""Decompression of record batch payloads (gzip, snappy, lz4, zstd).

Used off the hot path only: finding the exact record for a timestamp lookup, down-converting
for old clients, compaction. Snappy arrives raw (librdkafka) or in the xerial framing the
Java client writes, so both are accepted.
"""

from __future__ import annotations

import gzip
import struct

import cramjam
import lz4.frame
import zstandard

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
_XERIAL_MAGIC = b"\x82SNAPPY\x00"


def decompress(codec: int, data: bytes | memoryview) -> bytes:
    """Inflate ``data`` compressed with the batch attribute's codec number."""
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        return gzip.decompress(data)
    if codec == SNAPPY:
        return _snappy_decompress(bytes(data))
    if codec == LZ4:
        return bytes(lz4.frame.decompress(bytes(data)))
    if codec == ZSTD:
        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(bytes(data)))
    raise ValueError(f"unknown compression codec {codec}")


def compress(codec: int, data: bytes) -> bytes:
    """Deflate ``data`` with the given codec (used when the broker must rewrite a batch)."""
    if codec == NONE:
        return data
    if codec == GZIP:
        return gzip.compress(data)
    if codec == SNAPPY:
        return bytes(cramjam.snappy.compress_raw(data))
    if codec == LZ4:
        return bytes(lz4.frame.compress(data))
    if codec == ZSTD:
        return bytes(zstandard.ZstdCompressor().compress(data))
    raise ValueError(f"unknown compression codec {codec}")


def _snappy_decompress(data: bytes) -> bytes:
    if not data.startswith(_XERIAL_MAGIC):
        return bytes(cramjam.snappy.decompress_raw(data))
    out = bytearray()
    pos = 16  # magic (8) + version (4) + compatible version (4)
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from(">i", data, pos)
        pos += 4
        out += cramjam.snappy.decompress_raw(data[pos : pos + size])
        pos += size
    return bytes(out)
