"""Versions Kafka 4 removed (KIP-896) that kafkalite still serves, sent raw.

kafkalite answers each one as Kafka 3.x did; Apache Kafka 4 closes the connection instead (checked
live when a JVM is available), which is what the README's "Versions beyond Kafka 4" records.
"""

from __future__ import annotations

from typing import Any

import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient
from kafkalite.conformance.reference import ReferenceKafka
from kafkalite.protocol import messages

UNKNOWN_TOPIC_OR_PARTITION = 3
TOPIC_ALREADY_EXISTS = 36


def call(bootstrap: str, api: str, version: int, **fields: Any) -> Any:
    request = getattr(messages, f"{api}Request")(version=version, **fields)
    with RawClient(bootstrap) as raw:
        return raw.call(request, getattr(messages, f"{api}Response"))


def topic_with_records(bootstrap: str, name: str, count: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, 1, 1)])
    admin.close()
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    for i in range(count):
        builder.append(timestamp=None, key=b"k", value=b"v%d" % i, headers=[])
    builder.close()
    with RawClient(bootstrap) as raw:

        def produced() -> bool:
            req = ProduceRequest(version=7, transactional_id=None, acks=-1, timeout_ms=5000,
                                 topic_data=[(name, [(0, bytes(builder.buffer()))])])
            return raw.call(req, ProduceResponse).responses[0].partition_responses[0].error_code == 0

        wait_for(produced, what="first produce")


@pytest.mark.parametrize("version", [0, 1])
def test_create_topics(broker: BrokerProcess, topic_name: str, version: int) -> None:
    extra = {"validate_only": False} if version else {}
    topics = [(topic_name, 3, 1, [], [("cleanup.policy", "compact")])]
    (created,) = call(broker.bootstrap, "CreateTopics", version, topics=topics, timeout_ms=5000, **extra).topics
    assert (created.name, created.error_code) == (topic_name, 0)
    (again,) = call(broker.bootstrap, "CreateTopics", version, topics=topics, timeout_ms=5000, **extra).topics
    assert again.error_code == TOPIC_ALREADY_EXISTS
    if version == 1:
        assert again.error_message == f"Topic '{topic_name}' already exists."
    (res,) = call(broker.bootstrap, "DescribeConfigs", 0, resources=[(2, topic_name, ["cleanup.policy"])]).results
    (policy,) = res.configs
    assert (policy.name, policy.value, policy.is_default) == ("cleanup.policy", "compact", False)


def test_delete_topics_v0(broker: BrokerProcess, topic_name: str) -> None:
    topic_with_records(broker.bootstrap, topic_name, 1)
    (gone,) = call(broker.bootstrap, "DeleteTopics", 0, topic_names=[topic_name], timeout_ms=5000).responses
    assert (gone.name, gone.error_code) == (topic_name, 0)
    (again,) = call(broker.bootstrap, "DeleteTopics", 0, topic_names=[topic_name], timeout_ms=5000).responses
    assert again.error_code == UNKNOWN_TOPIC_OR_PARTITION


def test_describe_configs_v0_marks_defaults(broker: BrokerProcess, topic_name: str) -> None:
    topic_with_records(broker.bootstrap, topic_name, 1)
    (res,) = call(broker.bootstrap, "DescribeConfigs", 0, resources=[(2, topic_name, None)]).results
    configs = {c.name: c for c in res.configs}
    assert configs["retention.ms"].value == "604800000" and configs["retention.ms"].is_default


def test_describe_log_dirs_v0(broker: BrokerProcess, topic_name: str) -> None:
    topic_with_records(broker.bootstrap, topic_name, 5)
    (result,) = call(broker.bootstrap, "DescribeLogDirs", 0, topics=[(topic_name, [0])]).results
    (topic,) = result.topics
    (partition,) = topic.partitions
    assert (topic.name, partition.partition_index) == (topic_name, 0) and partition.partition_size > 0


@pytest.mark.parametrize("version", [0, 1])
def test_offset_for_leader_epoch(broker: BrokerProcess, topic_name: str, version: int) -> None:
    topic_with_records(broker.bootstrap, topic_name, 5)
    response = call(broker.bootstrap, "OffsetForLeaderEpoch", version, topics=[(topic_name, [(0, 0)])])
    (topic,) = response.topics
    (partition,) = topic.partitions
    assert (partition.error_code, partition.end_offset) == (0, 5)
    if version == 1:
        assert partition.leader_epoch == 0


# Produce v0-v2 stay in Kafka 4's ApiVersions answer (librdkafka needs to see them, KAFKA-18659), but
# a request at those versions is refused like the others.
REMOVED = [("Produce", 0), ("Produce", 1), ("Produce", 2), ("Fetch", 0), ("Fetch", 3), ("ListOffsets", 0),
           ("OffsetCommit", 0), ("OffsetCommit", 1), ("OffsetFetch", 0), ("CreateTopics", 0),
           ("CreateTopics", 1), ("DeleteTopics", 0), ("DescribeConfigs", 0), ("DescribeLogDirs", 0),
           ("OffsetForLeaderEpoch", 0), ("OffsetForLeaderEpoch", 1)]


def removed_request(api: str, version: int, topic: str) -> dict[str, Any]:
    """A small well-formed request; tuples fill the fields the version has, in order."""
    return {
        "Produce": {"acks": 1, "timeout_ms": 5000, "topic_data": [(topic, [(0, b"")])]},
        "Fetch": {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 1, "topics": [(topic, [(0, 0, 1024)])]},
        "ListOffsets": {"replica_id": -1, "topics": [(topic, [(0, -1, 1)])]},
        "OffsetCommit": {"group_id": "g", "topics": [(topic, [(0, 0, -1, "")] if version else [(0, 0, "")])]}
        | ({"generation_id_or_member_epoch": -1, "member_id": ""} if version else {}),
        "OffsetFetch": {"group_id": "g", "topics": [(topic, [0])]},
        "CreateTopics": {"topics": [(topic, 1, 1, [], [])], "timeout_ms": 5000}
        | ({"validate_only": False} if version else {}),
        "DeleteTopics": {"topic_names": [topic], "timeout_ms": 5000},
        "DescribeConfigs": {"resources": [(2, topic, None)]},
        "DescribeLogDirs": {"topics": None},
        "OffsetForLeaderEpoch": {"topics": [(topic, [(0, 0)])]},
    }[api]


@pytest.mark.parametrize(("api", "version"), REMOVED)
def test_kafkalite_answers(broker: BrokerProcess, topic_name: str, api: str, version: int) -> None:
    """The same requests the reference refuses get an answer here (the checks above look inside them)."""
    assert call(broker.bootstrap, api, version, **removed_request(api, version, topic_name)) is not None


@pytest.mark.parametrize(("api", "version"), REMOVED)
def test_kafka_4_closes_the_connection(reference_kafka: ReferenceKafka, topic_name: str, api: str,
                                       version: int) -> None:
    """What kafkalite goes beyond: Apache Kafka 4 refuses these versions by closing the connection."""
    with pytest.raises(ConnectionError):
        call(reference_kafka.bootstrap, api, version, **removed_request(api, version, topic_name))
