import struct

import pytest

from kafkalite.protocol.framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, FrameError, frame


def sized(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def test_frame_joins_parts_behind_one_size_prefix():
    assert frame([b"ab", b"", b"cde"]) == b"\x00\x00\x00\x05abcde"
    assert frame([]) == b"\x00\x00\x00\x00"


def test_whole_frame_in_one_feed():
    dec = FrameDecoder()
    assert dec.feed(sized(b"hello")) == [b"hello"]
    assert dec.buffered == 0


def test_frame_round_trips_through_frame_helper():
    dec = FrameDecoder()
    assert dec.feed(frame([b"\x00\x12", b"body"])) == [b"\x00\x12body"]


def test_partial_frame_byte_by_byte():
    data = sized(b"payload!")
    dec = FrameDecoder()
    for i, byte in enumerate(data[:-1]):
        assert dec.feed(bytes([byte])) == []
        assert dec.buffered == i + 1
    assert dec.feed(data[-1:]) == [b"payload!"]
    assert dec.buffered == 0


def test_size_prefix_split_across_feeds():
    data = sized(b"xyz")
    dec = FrameDecoder()
    assert dec.feed(data[:2]) == []
    assert dec.buffered == 2
    assert dec.feed(data[2:5]) == []
    assert dec.buffered == 5
    assert dec.feed(data[5:]) == [b"xyz"]
    assert dec.buffered == 0


def test_multiple_frames_and_a_partial_tail_in_one_feed():
    third = sized(b"third-frame")
    dec = FrameDecoder()
    frames = dec.feed(sized(b"one") + sized(b"two") + third[:6])
    assert frames == [b"one", b"two"]
    assert dec.buffered == 6
    assert dec.feed(third[6:] + sized(b"four")) == [b"third-frame", b"four"]
    assert dec.buffered == 0


def test_empty_frame():
    dec = FrameDecoder()
    assert dec.feed(b"\x00\x00\x00\x00") == [b""]
    assert dec.buffered == 0
    assert dec.feed(b"\x00\x00\x00\x00" + sized(b"a") + b"\x00\x00\x00\x00") == [b"", b"a", b""]


def test_empty_feed_returns_nothing():
    dec = FrameDecoder()
    assert dec.feed(b"") == []
    assert dec.buffered == 0


def test_negative_size_is_a_frame_error():
    dec = FrameDecoder()
    with pytest.raises(FrameError):
        dec.feed(struct.pack(">i", -1) + b"abc")


def test_negative_size_after_a_good_frame():
    dec = FrameDecoder()
    with pytest.raises(FrameError):
        dec.feed(sized(b"ok") + struct.pack(">i", -5))


def test_oversize_frame_rejected_from_its_size_alone():
    dec = FrameDecoder(max_frame_size=10)
    with pytest.raises(FrameError):
        dec.feed(struct.pack(">i", 11))  # no payload needed to refuse it


def test_frame_at_exact_limit_is_accepted():
    dec = FrameDecoder(max_frame_size=10)
    assert dec.feed(sized(b"0123456789")) == [b"0123456789"]


def test_default_limit_is_kafka_socket_request_max_bytes():
    assert DEFAULT_MAX_FRAME_SIZE == 100 * 1024 * 1024
    dec = FrameDecoder()
    with pytest.raises(FrameError):
        dec.feed(struct.pack(">i", DEFAULT_MAX_FRAME_SIZE + 1))
    dec = FrameDecoder()
    assert dec.feed(struct.pack(">i", DEFAULT_MAX_FRAME_SIZE)) == []
    assert dec.buffered == 4


def test_frames_are_independent_bytes_objects():
    dec = FrameDecoder()
    (first,) = dec.feed(sized(b"abc"))
    dec.feed(sized(b"zzz"))
    assert first == b"abc"
    assert isinstance(first, bytes)


def test_pending_frame_size_is_the_declared_size_of_the_partial_frame():
    from kafkalite.protocol.framing import FrameDecoder

    decoder = FrameDecoder(1 << 20)
    assert decoder.pending_frame_size == 0
    assert decoder.feed(b"\x00\x00") == []
    assert decoder.pending_frame_size == 0  # the size prefix is not complete yet
    assert decoder.feed(b"\x00\x05ab") == []
    assert decoder.pending_frame_size == 5
    assert decoder.feed(b"cde") == [b"abcde"]
    assert decoder.pending_frame_size == 0
