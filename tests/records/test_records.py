import pytest
from kafka.record.default_records import DefaultRecordBatch

from kafkalite.records import compression
from kafkalite.records.batch import patch_base_offset, set_log_append_time, validate_batches
from kafkalite.records.records import RecordInfo, iter_records
from tests.helpers import BASE_TS, CODECS, SNAPPY, compressible_values, make_batch, snappy_codec

KEYS = [b"key-0", None, b"", b"key-3", None, b"key-5"]
TIMESTAMPS = [BASE_TS, BASE_TS + 5, BASE_TS - 20, BASE_TS + 1000, BASE_TS + 1000, BASE_TS + 1]


def build(codec: int, *, snappy_xerial: bool = True, values=None) -> bytearray:
    values = compressible_values(len(KEYS)) if values is None else values
    return make_batch(values, keys=KEYS, timestamps=TIMESTAMPS, compression=codec, snappy_xerial=snappy_xerial)


CASES = [*((name, CODECS[name], True) for name in CODECS), ("snappy-raw", SNAPPY, False)]


@pytest.mark.parametrize(("name", "codec", "xerial"), CASES, ids=[c[0] for c in CASES])
def test_iter_records_every_codec(name, codec, xerial):
    buf = build(codec, snappy_xerial=xerial)
    (header,) = validate_batches(buf)
    assert header.compression == codec
    patch_base_offset(buf, header, 500)
    header = header._replace(base_offset=500)
    records = list(iter_records(bytes(buf), header))
    values = compressible_values(len(KEYS))
    assert records == [RecordInfo(500 + i, TIMESTAMPS[i], KEYS[i], values[i]) for i in range(len(KEYS))]


@pytest.mark.parametrize("name", list(CODECS))
def test_iter_records_matches_kafka_python_reader(name):
    buf = build(CODECS[name])
    (header,) = validate_batches(buf)
    ours = [(r.offset, r.timestamp, r.key, r.value) for r in iter_records(bytes(buf), header)]
    with snappy_codec():  # lets kafka-python read snappy without python-snappy
        theirs = [(r.offset, r.timestamp, r.key, r.value) for r in DefaultRecordBatch(bytes(buf))]
    assert ours == theirs


def test_null_and_empty_values():
    buf = make_batch([None, b"", b"v"], keys=[b"k", None, None])
    (header,) = validate_batches(buf)
    records = list(iter_records(bytes(buf), header))
    assert [(r.key, r.value) for r in records] == [(b"k", None), (None, b""), (None, b"v")]


def test_records_with_headers_are_skipped_correctly():
    headers = [[("h1", b"x" * 300)], [], [("a", None), ("b", b"bb")]]
    buf = make_batch([b"one", b"two", b"three"], keys=[b"k1", b"k2", None], headers=headers)
    (header,) = validate_batches(buf)
    records = list(iter_records(bytes(buf), header))
    assert [(r.offset, r.key, r.value) for r in records] == [
        (0, b"k1", b"one"),
        (1, b"k2", b"two"),
        (2, None, b"three"),
    ]


def test_large_values_with_multibyte_varints():
    values = [b"x" * 70_000, b"y" * 130, b"z"]
    buf = make_batch(values, compression=CODECS["gzip"])
    (header,) = validate_batches(buf)
    assert [r.value for r in iter_records(bytes(buf), header)] == values


def test_log_append_time_overrides_record_timestamps():
    buf = build(CODECS["zstd"])
    (header,) = validate_batches(buf)
    set_log_append_time(buf, header, 99_999)
    (header,) = validate_batches(buf)
    assert {r.timestamp for r in iter_records(bytes(buf), header)} == {99_999}


def test_iter_records_on_batch_inside_larger_buffer_slice():
    first = make_batch([b"a"])
    second = build(CODECS["lz4"])
    buf = first + second
    _, header = validate_batches(buf)
    own = bytes(buf[header.position : header.position + header.length])
    records = list(iter_records(own, header._replace(position=0)))
    assert [r.key for r in records] == KEYS


@pytest.mark.parametrize("codec", [0, 1, 2, 3, 4])
def test_compress_decompress_round_trip(codec):
    data = b"kafkalite " * 500
    packed = compression.compress(codec, data)
    assert compression.decompress(codec, packed) == data
    if codec:
        assert len(packed) < len(data)


def test_unknown_codec_is_rejected():
    with pytest.raises(ValueError):
        compression.decompress(5, b"")
    with pytest.raises(ValueError):
        compression.compress(7, b"")
