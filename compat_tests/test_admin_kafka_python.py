"""The admin API through kafka-python 3's KafkaAdminClient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource, KafkaAdminClient, NewTopic
from kafka.errors import (
    InvalidConfigurationError,
    InvalidPartitionsError,
    OffsetOutOfRangeError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
)

from compat_tests.brokerproc import BrokerProcess


@pytest.fixture
def admin(broker: BrokerProcess) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    yield client
    client.close()


def _produce(broker: BrokerProcess, topic: str, n: int) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(n):
        producer.send(topic, value=f"m{i}".encode(), partition=0)
    producer.flush()
    producer.close()


def _topic_configs(admin: KafkaAdminClient, name: str, config_filter: str = "all") -> dict:
    return admin.describe_configs([ConfigResource("TOPIC", name)], config_filter=config_filter)["topic"][name]


def test_create_validate_only_and_errors(admin: KafkaAdminClient, topic_name: str) -> None:
    admin.create_topics([NewTopic(topic_name, 2, 1, topic_configs={"retention.ms": "1000"})], validate_only=True)
    assert topic_name not in admin.list_topics()
    with pytest.raises(InvalidConfigurationError):
        admin.create_topics([NewTopic(topic_name, 2, 1, topic_configs={"retention.ms": "-5"})])
    admin.create_topics([NewTopic(topic_name, 2, 1, topic_configs={"retention.ms": "1000"})])
    assert topic_name in admin.list_topics()
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics([NewTopic(topic_name, 2, 1)])


def test_describe_and_alter_configs(admin: KafkaAdminClient, topic_name: str) -> None:
    admin.create_topics([NewTopic(topic_name, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    modified = _topic_configs(admin, topic_name, "modified")
    assert set(modified) == {"cleanup.policy"}
    assert modified["cleanup.policy"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    every = _topic_configs(admin, topic_name)
    assert every["retention.ms"]["value"] == "604800000"
    assert every["retention.ms"]["config_source"] == "DEFAULT_CONFIG"

    result = admin.alter_configs(
        [
            ConfigResource(
                "TOPIC",
                topic_name,
                {"retention.ms": "86400000", "cleanup.policy": (AlterConfigOp.APPEND, "delete")},
            )
        ]
    )
    assert result == {"topic": {topic_name: "OK"}}
    every = _topic_configs(admin, topic_name)
    assert every["retention.ms"]["value"] == "86400000"
    assert every["cleanup.policy"]["value"] == "compact,delete"

    # the legacy AlterConfigs path: the client adds the other modified keys itself
    result = admin.alter_configs([ConfigResource("TOPIC", topic_name, {"segment.ms": "600000"})], incremental=False)
    assert result == {"topic": {topic_name: "OK"}}
    every = _topic_configs(admin, topic_name)
    assert (every["segment.ms"]["value"], every["retention.ms"]["value"]) == ("600000", "86400000")

    bad = admin.alter_configs([ConfigResource("TOPIC", topic_name, {"retention.ms": "forever"})])
    assert "InvalidConfigurationError" in bad["topic"][topic_name]

    broker = admin.describe_configs([ConfigResource("BROKER", "1")], config_filter="all")["broker"]["1"]
    assert broker["message.max.bytes"]["value"] == "1048588"
    assert broker["num.partitions"]["read_only"] is True


def test_create_partitions_and_delete_records(admin: KafkaAdminClient, broker: BrokerProcess, topic_name: str) -> None:
    admin.create_topics([NewTopic(topic_name, 1, 1)])
    admin.create_partitions({topic_name: 3})
    assert len(admin.describe_topics([topic_name])[0]["partitions"]) == 3
    with pytest.raises(InvalidPartitionsError):
        admin.create_partitions({topic_name: 2})

    _produce(broker, topic_name, 20)
    tp = TopicPartition(topic_name, 0)
    result = admin.delete_records({tp: 15})
    assert result[tp]["low_watermark"] == 15
    with pytest.raises(OffsetOutOfRangeError):
        admin.delete_records({tp: 21})
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
    assert consumer.beginning_offsets([tp]) == {tp: 15}
    consumer.assign([tp])
    consumer.seek(tp, 3)  # below the log start: OFFSET_OUT_OF_RANGE, reset to earliest
    got: list = []
    for _ in range(40):
        for records in consumer.poll(timeout_ms=250).values():
            got.extend(records)
        if len(got) >= 5:
            break
    consumer.close()
    assert [r.offset for r in got] == list(range(15, 20))


def test_log_dirs_cluster_and_delete(admin: KafkaAdminClient, broker: BrokerProcess, topic_name: str) -> None:
    admin.create_topics([NewTopic(topic_name, 2, 1)])
    _produce(broker, topic_name, 10)
    dirs = admin.describe_log_dirs()
    text = repr(dirs)
    assert topic_name in text
    cluster = admin.describe_cluster()
    assert cluster["controller_id"] == 1 and len(cluster["brokers"]) == 1
    admin.delete_topics([topic_name])
    assert topic_name not in admin.list_topics()
    assert not (broker.data_dir / f"{topic_name}-0").exists()
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics([topic_name])
