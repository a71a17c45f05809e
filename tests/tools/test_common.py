"""Helpers shared by the CLI tools."""

import base64
import uuid

from confluent_kafka import Uuid

from kafkalite.tools.common import uuid_text


def test_uuid_text_is_kafkas_url_safe_base64():
    value = uuid.UUID(bytes=b"\xfb\xef\xbe" * 5 + b"\xff")  # standard base64 of it is full of '+' and '/'
    most = int.from_bytes(value.bytes[:8], "big", signed=True)
    least = int.from_bytes(value.bytes[8:], "big", signed=True)
    assert "+" in str(Uuid(most, least)) and "/" in str(Uuid(most, least))  # what confluent-kafka prints
    text = uuid_text(most, least)
    assert text == "-" * 20 + "_w"
    assert len(text) == 22 and not {"+", "/", "="} & set(text)
    assert base64.urlsafe_b64decode(text + "==") == value.bytes


def test_uuid_text_of_unsigned_halves():
    assert uuid_text(2**64 - 1, 0) == base64.urlsafe_b64encode(b"\xff" * 8 + b"\x00" * 8).decode().rstrip("=")
