"""Versions Kafka 4 removed (KIP-896) that kafkalite serves: their bytes as Kafka 3.x laid them out.

Each request is packed here by hand from Kafka 3.9's message JSON (which still described these
versions), decoded by the broker's codec, and each response encoded by the codec is compared
with hand-packed bytes, so a schema change in the library cannot silently move a field.
"""

from __future__ import annotations

import struct

import pytest
from kafka.protocol.admin import CreateTopicsRequest as LibraryCreateTopicsRequest

from kafkalite.protocol import codec, messages


def s(text: str | None) -> bytes:
    """A (nullable) string: int16 length, then UTF-8."""
    if text is None:
        return struct.pack(">h", -1)
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def arr(items: list[bytes] | None) -> bytes:
    """An array: int32 count, then the items (null: -1)."""
    if items is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(items)) + b"".join(items)


@pytest.mark.parametrize("api", sorted(messages.WIDENED))
def test_widened_classes_keep_the_library_schema_and_key(api):
    key, first = messages.WIDENED[api]
    for suffix in ("Request", "Response"):
        cls = getattr(messages, api + suffix)
        assert (cls.API_KEY, cls.name) == (key, api + suffix)
        assert cls.valid_versions[0] == first
        served = codec._catalogue.request(key) if suffix == "Request" else codec._catalogue.response(key)
        assert served is cls


def test_library_classes_are_untouched():
    assert LibraryCreateTopicsRequest.valid_versions == (2, 7)
    assert messages.CreateTopicsRequest.valid_versions == (0, 7)


@pytest.mark.parametrize("version", [0, 1])
def test_create_topics_v0_v1(version):
    topic = s("t") + struct.pack(">ih", 3, 1) + arr([]) + arr([s("cleanup.policy") + s("compact")])
    body = arr([topic]) + struct.pack(">i", 5000) + (b"\x01" if version == 1 else b"")
    request = codec.decode_request(19, version, body)
    (ct,) = request.topics
    assert (ct.name, ct.num_partitions, ct.replication_factor) == ("t", 3, 1)
    assert [(c.name, c.value) for c in ct.configs] == [("cleanup.policy", "compact")]
    assert request.timeout_ms == 5000
    assert request.validate_only is (version == 1)
    answer = {"throttle_time_ms": 7, "topics": [
        {"name": "t", "error_code": 36, "error_message": "exists", "num_partitions": -1, "replication_factor": -1}
    ]}
    expected = arr([s("t") + struct.pack(">h", 36) + (s("exists") if version == 1 else b"")])  # no throttle before v2
    assert codec.encode_response(19, version, answer) == expected


def test_delete_topics_v0():
    request = codec.decode_request(20, 0, arr([s("a"), s("b")]) + struct.pack(">i", 3000))
    assert (list(request.topic_names), request.timeout_ms) == (["a", "b"], 3000)
    answer = {"throttle_time_ms": 7, "responses": [{"name": "a", "error_code": 0, "error_message": None}]}
    assert codec.encode_response(20, 0, answer) == arr([s("a") + struct.pack(">h", 0)])


def test_describe_configs_v0():
    body = arr([struct.pack(">b", 2) + s("t") + arr(None)])
    (res,) = codec.decode_request(32, 0, body).resources
    assert (res.resource_type, res.resource_name, res.configuration_keys) == (2, "t", None)
    config = {"name": "retention.ms", "value": "1", "read_only": False, "config_source": 1, "is_default": False,
              "is_sensitive": False, "synonyms": [], "config_type": 5, "documentation": None}
    answer = {"throttle_time_ms": 0, "results": [{"error_code": 0, "error_message": None, "resource_type": 2,
                                                   "resource_name": "t", "configs": [config]}]}
    entry = s("retention.ms") + s("1") + b"\x00" + b"\x00" + b"\x00"  # read only, is default, is sensitive
    result = struct.pack(">h", 0) + s(None) + struct.pack(">b", 2) + s("t") + arr([entry])
    expected = struct.pack(">i", 0) + arr([result])
    assert codec.encode_response(32, 0, answer) == expected


def test_describe_log_dirs_v0():
    (topic,) = codec.decode_request(35, 0, arr([s("t") + arr([struct.pack(">i", 0)])])).topics
    assert (topic.topic, list(topic.partitions)) == ("t", [0])
    assert codec.decode_request(35, 0, arr(None)).topics is None
    partition = {"partition_index": 0, "partition_size": 99, "offset_lag": 0, "is_future_key": False}
    answer = {"throttle_time_ms": 0, "error_code": 0, "results": [{
        "error_code": 0, "log_dir": "/d", "topics": [{"name": "t", "partitions": [partition]}],
        "total_bytes": 5, "usable_bytes": 4, "is_cordoned": False}]}
    part = struct.pack(">iqq?", 0, 99, 0, False)
    expected = struct.pack(">i", 0) + arr([struct.pack(">h", 0) + s("/d") + arr([s("t") + arr([part])])])
    assert codec.encode_response(35, 0, answer) == expected


@pytest.mark.parametrize("version", [0, 1])
def test_offset_for_leader_epoch_v0_v1(version):
    body = arr([s("t") + arr([struct.pack(">ii", 0, 0)])])  # partition, leader epoch (no current epoch before v2)
    (topic,) = codec.decode_request(23, version, body).topics
    (p,) = topic.partitions
    assert (topic.topic, p.partition, p.leader_epoch, p.current_leader_epoch) == ("t", 0, 0, -1)
    answer = {"throttle_time_ms": 0, "topics": [{"topic": "t", "partitions": [
        {"error_code": 0, "partition": 0, "leader_epoch": 0, "end_offset": 42}]}]}
    part = struct.pack(">hi", 0, 0) + (struct.pack(">i", 0) if version == 1 else b"") + struct.pack(">q", 42)
    assert codec.encode_response(23, version, answer) == arr([s("t") + arr([part])])
