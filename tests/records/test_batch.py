import struct

import crc32c
import pytest
from kafka.record.default_records import DefaultRecordBatch

from kafkalite.records.batch import (
    ATTRIBUTES_OFFSET,
    CRC_OFFSET,
    HEADER_SIZE,
    LOG_OVERHEAD,
    TIMESTAMP_TYPE_MASK,
    InvalidBatch,
    batch_extent,
    crc_ok,
    iter_headers,
    patch_base_offset,
    read_header,
    set_log_append_time,
    validate_batches,
)
from tests.helpers import BASE_TS, CODECS, NONE, compressible_values, make_batch, simple_batch


def reseal(buf: bytearray, pos: int = 0) -> None:
    """Recompute the CRC of the batch at ``pos`` after editing covered fields."""
    (blen,) = struct.unpack_from(">i", buf, pos + 8)
    end = pos + blen + LOG_OVERHEAD
    struct.pack_into(">I", buf, pos + CRC_OFFSET, crc32c.crc32c(bytes(buf[pos + ATTRIBUTES_OFFSET : end])))


def test_validate_single_batch_reports_its_header():
    buf = make_batch([b"a", b"b", b"c"], keys=[b"k", None, b"k2"], timestamps=[BASE_TS, BASE_TS + 7, BASE_TS + 3])
    (h,) = validate_batches(buf)
    assert h.position == 0
    assert h.length == len(buf)
    assert h.magic == 2
    assert h.records_count == 3
    assert h.last_offset_delta == 2
    assert h.base_offset == 0
    assert h.last_offset == 2
    assert h.base_timestamp == BASE_TS
    assert h.max_timestamp == BASE_TS + 7
    assert h.producer_id == -1
    assert h.compression == NONE
    assert not h.is_transactional
    assert not h.is_control
    assert crc_ok(buf, h)


def test_validate_several_concatenated_batches():
    parts = [simple_batch(1), simple_batch(4, tag="x"), make_batch(compressible_values(6), compression=CODECS["zstd"])]
    buf = bytearray(b"".join(parts))
    headers = validate_batches(buf)
    assert [h.position for h in headers] == [0, len(parts[0]), len(parts[0]) + len(parts[1])]
    assert [h.length for h in headers] == [len(p) for p in parts]
    assert [h.records_count for h in headers] == [1, 4, 6]
    assert headers[2].compression == CODECS["zstd"]


@pytest.mark.parametrize("name", list(CODECS))
def test_validate_compressed_batches(name):
    buf = make_batch(compressible_values(10), compression=CODECS[name])
    (h,) = validate_batches(buf)
    assert h.compression == CODECS[name]
    assert h.records_count == 10
    assert len(buf) < 10 * 200 or name == "none"


def test_validate_accepts_bytes_and_memoryview():
    buf = simple_batch(2)
    assert validate_batches(bytes(buf))[0].records_count == 2
    assert validate_batches(memoryview(bytes(buf)))[0].records_count == 2


def test_idempotent_and_transactional_fields():
    buf = make_batch([b"v"] * 3, producer_id=4242, producer_epoch=3, base_sequence=17, transactional=True)
    (h,) = validate_batches(buf)
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (4242, 3, 17)
    assert h.is_transactional


def test_empty_records_is_invalid_but_not_corrupt():
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(b"")
    assert exc.value.corrupt is False


def test_crc_mismatch_is_corrupt():
    buf = simple_batch(3)
    buf[-1] ^= 0xFF
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf)
    assert exc.value.corrupt is True


def test_crc_mismatch_in_header_field_is_corrupt():
    buf = simple_batch(3)
    struct.pack_into(">q", buf, 27, BASE_TS + 99)  # baseTimestamp is covered by the CRC
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf)
    assert exc.value.corrupt is True


def test_crc_mismatch_in_second_batch():
    second = simple_batch(2)
    second[HEADER_SIZE + 3] ^= 0x01
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(simple_batch(2) + second)
    assert exc.value.corrupt is True


def test_magic_1_is_invalid_not_corrupt():
    buf = make_batch([b"old", b"format"], magic=1)
    assert buf[16] == 1
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf)
    assert exc.value.corrupt is False


def test_magic_0_is_invalid_not_corrupt():
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(make_batch([b"v0"], magic=0))
    assert exc.value.corrupt is False


