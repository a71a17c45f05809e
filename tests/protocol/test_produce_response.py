"""The direct Produce response encoder writes exactly what the schema codec writes."""

import random
import uuid

import pytest
from kafka.protocol.producer import ProduceResponse

from kafkalite.protocol import codec
from kafkalite.protocol.produce_response import encode_produce_response

PRODUCE = 0


def schema_encoded(version: int, body: dict) -> bytes:
    out = codec._FrameBuffer()
    message = codec._build(codec._plan(codec._catalogue.response(PRODUCE)._struct, version), body)
    codec._encoder(PRODUCE, version)(message, out)
    return bytes(out.buf[: out.pos])


def random_body(rng: random.Random, version: int) -> dict:
    topics = []
    for t in range(rng.choice([0, 1, 1, 2, 3])):
        partitions = [
            {
                "index": rng.randrange(0, 2**31),
                "error_code": rng.choice([0, 0, 3, 87]),
                "base_offset": rng.choice([-1, 0, rng.randrange(0, 2**63)]),
                "log_append_time_ms": rng.choice([-1, rng.randrange(0, 2**41)]),
                "log_start_offset": rng.choice([-1, 0, rng.randrange(0, 2**40)]),
                "record_errors": [],
                "error_message": None,
            }
            for _ in range(rng.choice([0, 1, 2, 150]))
        ]
        entry: dict = {"partition_responses": partitions}
        if version >= 13:
            entry["topic_id"] = uuid.UUID(int=rng.getrandbits(128))
        else:
            entry["name"] = f"topic-{t}-" + "é" * rng.randrange(0, 200)
        topics.append(entry)
    return {"responses": topics, "throttle_time_ms": rng.choice([0, 7])}


@pytest.mark.parametrize("version", range(9, 14))
def test_same_bytes_as_the_schema_codec(version):
    rng = random.Random(version)
    for _ in range(200):
        body = random_body(rng, version)
        direct = encode_produce_response(version, body)
        assert direct is not None
        assert direct == schema_encoded(version, body)


@pytest.mark.parametrize("version", range(9, 14))
def test_kafka_python_reads_it_back(version):
    body = random_body(random.Random(99), version)
    body["responses"] = body["responses"] or [{"name": "t", "topic_id": uuid.uuid4(), "partition_responses": []}]
    decoded = ProduceResponse.decode(encode_produce_response(version, body), version=version)
    assert len(decoded.responses) == len(body["responses"])
    for got, sent in zip(decoded.responses, body["responses"], strict=True):
        assert [(p.index, p.error_code, p.base_offset) for p in got.partition_responses] == [
            (p["index"], p["error_code"], p["base_offset"]) for p in sent["partition_responses"]
        ]


@pytest.mark.parametrize(
    ("version", "change"),
    [
        (8, {}),  # not flexible: the schema codec's job
        (12, {"error_message": "boom"}),
        (12, {"record_errors": [{"batch_index": 0, "batch_index_error_message": "bad"}]}),
    ],
)
def test_unusual_responses_are_left_to_the_schema_codec(version, change):
    partition = {"index": 0, "error_code": 0, "base_offset": 5, "record_errors": [], "error_message": None}
    body = {"responses": [{"name": "t", "partition_responses": [{**partition, **change}]}], "throttle_time_ms": 0}
    assert encode_produce_response(version, body) is None
    framed = codec.ResponseEncoder().frame(PRODUCE, version, b"", body)
    assert bytes(framed[4:]) == schema_encoded(version, body)


@pytest.mark.parametrize("version", range(14))
def test_record_errors_encode_at_every_version(version):
    """A partition with per-record errors (after a plain one) reads back whole where the version has the fields."""
    errors = [{"batch_index": i, "batch_index_error_message": f"record {i} has no key"} for i in (1, 3, 200)]
    plain = {"index": 0, "error_code": 0, "base_offset": 7, "log_append_time_ms": -1, "log_start_offset": 0,
             "record_errors": [], "error_message": None}
    failed = {"index": 1, "error_code": 87, "base_offset": -1, "log_append_time_ms": -1, "log_start_offset": 4,
              "record_errors": errors, "error_message": "One or more records have been rejected"}
    topic = {"name": "t", "topic_id": uuid.UUID(int=5), "partition_responses": [plain, failed]}
    body = {"responses": [topic], "throttle_time_ms": 3}
    decoded = ProduceResponse.decode(codec.encode_response(PRODUCE, version, body), version=version)
    (got_topic,) = decoded.responses
    got_plain, got_failed = got_topic.partition_responses
    assert (got_plain.index, got_plain.error_code, got_plain.base_offset) == (0, 0, 7)
    assert (got_failed.index, got_failed.error_code, got_failed.base_offset) == (1, 87, -1)
    if version >= 5:
        assert got_failed.log_start_offset == 4
    if version >= 8:
        assert [(e.batch_index, e.batch_index_error_message) for e in got_failed.record_errors] == [
            (e["batch_index"], e["batch_index_error_message"]) for e in errors
        ]
        assert got_failed.error_message == failed["error_message"]
        assert got_plain.record_errors == [] and got_plain.error_message is None


def test_null_topic_id_is_the_zero_uuid():
    """A Produce v13 naming the zero topic id (the codec reads it as None) is answered with that id."""
    partition = {"index": 0, "error_code": 100, "base_offset": -1, "record_errors": [], "error_message": None}
    body = {"responses": [{"topic_id": None, "partition_responses": [partition]}], "throttle_time_ms": 0}
    direct = encode_produce_response(13, body)
    assert direct is not None and direct == schema_encoded(13, body)
    assert direct[1:17] == bytes(16)
