"""Length-prefixed framing of the Kafka wire protocol.

Owns only the reassembly buffer of one connection; it never touches sockets. Every frame is
a signed 32-bit big-endian size followed by that many bytes. A negative size or one above the
limit (Kafka's ``socket.request.max.bytes``) is a protocol violation: the caller must close
the connection, because the stream can no longer be resynchronised.
"""

from __future__ import annotations

import struct

DEFAULT_MAX_FRAME_SIZE = 100 * 1024 * 1024
_SIZE = struct.Struct(">i")


class FrameError(Exception):
    """The byte stream cannot be framed (negative or oversized length)."""


class FrameDecoder:
    """Splits a byte stream into frames, like h11's ``receive_data``/``next_event`` pair."""

    __slots__ = ("_buf", "_max")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._buf = bytearray()
        self._max = max_frame_size

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes and return every frame they complete (payload without the size)."""
        buf = self._buf
        if buf:
            buf += data
            source: bytes | bytearray = buf
        else:
            source = data  # the common case: frames cut straight from what was received
        view = memoryview(source)
        frames: list[bytes] = []
        pos = 0
        end = len(source)
        while end - pos >= 4:
            (size,) = _SIZE.unpack_from(source, pos)
            if size < 0 or size > self._max:
                raise FrameError(f"frame size {size} outside 0..{self._max}")
            if end - pos - 4 < size:
                break
            frames.append(bytes(view[pos + 4 : pos + 4 + size]))
            pos += 4 + size
        view.release()
        if source is buf:
            del buf[:pos]
        elif pos < end:
            buf += data[pos:]
        return frames

    @property
    def max_frame_size(self) -> int:
        return self._max

    @max_frame_size.setter
    def max_frame_size(self, value: int) -> None:
        """A new limit for the frames still to come (a SASL connection's is small until it authenticates)."""
        self._max = value

    @property
    def buffered(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buf)

    @property
    def pending_frame_size(self) -> int:
        """Declared size of the frame being received (its size prefix is here), else 0."""
        buf = self._buf
        return _SIZE.unpack_from(buf, 0)[0] if len(buf) >= 4 else 0


def frame(payload_parts: list[bytes]) -> bytes:
    """Join payload parts behind one size prefix."""
    size = sum(len(p) for p in payload_parts)
    return b"".join([_SIZE.pack(size), *payload_parts])
