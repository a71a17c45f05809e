import pytest

from kafkalite.records.batch import crc_ok, iter_headers, validate_batches
from kafkalite.records.records import iter_records
from kafkalite.records.rewrite import apply_topic_compression, recompress_batches, target_codec
from tests.helpers import CODECS, compressible_values, make_batch


def records_of(data):
    out = []
    for h in iter_headers(data):
        out.extend(iter_records(bytes(data[h.position : h.position + h.length]), h._replace(position=0)))
    return out


@pytest.mark.parametrize("src", ["none", "gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("dst", ["uncompressed", "gzip", "snappy", "lz4", "zstd"])
def test_recompress_between_codecs(src, dst):
    values = compressible_values(5)
    data = make_batch(values, keys=[b"k%d" % i for i in range(5)], compression=CODECS[src]) + make_batch(
        [b"x"], compression=CODECS[src]
    )
    headers = validate_batches(data)
    out, new_headers = recompress_batches(data, headers, target_codec(dst))
    assert validate_batches(out) == new_headers
    assert all(h.compression == target_codec(dst) and crc_ok(out, h) for h in new_headers)
    assert [(r.offset, r.timestamp, r.key, r.value) for r in records_of(out)] == [
        (r.offset, r.timestamp, r.key, r.value) for r in records_of(data)
    ]
    kept = [(h.last_offset_delta, h.base_timestamp, h.max_timestamp) for h in new_headers]
    assert kept == [(h.last_offset_delta, h.base_timestamp, h.max_timestamp) for h in headers]


def test_producer_compression_keeps_bytes():
    data = make_batch(compressible_values(3), compression=CODECS["gzip"])
    headers = validate_batches(data)
    assert headers[0].compression == CODECS["gzip"]
    out, same = apply_topic_compression("producer", data, headers)
    assert out == data and same == headers
    out, same = apply_topic_compression("gzip", data, headers)
    assert out == data and same == headers
    out, new = apply_topic_compression("zstd", data, headers)
    assert new[0].compression == CODECS["zstd"] and out != data
