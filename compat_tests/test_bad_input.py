"""Bad bytes cost only the offending connection; the broker and other clients carry on."""

from __future__ import annotations

import socket
import struct

import pytest
from kafka import KafkaProducer

from compat_tests.brokerproc import BrokerProcess


def _send(broker: BrokerProcess, payload: bytes, expect_reply: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        s.sendall(payload)
        chunks = []
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
                if expect_reply:
                    break
        except TimeoutError:
            pytest.fail("broker neither answered nor closed the connection")
        return b"".join(chunks)


def _request(api_key: int, version: int, correlation: int, body: bytes = b"", client: bytes = b"t") -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation, len(client)) + client
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(struct.pack(">i", -5), id="negative-length"),
        pytest.param(struct.pack(">i", 500 * 1024 * 1024), id="oversized-length"),
        pytest.param(_request(9999, 0, 1), id="unknown-api-key"),
        pytest.param(_request(3, 99, 1), id="unsupported-metadata-version"),
        pytest.param(_request(0, 9, 1, b"\xff\xff\x01"), id="truncated-produce-body"),
        pytest.param(struct.pack(">i", 3) + b"\x00\x01\x02", id="short-header"),
        pytest.param(_request(3, 12, 1, b"\x07" * 64), id="random-body"),
    ],
)
def test_garbage_closes_only_that_connection(broker: BrokerProcess, payload: bytes, topic_name: str) -> None:
    assert _send(broker, payload) == b""  # closed without a reply
    assert broker.alive()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    assert producer.send(topic_name, b"still fine").get(timeout=10).offset == 0
    producer.close()


def test_api_versions_above_range_answers_v0_with_unsupported_version(broker: BrokerProcess) -> None:
    reply = _send(broker, _request(18, 77, 42), expect_reply=True)
    _size, correlation, error = struct.unpack_from(">iih", reply)
    assert correlation == 42
    assert error == 35  # UNSUPPORTED_VERSION
    (count,) = struct.unpack_from(">i", reply, 10)
    keys = {struct.unpack_from(">hhh", reply, 14 + 6 * i) for i in range(count)}
    assert keys == {(18, 0, 4)}  # as Kafka (KIP-511): only ApiVersions' own range


def test_corrupt_batch_gets_corrupt_message(broker: BrokerProcess, topic_name: str) -> None:
    from kafka.record.memory_records import MemoryRecordsBuilder

    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    builder.append(timestamp=None, key=b"k", value=b"v", headers=[])
    builder.close()
    batch = bytearray(builder.buffer())
    batch[-1] ^= 0xFF  # flip a byte covered by the CRC
    topic = topic_name.encode()
    body = (
        struct.pack(">hhi", -1, 1, 5000)  # transactional id null, acks 1, timeout
        + struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic
        + struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", len(batch)) + bytes(batch)
    )
    # make sure the topic exists first
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send(topic_name, b"first").get(timeout=10)
    producer.close()
    reply = _send(broker, _request(0, 7, 9, body), expect_reply=True)
    _, correlation, _topics, name_len = struct.unpack_from(">iiih", reply)
    assert correlation == 9
    pos = 14 + name_len
    _, partition, error = struct.unpack_from(">iih", reply, pos)
    assert (partition, error) == (0, 2)  # CORRUPT_MESSAGE


def _produce_acks0(topic: str, batch: bytes) -> bytes:
    name = topic.encode()
    return (
        struct.pack(">hhi", -1, 0, 5000)  # transactional id null, acks 0, timeout
        + struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
        + struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", len(batch)) + batch
    )


def test_failed_acks0_produce_closes_the_connection(broker: BrokerProcess, topic_name: str) -> None:
    # acks=0 has no response, so Kafka closes the connection when the produce fails: the client's
    # only signal (the Java producer counts it in connection-close-total and refreshes metadata).
    from kafka.record.memory_records import MemoryRecordsBuilder

    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    builder.append(timestamp=None, key=b"k", value=b"v", headers=[])
    builder.close()
    batch = bytes(builder.buffer())
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send(topic_name, b"first").get(timeout=10)
    producer.close()
    metadata_v0 = _request(3, 0, 2, struct.pack(">i", 0))  # answered only if the connection stays open
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        s.sendall(_request(0, 7, 1, _produce_acks0(topic_name, batch)) + metadata_v0)
        s.recv(4)  # the frame size
        assert struct.unpack(">i", s.recv(4))[0] == 2  # no Produce reply; the Metadata one
    reply = _send(broker, _request(0, 7, 1, _produce_acks0(f"{topic_name}-missing", batch)) + metadata_v0)
    assert reply == b""  # UNKNOWN_TOPIC_OR_PARTITION: closed, the Metadata request never answered
