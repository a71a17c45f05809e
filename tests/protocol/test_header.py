import io
import struct

import pytest
from kafka.protocol.api_header import RequestHeader as KpRequestHeader
from kafka.protocol.api_header import ResponseHeader as KpResponseHeader

from kafkalite.protocol.header import (
    HeaderError,
    RequestHeader,
    parse_request_header,
    peek_api,
    read_uvarint,
    response_header,
)


def v1(api_key: int, version: int, correlation: int, client_id: bytes | None) -> bytes:
    if client_id is None:
        return struct.pack(">hhih", api_key, version, correlation, -1)
    return struct.pack(">hhih", api_key, version, correlation, len(client_id)) + client_id


def test_v1_header_parsed():
    frame = v1(3, 1, 42, b"my-client") + b"BODY"
    hdr = parse_request_header(frame, flexible=False)
    assert hdr == RequestHeader(3, 1, 42, "my-client", len(frame) - 4)
    assert frame[hdr.body_offset :] == b"BODY"


def test_v1_header_as_kafka_python_encodes_it():
    raw = KpRequestHeader(request_api_key=0, request_api_version=7, correlation_id=-3, client_id="kp").encode()
    hdr = parse_request_header(bytes(raw) + b"xyz", flexible=False)
    assert (hdr.api_key, hdr.api_version, hdr.correlation_id, hdr.client_id) == (0, 7, -3, "kp")
    assert hdr.body_offset == len(raw)


def test_v2_header_as_kafka_python_encodes_it():
    raw = KpRequestHeader(request_api_key=3, request_api_version=12, correlation_id=9, client_id="c").encode(
        flexible=True
    )
    hdr = parse_request_header(bytes(raw) + b"\x01", flexible=True)
    assert (hdr.api_key, hdr.api_version, hdr.correlation_id, hdr.client_id) == (3, 12, 9, "c")
    assert hdr.body_offset == len(raw)


def test_null_client_id():
    hdr = parse_request_header(v1(18, 0, 1, None), flexible=False)
    assert hdr.client_id is None
    assert hdr.body_offset == 10


def test_empty_client_id_is_not_null():
    hdr = parse_request_header(v1(18, 0, 1, b""), flexible=False)
    assert hdr.client_id == ""


def test_utf8_client_id():
    name = "cliënt-✓"
    hdr = parse_request_header(v1(1, 4, 1, name.encode()), flexible=False)
    assert hdr.client_id == name


def test_v2_with_tagged_fields_skips_them():
    # two tagged fields: tag 0 with 3 bytes, tag 300 (two-byte varint) with 0 bytes
    tags = b"\x02" + b"\x00\x03abc" + b"\xac\x02\x00"
    frame = v1(3, 12, 7, b"cid") + tags + b"BODY"
    hdr = parse_request_header(frame, flexible=True)
    assert hdr.client_id == "cid"
    assert hdr.correlation_id == 7
    assert frame[hdr.body_offset :] == b"BODY"


def test_v2_without_tagged_fields():
    frame = v1(3, 12, 7, None) + b"\x00" + b"B"
    hdr = parse_request_header(frame, flexible=True)
    assert hdr.client_id is None
    assert hdr.body_offset == len(frame) - 1


def test_flexible_flag_decides_whether_tag_buffer_is_read():
    frame = v1(3, 12, 7, b"c") + b"\x00rest"
    assert parse_request_header(frame, flexible=False).body_offset == 11
    assert parse_request_header(frame, flexible=True).body_offset == 12


@pytest.mark.parametrize("length", [0, 1, 7, 9])
def test_header_shorter_than_fixed_part(length):
    with pytest.raises(HeaderError):
        parse_request_header(v1(3, 1, 1, b"abc")[:length], flexible=False)


def test_client_id_runs_past_frame():
    frame = struct.pack(">hhih", 3, 1, 1, 10) + b"short"
    with pytest.raises(HeaderError):
        parse_request_header(frame, flexible=False)


def test_any_negative_client_id_length_is_null():
    """Kafka reads a nullable string of any negative length as null (recorded: nulls/header-client-id-*)."""
    header = parse_request_header(struct.pack(">hhih", 3, 1, 1, -2), flexible=False)
    assert header.client_id is None and header.body_offset == 10


def test_client_id_not_utf8():
    with pytest.raises(HeaderError):
        parse_request_header(v1(3, 1, 1, b"\xff\xfe"), flexible=False)


def test_flexible_header_missing_tag_buffer():
    with pytest.raises(HeaderError):
        parse_request_header(v1(3, 12, 1, b"c"), flexible=True)


def test_tagged_field_runs_past_frame():
    frame = v1(3, 12, 1, b"c") + b"\x01\x00\x05ab"
    with pytest.raises(HeaderError):
        parse_request_header(frame, flexible=True)


def test_tagged_field_truncated_inside_its_varints():
    with pytest.raises(HeaderError):
        parse_request_header(v1(3, 12, 1, b"c") + b"\x01\x00", flexible=True)


def test_peek_api():
    assert peek_api(v1(19, 5, 123456, b"x")) == (19, 5, 123456)
    assert peek_api(struct.pack(">hhi", 18, 3, -1)) == (18, 3, -1)
    with pytest.raises(HeaderError):
        peek_api(b"\x00\x12\x00\x03\x00\x00\x00")


def test_read_uvarint():
    assert read_uvarint(b"\x00", 0) == (0, 1)
    assert read_uvarint(b"\x7f", 0) == (127, 1)
    assert read_uvarint(b"x\xac\x02y", 1) == (300, 3)
    assert read_uvarint(b"\xff\xff\xff\xff\x0f", 0) == (2**32 - 1, 5)
    with pytest.raises(HeaderError):
        read_uvarint(b"\x80\x80", 0)
    with pytest.raises(HeaderError):
        read_uvarint(b"\x80\x80\x80\x80\x80\x01", 0)


def test_response_header_v0_and_v1():
    assert response_header(7, flexible=False) == b"\x00\x00\x00\x07"
    assert response_header(7, flexible=True) == b"\x00\x00\x00\x07\x00"
    assert response_header(-2, flexible=False) == struct.pack(">i", -2)


@pytest.mark.parametrize("flexible", [False, True])
def test_response_header_decodes_with_kafka_python(flexible):
    raw = response_header(123, flexible)
    assert raw == bytes(KpResponseHeader(correlation_id=123).encode(flexible=flexible))
    assert KpResponseHeader.decode(io.BytesIO(raw), flexible=flexible).correlation_id == 123
