"""Request header v0-v2 parsing and response header v0/v1 encoding.

Parsed by hand (not through the codec) because every request pays for it and the codec's
header path copies the whole payload. Header v2 (flexible versions) adds tagged fields after
the client id; the client id itself is always a classic int16-length string.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

_FIXED = struct.Struct(">hhih")
_CORRELATION = struct.Struct(">i")


class HeaderError(Exception):
    """The request header is truncated or malformed."""


class RequestHeader(NamedTuple):  # a NamedTuple: built for every request, and cheaply
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    body_offset: int


def peek_api(frame: bytes) -> tuple[int, int, int]:
    """Return (api key, api version, correlation id) without parsing the rest."""
    if len(frame) < 8:
        raise HeaderError(f"request header needs 8 bytes, frame has {len(frame)}")
    return struct.unpack_from(">hhi", frame, 0)


def read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned varint at ``pos``; return (value, next position)."""
    value = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise HeaderError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 28:
            raise HeaderError("varint too long")


def parse_request_header(frame: bytes, flexible: bool) -> RequestHeader:
    """Parse header v1 (or v2 when the request version is flexible)."""
    if len(frame) < _FIXED.size:
        raise HeaderError(f"request header needs {_FIXED.size} bytes, frame has {len(frame)}")
    api_key, api_version, correlation_id, client_len = _FIXED.unpack_from(frame, 0)
    pos = _FIXED.size
    client_id: str | None = None
    if client_len >= 0:  # any negative length is a null client id, as Kafka reads every nullable string
        if pos + client_len > len(frame):
            raise HeaderError("client id runs past the end of the frame")
        try:
            client_id = frame[pos : pos + client_len].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HeaderError("client id is not UTF-8") from exc
        pos += client_len
    if flexible and pos < len(frame) and frame[pos] == 0:
        pos += 1  # no tagged fields: the usual case
    elif flexible:
        count, pos = read_uvarint(frame, pos)
        for _ in range(count):
            _tag, pos = read_uvarint(frame, pos)
            size, pos = read_uvarint(frame, pos)
            pos += size
            if pos > len(frame):
                raise HeaderError("tagged field runs past the end of the frame")
    return RequestHeader(api_key, api_version, correlation_id, client_id, pos)


def response_header(correlation_id: int, flexible: bool) -> bytes:
    """Response header v1 (flexible: correlation id plus an empty tag buffer) or v0."""
    if flexible:
        return _CORRELATION.pack(correlation_id) + b"\x00"
    return _CORRELATION.pack(correlation_id)
