"""DescribeTopicPartitions in process, the API the Java AdminClient's describeTopics uses (Kafka 3.7+)."""

import asyncio

from kafka.protocol.admin.topics import DescribeTopicPartitionsRequest

from kafkalite.broker.handlers.describe_topic_partitions import handle_describe_topic_partitions
from kafkalite.broker.handlers.registry import RequestContext
from kafkalite.errors import ErrorCode
from kafkalite.protocol.codec import decode_request, encode_response
from kafkalite.protocol.header import RequestHeader

KEY = 75


def describe(state, names, limit=2000, cursor=None):
    """Encode as a client does, decode as the broker does, answer, and check the answer encodes."""
    request = DescribeTopicPartitionsRequest(
        topics=[DescribeTopicPartitionsRequest.TopicRequest(name=n) for n in names],
        response_partition_limit=limit,
        cursor=None if cursor is None else DescribeTopicPartitionsRequest.Cursor(
            topic_name=cursor[0], partition_index=cursor[1]),
    )
    decoded = decode_request(KEY, 0, bytes(request.encode(version=0)))
    ctx = RequestContext(state, RequestHeader(KEY, 0, 1, "test", 0), "127.0.0.1:1")
    body = asyncio.run(handle_describe_topic_partitions(ctx, decoded))
    assert encode_response(KEY, 0, body)
    return body


def listing(body):
    return [(t["name"], t["error_code"], [p["partition_index"] for p in t["partitions"]]) for t in body["topics"]]


def test_named_topics_sorted_with_unknown_ones(state):
    body = describe(state, ["b", "missing", "a"])
    assert listing(body) == [("a", 0, [0, 1, 2]), ("b", 0, [0]),
                             ("missing", int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), [])]
    assert body["next_cursor"] is None
    a = body["topics"][0]
    assert a["topic_id"] == state.cluster.topics["a"].topic_id
    node = state.config.node_id
    leaders = [(p["leader_id"], p["replica_nodes"], p["isr_nodes"]) for p in a["partitions"]]
    assert leaders == [(node, [node], [node])] * 3


def test_pages_follow_the_cursor(state):
    first = describe(state, ["a", "b"], limit=2)
    assert listing(first) == [("a", 0, [0, 1])]
    assert first["next_cursor"] == {"topic_name": "a", "partition_index": 2}
    second = describe(state, ["a", "b"], limit=2, cursor=("a", 2))
    assert listing(second) == [("a", 0, [2]), ("b", 0, [0])]
    assert second["next_cursor"] is None


def test_cursor_topic_outside_the_named_topics_is_an_invalid_request(state):
    # Kafka's DescribeTopicPartitionsRequestHandler throws InvalidRequestException ("topic list should contain
    # the cursor topic"); the error response names every requested topic with that error and no partitions.
    body = describe(state, ["b", "a"], cursor=("c", 0))
    invalid = int(ErrorCode.INVALID_REQUEST)
    assert listing(body) == [("b", invalid, []), ("a", invalid, [])]
    assert body["next_cursor"] is None
    # With no topic list (all topics) the cursor only says where to start, whatever it names.
    assert listing(describe(state, [], cursor=("aa", 0))) == [("b", 0, [0])]
