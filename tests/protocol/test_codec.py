import struct
import uuid

import pytest
from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse
from kafka.protocol.producer import ProduceRequest

from kafkalite.conformance.wire import build_request
from kafkalite.protocol import codec
from kafkalite.protocol.header import parse_request_header
from tests.helpers import simple_batch

METADATA, PRODUCE, API_VERSIONS = 3, 0, 18


def split(raw: bytes | bytearray, api_key: int, version: int) -> bytes:
    """Parse the header kafka-python wrote; return the body behind it."""
    raw = bytes(raw)
    hdr = parse_request_header(raw, codec.is_flexible_request(api_key, version))
    assert (hdr.api_key, hdr.api_version, hdr.correlation_id) == (api_key, version, 11)
    return raw[hdr.body_offset :]


def encoded_request(message, version: int) -> bytes:
    message.with_header(correlation_id=11, client_id="unit")
    return bytes(message.encode(version=version, header=True))


@pytest.mark.parametrize("version", [1, 4, 8, 9, 12])
def test_decode_metadata_request_from_kafka_python(version):
    topic_cls = MetadataRequest._struct.fields["topics"].data_class
    topics = [topic_cls(version=version, name=n, topic_id=uuid.UUID(int=0)) for n in ("alpha", "beta")]
    req = MetadataRequest[version](topics=topics, allow_auto_topic_creation=False)
    body = split(encoded_request(req, version), METADATA, version)
    decoded = codec.decode_request(METADATA, version, body)
    assert [t.name for t in decoded.topics] == ["alpha", "beta"]
    if version >= 4:
        assert decoded.allow_auto_topic_creation is False


def test_decode_metadata_request_all_topics():
    req = MetadataRequest[12](topics=None, allow_auto_topic_creation=True)
    decoded = codec.decode_request(METADATA, 12, split(encoded_request(req, 12), METADATA, 12))
    assert decoded.topics is None
    assert decoded.allow_auto_topic_creation is True


@pytest.mark.parametrize("version", [3, 7, 9])
def test_decode_produce_request_carries_batch_bytes(version):
    batch = bytes(simple_batch(3))
    topic_cls = ProduceRequest._struct.fields["topic_data"].data_class
    part_cls = ProduceRequest._struct.fields["topic_data"].array_of.fields["partition_data"].data_class
    req = ProduceRequest[version](
        transactional_id=None,
        acks=-1,
        timeout_ms=1500,
        topic_data=[
            topic_cls(version=version, name="t", partition_data=[part_cls(version=version, index=2, records=batch)])
        ],
    )
    decoded = codec.decode_request(PRODUCE, version, split(encoded_request(req, version), PRODUCE, version))
    assert decoded.acks == -1
    assert decoded.timeout_ms == 1500
    (topic,) = decoded.topic_data
    assert topic.name == "t"
    (part,) = topic.partition_data
    assert part.index == 2
    assert bytes(part.records) == batch


def test_decode_api_versions_v3_client_software():
    req = ApiVersionsRequest[3](client_software_name="kafkalite-tests", client_software_version="1.0")
    decoded = codec.decode_request(API_VERSIONS, 3, split(encoded_request(req, 3), API_VERSIONS, 3))
    assert decoded.client_software_name == "kafkalite-tests"
    assert decoded.client_software_version == "1.0"


def test_decode_accepts_memoryview():
    req = ApiVersionsRequest[3](client_software_name="a", client_software_version="b")
    body = split(encoded_request(req, 3), API_VERSIONS, 3)
    assert codec.decode_request(API_VERSIONS, 3, memoryview(body)).client_software_name == "a"


def test_codec_error_on_garbage():
    with pytest.raises(codec.CodecError):
        codec.decode_request(METADATA, 12, b"\xff\xff\xff")


def test_codec_error_on_body_cut_inside_fixed_fields():
    req = MetadataRequest[1](topics=[MetadataRequest._struct.fields["topics"].data_class(version=1, name="abcdef")])
    body = split(encoded_request(req, 1), METADATA, 1)
    for cut in range(6):  # int32 array count and int16 string length
        with pytest.raises(codec.CodecError):
            codec.decode_request(METADATA, 1, body[:cut])


@pytest.mark.parametrize("cut", [1, 3])
def test_codec_error_on_body_cut_inside_a_string(cut):
    req = MetadataRequest[1](topics=[MetadataRequest._struct.fields["topics"].data_class(version=1, name="abcdef")])
    body = split(encoded_request(req, 1), METADATA, 1)
    with pytest.raises(codec.CodecError):
        codec.decode_request(METADATA, 1, body[:-cut])


def test_codec_error_on_empty_produce_body():
    with pytest.raises(codec.CodecError):
        codec.decode_request(PRODUCE, 9, b"")


API_KEYS = [{"api_key": 0, "min_version": 0, "max_version": 9}, {"api_key": 3, "min_version": 0, "max_version": 12}]


def test_encode_response_drops_fields_absent_in_version():
    full = {"error_code": 0, "api_keys": API_KEYS, "throttle_time_ms": 250, "finalized_features_epoch": 3}
    v0 = codec.encode_response(API_VERSIONS, 0, full)
    assert v0 == codec.encode_response(API_VERSIONS, 0, {"error_code": 0, "api_keys": API_KEYS})
    assert len(v0) == 2 + 4 + 6 * len(API_KEYS)
    decoded = ApiVersionsResponse.decode(v0, version=0)
    assert [(k.api_key, k.max_version) for k in decoded.api_keys] == [(0, 9), (3, 12)]
    v1 = ApiVersionsResponse.decode(codec.encode_response(API_VERSIONS, 1, full), version=1)
    assert v1.throttle_time_ms == 250


