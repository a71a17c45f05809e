"""Authorized operations in Metadata, DescribeCluster, DescribeTopicPartitions and DescribeGroups.

Without an authorizer Kafka answers every operation the resource supports when a client asks,
and -2147483648 ("not requested") otherwise. Each check runs against kafkalite and, when a JVM
is available, against Apache Kafka itself.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.protocol.admin import (
    DescribeClusterRequest,
    DescribeGroupsRequest,
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
)
from kafka.protocol.metadata import MetadataRequest

from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient
from kafkalite.protocol.messages import (  # int32 fields, as on the wire
    DescribeClusterResponse,
    DescribeGroupsResponse,
    MetadataResponse,
)

NOT_REQUESTED = -2147483648
TOPIC_OPS = 3576  # READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
CLUSTER_OPS = 8096  # CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE
GROUP_OPS = 3400  # READ DELETE DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS


@pytest.fixture(params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("broker" if request.param == "kafkalite" else "reference_kafka")


def create(bootstrap: str, name: str) -> AdminClient:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, 2, 1)]).values():
        future.result(15)
    return admin


@pytest.mark.parametrize("version", [8, 10, 11, 12, 13])
@pytest.mark.parametrize("include", [False, True])
def test_metadata(target: Any, topic_name: str, version: int, include: bool) -> None:
    create(target.bootstrap, topic_name)
    names = [topic_name, f"missing-{uuid.uuid4().hex[:8]}", "bad/name"]
    flags = {"include_topic_authorized_operations": include}
    if version <= 10:
        flags["include_cluster_authorized_operations"] = include
    topics = [(None, n) if version >= 10 else (n,) for n in names]
    with RawClient(target.bootstrap) as raw:

        def answer() -> Any:
            req = MetadataRequest(version=version, topics=topics, allow_auto_topic_creation=False, **flags)
            resp = raw.call(req, MetadataResponse)
            found = {t.name: t for t in resp.topics}
            return resp if found[topic_name].error_code == 0 else None

        resp = wait_for(answer, what="topic in metadata")
        if version >= 12:  # names by id; Kafka refuses ids below v12 (INVALID_REQUEST)
            unknown_id = raw.call(
                MetadataRequest(version=version, topics=[(uuid.uuid4(), None)], allow_auto_topic_creation=False,
                                **flags), MetadataResponse,
            ).topics[0]
            assert (unknown_id.error_code, unknown_id.topic_authorized_operations) == (100, NOT_REQUESTED)
    expected = TOPIC_OPS if include else NOT_REQUESTED
    got = {t.name: (t.error_code, t.topic_authorized_operations) for t in resp.topics}
    assert got == {topic_name: (0, expected), names[1]: (3, expected), "bad/name": (17, expected)}
    if version <= 10:
        assert resp.cluster_authorized_operations == (CLUSTER_OPS if include else NOT_REQUESTED)


@pytest.mark.parametrize("version", [0, 1, 2])
def test_describe_cluster(target: Any, version: int) -> None:
    with RawClient(target.bootstrap) as raw:
        for include, expected in ((False, NOT_REQUESTED), (True, CLUSTER_OPS)):
            req = DescribeClusterRequest(version=version, include_cluster_authorized_operations=include)
            assert raw.call(req, DescribeClusterResponse).cluster_authorized_operations == expected


def test_describe_topic_partitions(target: Any, topic_name: str) -> None:
    """No flag in this request: every topic answered carries the topic's operations, unknown ones too."""
    create(target.bootstrap, topic_name)
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    cursor = DescribeTopicPartitionsRequest.Cursor
    with RawClient(target.bootstrap) as raw:
        req = DescribeTopicPartitionsRequest(
            version=0, topics=[(topic_name,), (missing,)], response_partition_limit=100, cursor=None
        )
        got = {t.name: (t.error_code, t.topic_authorized_operations)
               for t in raw.call(req, DescribeTopicPartitionsResponse).topics}
        assert got == {topic_name: (0, TOPIC_OPS), missing: (3, TOPIC_OPS)}
        # A cursor outside the named topics: INVALID_REQUEST, and no operations computed.
        req = DescribeTopicPartitionsRequest(
            version=0, topics=[(topic_name,)], response_partition_limit=100,
            cursor=cursor(topic_name="elsewhere", partition_index=0),
        )
        (topic,) = raw.call(req, DescribeTopicPartitionsResponse).topics
        assert (topic.error_code, topic.topic_authorized_operations) == (42, NOT_REQUESTED)


def test_librdkafka_admin_reports_them(target: Any, topic_name: str) -> None:
    admin = create(target.bootstrap, topic_name)
    cluster = admin.describe_cluster(include_authorized_operations=True).result(15)
    assert sorted(op.name for op in cluster.authorized_operations) == [
        "ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"
    ]
    assert admin.describe_cluster().result(15).authorized_operations is None
    topics = TopicCollection([topic_name])
    topic = admin.describe_topics(topics, include_authorized_operations=True)[topic_name].result(15)
    assert sorted(op.name for op in topic.authorized_operations) == [
        "ALTER", "ALTER_CONFIGS", "CREATE", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS", "READ", "WRITE"
    ]
    assert admin.describe_topics(topics)[topic_name].result(15).authorized_operations is None


@pytest.mark.parametrize("version", [2, 3, 5, 6])
def test_describe_groups(target: Any, topic_name: str, version: int) -> None:
    create(target.bootstrap, topic_name)
    group = f"g-{topic_name}"
    consumer = Consumer({"bootstrap.servers": target.bootstrap, "group.id": group, "session.timeout.ms": 6000})
    consumer.subscribe([topic_name])
    try:
        # Only an assignment shows the group joined: poll may first return an error event (the new topic
        # not yet known to the broker answering), which is truthy and came before the group was Stable.
        wait_for(lambda: (consumer.poll(0.1), consumer.assignment())[1], what="group joined")
        with RawClient(target.bootstrap) as raw:
            for include in (False, True):
                req = DescribeGroupsRequest(version=version, groups=[group, f"{group}-none"],
                                            include_authorized_operations=include)
                got = {g.group_id: (g.group_state, g.authorized_operations)
                       for g in raw.call(req, DescribeGroupsResponse).groups}
                ops = GROUP_OPS if include and version >= 3 else NOT_REQUESTED
                unknown_ops = NOT_REQUESTED if version >= 6 else ops  # v6: GROUP_ID_NOT_FOUND, no operations
                assert got == {group: ("Stable", ops), f"{group}-none": ("Dead", unknown_ops)}
    finally:
        consumer.close()
