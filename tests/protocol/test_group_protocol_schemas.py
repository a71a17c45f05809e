"""The KIP-848 and KIP-932 schemas (Kafka 4.4's message specs in ``kafkalite/protocol/schemas``).

Two kinds of checks. Every request and response round-trips at every version Kafka 4.4 declares,
once with a distinct value in every field (tagged ones included) and once with every nullable
field null: the broker's codec paths (``decode_request``, ``encode_response``) against
kafka-python's. A round trip alone cannot catch a schema that is wrong the same way both ways,
so each API also decodes a request packed here by hand from the field order of Kafka's JSON
(and two responses are compared with hand-packed bytes), at a flexible version: compact strings
and arrays, nullable structs, tagged-field sections.

Nothing here is served yet: the APIs have no handler, so ApiVersions does not list them.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

import pytest

from kafkalite.broker.handlers import APIS
from kafkalite.protocol import codec, messages
from kafkalite.protocol.codec import _build, _FrameBuffer, _plan

# API name -> (key, versions Kafka 4.4 declares): ``validVersions`` of its JSON.
NEW_APIS: dict[str, tuple[int, range]] = {
    "ConsumerGroupHeartbeat": (68, range(0, 2)),
    "ConsumerGroupDescribe": (69, range(0, 2)),
    "ShareGroupHeartbeat": (76, range(1, 2)),
    "ShareGroupDescribe": (77, range(1, 2)),
    "ShareFetch": (78, range(1, 3)),
    "ShareAcknowledge": (79, range(1, 3)),
    "DescribeShareGroupOffsets": (90, range(0, 2)),
    "AlterShareGroupOffsets": (91, range(0, 1)),
    "DeleteShareGroupOffsets": (92, range(0, 1)),
}
CASES = [(name, version) for name, (_key, versions) in NEW_APIS.items() for version in versions]


# -- values for every field of a version ------------------------------------------------------------


def _primitive(type_name: str, n: int) -> Any:
    """A value of ``type_name`` that differs from field to field (``n`` counts fields)."""
    values = {
        "int8": n % 100 + 1,
        "int16": 1000 + n,
        "int32": 100_000 + n,
        "int64": 10**12 + n,
        "string": f"s{n}",
        "bool": True,
        "uuid": uuid.UUID(int=(n << 64) | 1),  # never the zero UUID, which the codec reads as None
        "bytes": bytes([n % 256]) * 3,
        "records": bytes([n % 256]) * 5,
    }
    return values[type_name]


def _nullable(field: Any, version: int) -> bool:
    versions = field._nullable_versions
    return versions is not None and versions[0] <= version <= versions[1]


def sample(fields: Any, version: int, nulls: bool, counter: list[int]) -> dict[str, Any]:
    """Every field of ``version``: a distinct value each, or None where nullable when ``nulls``."""
    out: dict[str, Any] = {}
    for field in fields:
        if not field.for_version_q(version):
            continue
        counter[0] += 1
        n = counter[0]
        type_name = field._type_str
        if nulls and _nullable(field, version):
            out[field.name] = None
        elif type_name.startswith("[]"):
            if field._fields is not None:
                out[field.name] = [sample(field._fields, version, nulls, counter) for _ in range(2)]
            else:
                out[field.name] = [_primitive(type_name[2:], n), _primitive(type_name[2:], n + 50)]
        elif field._fields is not None:
            out[field.name] = sample(field._fields, version, nulls, counter)
        else:
            out[field.name] = _primitive(type_name, n)
    return out


def plain(obj: Any, fields: Any, version: int) -> dict[str, Any]:
    """A decoded message as the dicts ``sample`` makes, reading only the version's fields."""
    out: dict[str, Any] = {}
    for field in fields:
        if not field.for_version_q(version):
            continue
        value = getattr(obj, field.name)
        if value is not None and field._fields is not None:
            if field._type_str.startswith("[]"):
                value = [plain(item, field._fields, version) for item in value]
            else:
                value = plain(value, field._fields, version)
        elif isinstance(value, (bytearray, memoryview)):
            value = bytes(value)
        out[field.name] = value
    return out