@pytest.mark.parametrize("keep", [1, 16, LOG_OVERHEAD + 5, HEADER_SIZE - 1, HEADER_SIZE, -1])
def test_truncated_batch_is_corrupt(keep):
    buf = simple_batch(3)
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf[:keep])
    assert exc.value.corrupt is True


def test_trailing_bytes_after_good_batch_are_corrupt():
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(simple_batch(2) + b"\x00\x01\x02")
    assert exc.value.corrupt is True


def test_length_field_too_small_is_corrupt():
    buf = simple_batch(2)
    struct.pack_into(">i", buf, 8, 10)
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf)
    assert exc.value.corrupt is True


def test_length_field_too_large_is_corrupt():
    buf = simple_batch(2)
    struct.pack_into(">i", buf, 8, len(buf))
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf)
    assert exc.value.corrupt is True


def test_records_count_disagreeing_with_last_offset_delta():
    buf = simple_batch(3)
    struct.pack_into(">i", buf, 57, 5)  # recordsCount
    reseal(buf)
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf)
    assert exc.value.corrupt is False


def test_last_offset_delta_disagreeing_with_records_count():
    buf = simple_batch(3)
    struct.pack_into(">i", buf, 23, 7)  # lastOffsetDelta
    reseal(buf)
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf)
    assert exc.value.corrupt is False


def test_zero_records_count_is_invalid():
    buf = simple_batch(1)
    struct.pack_into(">i", buf, 23, -1)
    struct.pack_into(">i", buf, 57, 0)
    reseal(buf)
    with pytest.raises(InvalidBatch) as exc:
        validate_batches(buf)
    assert exc.value.corrupt is False


def test_patch_base_offset_keeps_crc_valid():
    buf = simple_batch(2) + simple_batch(3)
    _, second = validate_batches(buf)
    patch_base_offset(buf, second, 1_000_000, leader_epoch=7)
    h = read_header(buf, second.position)
    assert h.base_offset == 1_000_000
    assert h.last_offset == 1_000_002
    assert h.crc == second.crc
    assert crc_ok(buf, h)
    assert struct.unpack_from(">i", buf, second.position + 12) == (7,)
    assert read_header(buf, 0).base_offset == 0  # the other batch is untouched
    validate_batches(buf)
    kp = DefaultRecordBatch(bytes(buf[second.position :]))
    assert kp.validate_crc()
    assert [r.offset for r in kp] == [1_000_000, 1_000_001, 1_000_002]


def test_set_log_append_time_reseals_crc_and_sets_attribute():
    buf = make_batch(compressible_values(4), compression=CODECS["lz4"])
    (h,) = validate_batches(buf)
    now = BASE_TS + 123_456
    set_log_append_time(buf, h, now)
    new = read_header(buf, 0)
    assert new.attributes & TIMESTAMP_TYPE_MASK
    assert new.compression == CODECS["lz4"]
    assert new.max_timestamp == now
    assert new.base_timestamp == h.base_timestamp
    assert new.crc != h.crc
    assert crc_ok(buf, new)
    assert validate_batches(buf)[0].max_timestamp == now
    kp = DefaultRecordBatch(bytes(buf))
    assert kp.validate_crc()
    assert kp.timestamp_type == 1
    assert [r.timestamp for r in kp] == [now] * 4


def test_set_log_append_time_on_second_batch_only():
    buf = simple_batch(1) + simple_batch(2)
    first, second = validate_batches(buf)
    set_log_append_time(buf, second, 5)
    a, b = validate_batches(buf)
    assert not a.attributes & TIMESTAMP_TYPE_MASK
    assert a.max_timestamp == first.max_timestamp
    assert b.attributes & TIMESTAMP_TYPE_MASK
    assert b.max_timestamp == 5


def test_iter_headers_stops_at_partial_tail():
    buf = simple_batch(1) + simple_batch(2)
    whole = len(buf)
    buf += simple_batch(3)[:40]
    headers = list(iter_headers(buf))
    assert [h.records_count for h in headers] == [1, 2]
    assert headers[-1].position + headers[-1].length == whole
    assert list(iter_headers(buf, headers[1].position)) == [headers[1]]


def test_batch_extent():
    buf = simple_batch(2)
    assert batch_extent(buf, 0) == (0, len(buf))
    assert batch_extent(buf[:11], 0) is None
    assert batch_extent(buf + b"\x00" * 5, len(buf)) is None