def metadata_body() -> dict:
    return {
        "throttle_time_ms": 17,
        "brokers": [{"node_id": 1, "host": "localhost", "port": 9092, "rack": "r1"}],
        "cluster_id": "cluster-x",
        "controller_id": 1,
        "topics": [
            {
                "error_code": 0,
                "name": "t",
                "topic_id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
                "is_internal": False,
                "partitions": [
                    {
                        "error_code": 0,
                        "partition_index": 0,
                        "leader_id": 1,
                        "leader_epoch": 5,
                        "replica_nodes": [1],
                        "isr_nodes": [1],
                        "offline_replicas": [],
                    }
                ],
            }
        ],
        "error_code": 0,
    }


def test_encode_response_drops_nested_fields_absent_in_v0():
    raw = codec.encode_response(METADATA, 0, metadata_body())
    decoded = MetadataResponse.decode(raw, version=0)
    assert [(b.node_id, b.host, b.port) for b in decoded.brokers] == [(1, "localhost", 9092)]
    (topic,) = decoded.topics
    assert topic.name == "t"
    assert [p.partition_index for p in topic.partitions] == [0]
    # v0 layout: brokers (int32 count, node int32, host string, port int32) first, no throttle time
    assert struct.unpack_from(">ii", raw, 0) == (1, 1)


@pytest.mark.parametrize("version", range(0, 14))
def test_encode_metadata_response_every_version(version):
    raw = codec.encode_response(METADATA, version, metadata_body())
    decoded = MetadataResponse.decode(raw, version=version)
    assert decoded.topics[0].partitions[0].leader_id == 1
    if version >= 2:
        assert decoded.cluster_id == "cluster-x"
    if version >= 3:
        assert decoded.throttle_time_ms == 17
    if version >= 7:
        assert decoded.topics[0].partitions[0].leader_epoch == 5
    if version >= 10:
        assert decoded.topics[0].topic_id == uuid.UUID("12345678-1234-5678-1234-567812345678")


def test_encode_response_unknown_field_is_a_key_error():
    with pytest.raises(KeyError):
        codec.encode_response(API_VERSIONS, 3, {"error_code": 0, "api_keys": [], "no_such_field": 1})


def test_schema_versions_and_flexibility():
    assert codec.schema_max_version(METADATA) == MetadataRequest.max_version
    assert codec.schema_max_version(PRODUCE) == ProduceRequest.max_version
    assert codec.schema_max_version(32000) is None
    assert codec.is_flexible_request(METADATA, 8) is False
    assert codec.is_flexible_request(METADATA, 9) is True
    assert codec.is_flexible_request(PRODUCE, 8) is False
    assert codec.is_flexible_request(PRODUCE, 9) is True
    assert codec.is_flexible_request(API_VERSIONS, 3) is True
    assert codec.is_flexible_request(32000, 0) is False


# -- nulls where the schema allows none (Kafka's parser rejects them, so the connection closes) ---------


def _metadata_body(version: int, name: str | None) -> bytes:
    topic_cls = MetadataRequest._struct.fields["topics"].data_class
    request = MetadataRequest(version=version, topics=[topic_cls(version=version, name=name)])
    return split(encoded_request(request, version), METADATA, version)


def test_null_in_a_non_nullable_field_is_a_codec_error():
    with pytest.raises(codec.CodecError, match=r"non-nullable field topics\.name was serialized as null"):
        codec.decode_request(METADATA, 9, _metadata_body(9, None))


def test_null_where_the_version_allows_it_decodes():
    assert codec.decode_request(METADATA, 10, _metadata_body(10, None)).topics[0].name is None


def test_null_top_level_array_is_a_codec_error():
    body = struct.pack(">hhii", -1, -1, 5000, -1)  # Produce v3: transactional_id null, acks, timeout, topic_data null
    with pytest.raises(codec.CodecError, match="non-nullable field topic_data"):
        codec.decode_request(PRODUCE, 3, body)


def test_null_element_of_a_string_array_is_a_codec_error():
    body = struct.pack(">ih", 1, -1)  # DeleteGroups v0: one group name, null
    with pytest.raises(codec.CodecError, match=r"groups_names\[\] was serialized as null"):
        codec.decode_request(42, 0, body)


def test_nullable_records_and_zero_uuid_decode():
    """Null records are allowed; the zero topic id (read as None) is a value, not a null."""
    partition = struct.pack(">ii", 0, -1)  # index 0, null records
    body = struct.pack(">hhii", -1, -1, 5000, 1) + struct.pack(">h", 1) + b"t" + struct.pack(">i", 1) + partition
    request = codec.decode_request(PRODUCE, 3, body)
    assert request.topic_data[0].partition_data[0].records is None
    fetch = build_request("Fetch", 13, {"topics": [{"topic_id": {"$uuid": str(uuid.UUID(int=0))},
                                                    "partitions": [{"partition": 0}]}]})
    body = bytes(fetch.encode(version=13))
    assert codec.decode_request(1, 13, body).topics[0].topic_id is None