def encode_with(cls: Any, version: int, message: Any) -> bytes:
    """A body from kafka-python's compiled encoder for ``cls``: of a decoded message, or of dicts."""
    if isinstance(message, dict):
        message = _build(_plan(cls._struct, version), message)
    flexible = cls.flexible_version_q(version)
    out = _FrameBuffer()
    cls._struct.compiled_encode_into(version, compact=flexible, tagged=flexible)(message, out)
    return bytes(out.buf[: out.pos])


# -- the catalogue -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NEW_APIS))
def test_declared_by_key_and_not_served(name):
    key, versions = NEW_APIS[name]
    request, response = getattr(messages, name + "Request"), getattr(messages, name + "Response")
    assert request.API_KEY == response.API_KEY == key
    assert request.valid_versions == response.valid_versions == (versions[0], versions[-1])
    assert all(request.flexible_version_q(v) for v in versions)  # every version is flexible ("0+")
    assert codec.message_classes(key) == (request, response)
    assert key not in APIS  # no handler: not advertised, and answered as an unknown API


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("nulls", [False, True], ids=["values", "nulls"])
@pytest.mark.parametrize(("name", "version"), CASES)
def test_request_round_trip(name, version, nulls):
    key, _versions = NEW_APIS[name]
    cls = getattr(messages, name + "Request")
    values = sample(cls._struct._fields, version, nulls, [0])
    body = encode_with(cls, version, values)  # as a client would send it
    decoded = codec.decode_request(key, version, body)
    assert plain(decoded, cls._struct._fields, version) == values
    assert encode_with(cls, version, decoded) == body


@pytest.mark.parametrize("nulls", [False, True], ids=["values", "nulls"])
@pytest.mark.parametrize(("name", "version"), CASES)
def test_response_round_trip(name, version, nulls):
    key, _versions = NEW_APIS[name]
    cls = getattr(messages, name + "Response")
    values = sample(cls._struct._fields, version, nulls, [0])
    body = codec.encode_response(key, version, values)
    decoded = cls.decode(body, version=version)
    assert plain(decoded, cls._struct._fields, version) == values
    assert encode_with(cls, version, decoded) == body


# -- bytes packed by hand (compact encodings, KIP-482) ----------------------------------------------


def uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def cs(text: str | None) -> bytes:
    """A compact (nullable) string: uvarint length + 1 (0 for null), then UTF-8."""
    if text is None:
        return b"\x00"
    raw = text.encode()
    return uvarint(len(raw) + 1) + raw


def ca(items: list[bytes] | None) -> bytes:
    """A compact (nullable) array: uvarint count + 1 (0 for null), then the items."""
    return b"\x00" if items is None else uvarint(len(items) + 1) + b"".join(items)


def i8(n: int) -> bytes:
    return struct.pack(">b", n)


def i16(n: int) -> bytes:
    return struct.pack(">h", n)


def i32(n: int) -> bytes:
    return struct.pack(">i", n)


def i64(n: int) -> bytes:
    return struct.pack(">q", n)


NO_TAGS = b"\x00"  # an empty tagged-field section, after every struct of a flexible version
T1 = uuid.UUID("5d5ed7a6-0b3c-4c44-9a56-1f3e3f0e7a01")
T2 = uuid.UUID("0f8a7c3e-1d2b-4e5f-8a9b-0c1d2e3f4a5b")


def test_consumer_group_heartbeat_request_v1_by_hand():
    body = (
        cs("g") + cs("member-1") + i32(7) + cs(None) + cs("rack-a") + i32(45_000)
        + ca([cs("orders"), cs("payments")]) + cs("orders|pay.*") + cs("uniform")
        + ca([T1.bytes + ca([i32(0), i32(2)]) + NO_TAGS]) + NO_TAGS
    )
    r = codec.decode_request(68, 1, body)
    assert (r.group_id, r.member_id, r.member_epoch) == ("g", "member-1", 7)
    assert (r.instance_id, r.rack_id, r.rebalance_timeout_ms) == (None, "rack-a", 45_000)
    assert r.subscribed_topic_names == ["orders", "payments"]
    assert (r.subscribed_topic_regex, r.server_assignor) == ("orders|pay.*", "uniform")
    assert [(tp.topic_id, tp.partitions) for tp in r.topic_partitions] == [(T1, [0, 2])]


