"""Metadata in process: requests by topic id as the Java AdminClient sends them; authorized operations."""

import asyncio
import uuid

from kafka.protocol.metadata import MetadataRequest, MetadataResponse

from kafkalite.broker.handlers.metadata import handle_metadata
from kafkalite.broker.handlers.registry import RequestContext
from kafkalite.errors import ErrorCode
from kafkalite.protocol.codec import decode_request, encode_response
from kafkalite.protocol.header import RequestHeader

KEY = 3
VERSION = 13
ZERO = uuid.UUID(int=0)


def metadata(state, topics):
    """``topics``: (name, topic_id) pairs, encoded as a client does and decoded as the broker does."""
    entry = MetadataRequest.MetadataRequestTopic
    request = MetadataRequest(
        version=VERSION, topics=[entry(version=VERSION, name=n, topic_id=i) for n, i in topics],
        allow_auto_topic_creation=False, include_topic_authorized_operations=False,
    )
    decoded = decode_request(KEY, VERSION, bytes(request.encode(version=VERSION)))
    ctx = RequestContext(state, RequestHeader(KEY, VERSION, 1, "test", 0), "127.0.0.1:1")
    body = asyncio.run(handle_metadata(ctx, decoded))
    assert encode_response(KEY, VERSION, body)
    return [(t["name"], t["topic_id"], t["error_code"], len(t["partitions"])) for t in body["topics"]]


def test_by_id_with_an_empty_name_as_the_java_admin_sends(state):
    a = state.cluster.topics["a"].topic_id
    assert metadata(state, [("", a)]) == [("a", a, 0, 3)]


def test_by_id_with_a_null_name(state):
    b = state.cluster.topics["b"].topic_id
    assert metadata(state, [(None, b)]) == [("b", b, 0, 1)]


def test_unknown_id_answers_unknown_topic_id_with_that_id(state):
    missing = uuid.uuid4()
    assert metadata(state, [("", missing)]) == [(None, missing, int(ErrorCode.UNKNOWN_TOPIC_ID), 0)]


def test_any_id_makes_the_request_by_id(state):
    # As Kafka: names beside ids are ignored once one id is given.
    a = state.cluster.topics["a"].topic_id
    assert metadata(state, [("b", ZERO), ("", a)]) == [("a", a, 0, 3)]


def test_by_name_still_answers_names(state):
    a = state.cluster.topics["a"].topic_id
    assert metadata(state, [("a", ZERO), ("nope", ZERO)]) == [
        ("a", a, 0, 3), ("nope", ZERO, int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), 0),
    ]


def _body(state, version, **fields):
    entry = MetadataRequest.MetadataRequestTopic
    request = MetadataRequest(version=version, topics=[entry(version=version, name="a"), entry(version=version,
                              name="nope")], allow_auto_topic_creation=False, **fields)
    decoded = decode_request(KEY, version, bytes(request.encode(version=version)))
    ctx = RequestContext(state, RequestHeader(KEY, version, 1, "test", 0), "127.0.0.1:1")
    body = asyncio.run(handle_metadata(ctx, decoded))
    return MetadataResponse.decode(encode_response(KEY, version, body), version=version)


def test_authorized_operations_as_kafka_without_an_authorizer(state):
    # Observed from Kafka 4.4.0: every topic operation, for unknown topics too, and the cluster's.
    topic_ops = {3, 4, 5, 6, 7, 8, 10, 11}
    asked = _body(state, 10, include_cluster_authorized_operations=True, include_topic_authorized_operations=True)
    assert [t.authorized_operations for t in asked.topics] == [topic_ops, topic_ops]
    assert asked.authorized_operations == {5, 7, 8, 9, 10, 11, 12}
    not_asked = _body(state, 10, include_cluster_authorized_operations=False, include_topic_authorized_operations=False)
    assert [t.authorized_operations for t in not_asked.topics] == [None, None]
    assert not_asked.authorized_operations is None
