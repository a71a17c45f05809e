"""Record batches built by kafka-python's own producer-side builder, as real clients send them."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator, Sequence
from unittest import mock

import cramjam
import kafka.codec
import kafka.record.default_records as default_records
from kafka.record.memory_records import MemoryRecordsBuilder

from kafkalite.records.batch import BatchHeader, patch_base_offset, validate_batches

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
CODECS = {"none": NONE, "gzip": GZIP, "snappy": SNAPPY, "lz4": LZ4, "zstd": ZSTD}
BASE_TS = 1_700_000_000_000

# kafka-python's snappy support needs python-snappy; give it the same raw block codec via
# cramjam so its own xerial framing code (what the Java client writes) builds the batch.
_SNAPPY_SHIM = types.SimpleNamespace(
    compress=lambda data: bytes(cramjam.snappy.compress_raw(bytes(data))),
    decompress=lambda data: bytes(cramjam.snappy.decompress_raw(bytes(data))),
)


START_MS = 1_800_000_000_000  # where the storage tests' clock starts


@contextlib.contextmanager
def snappy_codec(xerial: bool = True) -> Iterator[None]:
    """Let kafka-python compress snappy batches: xerial-framed (Java) or raw (librdkafka)."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(kafka.codec, "snappy", _SNAPPY_SHIM))
        if not xerial:
            stack.enter_context(
                mock.patch.object(default_records, "snappy_encode", lambda data: kafka.codec.snappy_encode(data, False))
            )
        yield


def compressible_values(n: int, size: int = 200) -> list[bytes]:
    """Values that every codec shrinks, so kafka-python keeps the batch compressed."""
    return [(f"value-{i:04d}-".encode() * size)[:size] for i in range(n)]


def make_batch(
    values: Sequence[bytes | None],
    *,
    keys: Sequence[bytes | None] | None = None,
    timestamps: Sequence[int] | None = None,
    compression: int = NONE,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
    headers: Sequence[list[tuple[str, bytes]]] | None = None,
    magic: int = 2,
    snappy_xerial: bool = True,
) -> bytearray:
    """One closed batch as kafka-python's producer builds it (base offset 0, epoch 0)."""
    if keys is None:
        keys = [None] * len(values)
    if timestamps is None:
        timestamps = [BASE_TS + i for i in range(len(values))]
    kwargs = {}
    if magic >= 2:
        kwargs = {
            "transactional": transactional,
            "producer_id": producer_id,
            "producer_epoch": producer_epoch,
            "base_sequence": base_sequence,
        }
    builder = MemoryRecordsBuilder(magic=magic, compression_type=compression, batch_size=1 << 30, **kwargs)
    ctx = snappy_codec(snappy_xerial) if compression == SNAPPY else contextlib.nullcontext()
    with ctx:
        for i, (key, value, ts) in enumerate(zip(keys, values, timestamps)):
            rec_headers = list(headers[i]) if headers is not None else None
            assert builder.append(ts, key, value, rec_headers) is not None
        builder.close()
    return bytearray(builder.buffer())


def simple_batch(n: int, *, start_ts: int = BASE_TS, tag: str = "m", **kwargs) -> bytearray:
    """``n`` records with values ``<tag>-<i>`` and timestamps ``start_ts + i``."""
    values = [f"{tag}-{i}".encode() for i in range(n)]
    return make_batch(values, timestamps=[start_ts + i for i in range(n)], **kwargs)


def assign_offsets(data: bytearray, base_offset: int) -> tuple[list[BatchHeader], int]:
    """Validate ``data`` and stamp consecutive offsets as the log does; return headers and next offset."""
    headers = []
    next_offset = base_offset
    for header in validate_batches(data):
        patch_base_offset(data, header, next_offset)
        headers.append(header._replace(base_offset=next_offset))
        next_offset += header.last_offset_delta + 1
    return headers, next_offset