def test_consumer_group_heartbeat_request_v0_has_no_regex():
    body = (
        cs("g") + cs("") + i32(0) + cs("static-1") + cs(None) + i32(-1)
        + ca([cs("orders")]) + cs(None) + ca(None) + NO_TAGS
    )
    r = codec.decode_request(68, 0, body)
    assert (r.member_id, r.member_epoch, r.instance_id) == ("", 0, "static-1")
    assert (r.subscribed_topic_names, r.server_assignor, r.topic_partitions) == (["orders"], None, None)


def test_consumer_group_heartbeat_response_v1_by_hand():
    """The nullable Assignment struct: int8 1 then its fields; -1 for null."""
    answer = {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "member_id": "m",
              "member_epoch": 3, "heartbeat_interval_ms": 5000,
              "assignment": {"topic_partitions": [{"topic_id": T1, "partitions": [1]}]}}
    expected = (
        i32(0) + i16(0) + cs(None) + cs("m") + i32(3) + i32(5000)
        + i8(1) + ca([T1.bytes + ca([i32(1)]) + NO_TAGS]) + NO_TAGS + NO_TAGS
    )
    assert codec.encode_response(68, 1, answer) == expected
    unassigned = {**answer, "error_code": 110, "error_message": "fenced", "assignment": None}
    assert codec.encode_response(68, 1, unassigned) == (
        i32(0) + i16(110) + cs("fenced") + cs("m") + i32(3) + i32(5000) + i8(-1) + NO_TAGS
    )


def test_consumer_group_describe_request_v1_by_hand():
    r = codec.decode_request(69, 1, ca([cs("g1"), cs("g2")]) + b"\x01" + NO_TAGS)
    assert (r.group_ids, r.include_authorized_operations) == (["g1", "g2"], True)


def test_share_group_heartbeat_request_v1_by_hand():
    body = cs("sg") + cs("m-uuid") + i32(-1) + cs(None) + ca([cs("queue")]) + NO_TAGS
    r = codec.decode_request(76, 1, body)
    assert (r.group_id, r.member_id, r.member_epoch) == ("sg", "m-uuid", -1)  # -1: the member leaves
    assert (r.rack_id, r.subscribed_topic_names) == (None, ["queue"])


def test_share_group_describe_request_v1_by_hand():
    r = codec.decode_request(77, 1, ca([cs("sg")]) + b"\x00" + NO_TAGS)
    assert (r.group_ids, r.include_authorized_operations) == (["sg"], False)


def _ack_batch(first: int, last: int, types: list[int]) -> bytes:
    return i64(first) + i64(last) + ca([i8(t) for t in types]) + NO_TAGS


def test_share_fetch_request_v2_by_hand():
    partition = i32(0) + ca([_ack_batch(10, 12, [1, 2, 3])]) + NO_TAGS  # PartitionMaxBytes is v0 only
    body = (
        cs("sg") + cs("m") + i32(3) + i32(500) + i32(1) + i32(52_428_800) + i32(500) + i32(250)
        + i8(1) + b"\x00"
        + ca([T1.bytes + ca([partition]) + NO_TAGS])
        + ca([T2.bytes + ca([i32(4)]) + NO_TAGS]) + NO_TAGS
    )
    r = codec.decode_request(78, 2, body)
    assert (r.group_id, r.member_id, r.share_session_epoch) == ("sg", "m", 3)
    assert (r.max_wait_ms, r.min_bytes, r.max_bytes, r.max_records, r.batch_size) == (500, 1, 52_428_800, 500, 250)
    assert (r.share_acquire_mode, r.is_renew_ack) == (1, False)
    (topic,) = r.topics
    (p,) = topic.partitions
    assert (topic.topic_id, p.partition_index) == (T1, 0)
    batches = [(b.first_offset, b.last_offset, b.acknowledge_types) for b in p.acknowledgement_batches]
    assert batches == [(10, 12, [1, 2, 3])]
    assert [(f.topic_id, f.partitions) for f in r.forgotten_topics_data] == [(T2, [4])]


def test_share_fetch_request_v1_lacks_the_v2_fields():
    body = cs(None) + cs("m") + i32(-1) + i32(0) + i32(0) + i32(1024) + i32(10) + i32(10) + ca([]) + ca([]) + NO_TAGS
    r = codec.decode_request(78, 1, body)
    assert (r.group_id, r.share_session_epoch, r.max_records, r.topics) == (None, -1, 10, [])


def test_share_fetch_response_v2_by_hand():
    answer = {
        "throttle_time_ms": 0, "error_code": 0, "error_message": None, "acquisition_lock_timeout_ms": 30_000,
        "responses": [{"topic_id": T1, "partitions": [{
            "partition_index": 0, "error_code": 0, "error_message": None, "acknowledge_error_code": 0,
            "acknowledge_error_message": None, "current_leader": {"leader_id": 1, "leader_epoch": 4},
            "records": b"RECORDS", "acquired_records": [{"first_offset": 5, "last_offset": 9, "delivery_count": 2}],
        }]}],
        "node_endpoints": [{"node_id": 1, "host": "localhost", "port": 9092, "rack": None}],
    }
    partition = (
        i32(0) + i16(0) + cs(None) + i16(0) + cs(None) + i32(1) + i32(4) + NO_TAGS
        + uvarint(len(b"RECORDS") + 1) + b"RECORDS" + ca([i64(5) + i64(9) + i16(2) + NO_TAGS]) + NO_TAGS
    )
    expected = (
        i32(0) + i16(0) + cs(None) + i32(30_000)
        + ca([T1.bytes + ca([partition]) + NO_TAGS])
        + ca([i32(1) + cs("localhost") + i32(9092) + cs(None) + NO_TAGS]) + NO_TAGS
    )
    assert codec.encode_response(78, 2, answer) == expected


def test_share_acknowledge_request_v2_by_hand():
    body = (
        cs("sg") + cs("m") + i32(4) + b"\x01"
        + ca([T1.bytes + ca([i32(2) + ca([_ack_batch(0, 0, [3]), _ack_batch(1, 4, [1])]) + NO_TAGS]) + NO_TAGS])
        + NO_TAGS
    )
    r = codec.decode_request(79, 2, body)
    assert (r.group_id, r.member_id, r.share_session_epoch, r.is_renew_ack) == ("sg", "m", 4, True)
    (topic,) = r.topics
    (p,) = topic.partitions
    assert (topic.topic_id, p.partition_index) == (T1, 2)
    assert [(b.first_offset, b.last_offset, b.acknowledge_types) for b in p.acknowledgement_batches] == [
        (0, 0, [3]), (1, 4, [1])
    ]


def test_describe_share_group_offsets_request_v1_by_hand():
    body = ca([
        cs("sg1") + ca([cs("t") + ca([i32(0), i32(1)]) + NO_TAGS]) + NO_TAGS,
        cs("sg2") + ca(None) + NO_TAGS,  # null topics: every topic the group has offsets for
    ]) + NO_TAGS
    r = codec.decode_request(90, 1, body)
    g1, g2 = r.groups
    assert (g1.group_id, [(t.topic_name, t.partitions) for t in g1.topics]) == ("sg1", [("t", [0, 1])])
    assert (g2.group_id, g2.topics) == ("sg2", None)


def test_alter_share_group_offsets_request_v0_by_hand():
    body = cs("sg") + ca([cs("t") + ca([i32(0) + i64(42) + NO_TAGS, i32(1) + i64(-1) + NO_TAGS]) + NO_TAGS]) + NO_TAGS
    r = codec.decode_request(91, 0, body)
    (topic,) = r.topics
    assert (r.group_id, topic.topic_name) == ("sg", "t")
    assert [(p.partition_index, p.start_offset) for p in topic.partitions] == [(0, 42), (1, -1)]


def test_delete_share_group_offsets_request_v0_by_hand():
    r = codec.decode_request(92, 0, cs("sg") + ca([cs("a") + NO_TAGS, cs("b") + NO_TAGS]) + NO_TAGS)
    assert (r.group_id, [t.topic_name for t in r.topics]) == ("sg", ["a", "b"])


def test_a_null_where_the_schema_allows_none_is_refused():
    """ConsumerGroupHeartbeat's GroupId is not nullable: Kafka's parser rejects the request."""
    body = (
        cs(None) + cs("m") + i32(0) + cs(None) + cs(None) + i32(-1) + ca(None) + cs(None) + cs(None)
        + ca(None) + NO_TAGS
    )
    with pytest.raises(codec.CodecError, match="group_id"):
        codec.decode_request(68, 1, body)
