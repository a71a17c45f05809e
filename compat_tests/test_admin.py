"""The admin API through confluent-kafka's AdminClient (librdkafka) and kafka-python's KafkaAdminClient."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import (
    Consumer,
    ElectionType,
    KafkaError,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)
from kafka.protocol.admin import (
    DescribeConfigsRequest,
    DescribeConfigsResponse,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient


def admin_for(broker: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create(admin: AdminClient, name: str, partitions: int = 1, config: dict[str, str] | None = None, **kw: object):
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})], **kw)
    return futures[name].result(15)


def error_of(future) -> KafkaError:
    with pytest.raises(KafkaException) as info:
        future.result(15)
    return info.value.args[0]


def topic_configs(admin: AdminClient, name: str) -> dict:
    res = ConfigResource(ConfigResource.Type.TOPIC, name)
    return admin.describe_configs([res])[res].result(15)


def produce(
    broker: BrokerProcess, topic: str, values: list[tuple[bytes | None, bytes | None]], each: bool = False, **conf
) -> list:
    """Produce and wait; ``each`` sends one record per request (one batch per record)."""
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, **conf})
    results: list = []
    for key, value in values:
        producer.produce(topic, key=key, value=value, on_delivery=lambda err, msg: results.append((err, msg)))
        if each:
            producer.flush(20)
    assert producer.flush(20) == 0
    return results


def read_to_end(broker: BrokerProcess, topic: str, partition: int = 0) -> list:
    """Every record from the log start to the high watermark of one partition."""
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "reader", "enable.auto.commit": False})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        consumer.assign([TopicPartition(topic, partition, low)])
        out: list = []
        deadline = time.monotonic() + 20
        while (not out or out[-1].offset() < high - 1) and high > low:
            assert time.monotonic() < deadline, "did not reach the high watermark"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append(msg)
        return out
    finally:
        consumer.close()


# ---- CreateTopics ------------------------------------------------------------------------------


def test_create_topic_validate_only_creates_nothing(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name, 3, {"retention.ms": "60000"}, validate_only=True)
    assert topic_name not in admin.list_topics(timeout=10).topics or admin.list_topics(
        topic_name, timeout=10
    ).topics[topic_name].error is not None
    create(admin, topic_name, 3, {"retention.ms": "60000"})
    md = admin.list_topics(timeout=10).topics[topic_name]
    assert len(md.partitions) == 3
    assert topic_configs(admin, topic_name)["retention.ms"].value == "60000"


@pytest.mark.parametrize(
    ("config", "code"),
    [
        ({"retention.ms": "soon"}, KafkaError.INVALID_CONFIG),
        ({"cleanup.policy": "shred"}, KafkaError.INVALID_CONFIG),
        ({"segment.bytes": "1024"}, KafkaError.INVALID_CONFIG),
        ({"no.such.config": "1"}, KafkaError.INVALID_CONFIG),
    ],
)
def test_create_topic_bad_configs(broker: BrokerProcess, topic_name: str, config: dict, code: int) -> None:
    admin = admin_for(broker)
    for validate_only in (True, False):
        fut = admin.create_topics([NewTopic(topic_name, 1, 1, config=config)], validate_only=validate_only)
        assert error_of(fut[topic_name]).code() == code
    assert topic_name not in admin.list_topics(timeout=10).topics


def test_create_topic_name_exists_and_replication(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    bad = admin.create_topics([NewTopic("bad/name", 1, 1)])
    assert error_of(bad["bad/name"]).code() == KafkaError.TOPIC_EXCEPTION
    create(admin, topic_name)
    again = admin.create_topics([NewTopic(topic_name, 1, 1)], validate_only=True)
    assert error_of(again[topic_name]).code() == KafkaError.TOPIC_ALREADY_EXISTS
    rf = admin.create_topics([NewTopic(topic_name + "-rf", 1, 3)])
    assert error_of(rf[topic_name + "-rf"]).code() == KafkaError.INVALID_REPLICATION_FACTOR
    parts = admin.create_topics([NewTopic(topic_name + "-p", 0, 1)])
    assert error_of(parts[topic_name + "-p"]).code() == KafkaError.INVALID_PARTITIONS


# ---- DescribeConfigs ---------------------------------------------------------------------------


def test_describe_topic_configs_sources_and_synonyms(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name, 1, {"cleanup.policy": "compact", "max.message.bytes": "50000"})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    configs = admin.describe_configs([res])[res].result(15)
    policy = configs["cleanup.policy"]
    assert policy.value == "compact" and policy.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert [(s.name, s.value) for s in policy.synonyms.values()][:1] == [("cleanup.policy", "compact")]
    retention = configs["retention.ms"]
    assert retention.value == "604800000" and retention.source == ConfigSource.DEFAULT_CONFIG.value
    # As Kafka: synonyms start at the primary setting, log.retention.ms, which is unset and has no
    # default, so log.retention.hours' default is not listed (conformance: configs/describe-topic-*).
    assert dict(retention.synonyms) == {}
    max_bytes_synonyms = [s.name for s in configs["max.message.bytes"].synonyms.values()]
    assert max_bytes_synonyms == ["max.message.bytes", "message.max.bytes"]
    assert configs["max.message.bytes"].value == "50000"
    assert configs["segment.bytes"].value == "1073741824"
    assert not any(c.is_sensitive for c in configs.values())
    assert "internal.segment.bytes" not in configs
    unknown = ConfigResource(ConfigResource.Type.TOPIC, topic_name + "-missing")
    assert error_of(admin.describe_configs([unknown])[unknown]).code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_broker_configs(broker: BrokerProcess) -> None:
    admin = admin_for(broker)
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    configs = admin.describe_configs([res])[res].result(15)
    assert configs["message.max.bytes"].value == "1048588"
    assert configs["message.max.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["num.partitions"].is_read_only
    assert not configs["log.retention.ms"].is_read_only
    assert configs["log.dirs"].value == str(Path(broker.data_dir).resolve()) or configs["log.dirs"].value == str(
        broker.data_dir
    )
    assert configs["log.dirs"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert [s.name for s in configs["log.retention.ms"].synonyms.values()] == []  # as Kafka, see above
    assert [s.name for s in configs["log.retention.hours"].synonyms.values()] == ["log.retention.hours"]
    with RawClient(broker.bootstrap) as raw:  # clients route broker resources to that broker: ask directly
        req = DescribeConfigsRequest(version=4, resources=[(4, "7", None)], include_synonyms=False)
        resp = raw.call(req, DescribeConfigsResponse)
    assert resp.results[0].error_code == KafkaError.INVALID_REQUEST


def test_config_file_static_values_and_sensitive_hidden(tmp_path: Path) -> None:
    props = tmp_path / "server.properties"
    props.write_text(
        "num.partitions=3\nlog.retention.minutes=30\nssl.key.password=hunter2\nsome.unknown.setting=1\n"
    )
    proc = BrokerProcess(tmp_path / "data", extra_args=["--config", str(props)])
    proc.start()
    try:
        admin = admin_for(proc)
        res = ConfigResource(ConfigResource.Type.BROKER, "1")
        configs = admin.describe_configs([res])[res].result(15)
        assert configs["num.partitions"].value == "3"
        assert configs["num.partitions"].source == ConfigSource.STATIC_BROKER_CONFIG.value
        secret = configs["ssl.key.password"]
        assert secret.is_sensitive and secret.value is None
        assert all(s.value is None for s in secret.synonyms.values())
        name = "cfg-file-topic"
        produce_meta = admin.list_topics(name, timeout=10)  # auto-created with num.partitions
        assert len(produce_meta.topics[name].partitions) == 3
        topic = topic_configs(admin, name)["retention.ms"]
        assert topic.value == str(30 * 60_000)
        assert topic.source == ConfigSource.STATIC_BROKER_CONFIG.value
        assert "unknown configuration 'some.unknown.setting'" in proc.log_text()
    finally:
        proc.stop()


# ---- AlterConfigs / IncrementalAlterConfigs ------------------------------------------------------


def test_incremental_alter_topic_configs(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name, 1, {"retention.ms": "100000"})

    def alter(*entries: ConfigEntry, validate_only: bool = False) -> None:
        res = ConfigResource(ConfigResource.Type.TOPIC, topic_name, incremental_configs=list(entries))
        admin.incremental_alter_configs([res], validate_only=validate_only)[res].result(15)

    alter(ConfigEntry("segment.ms", "3600000", incremental_operation=AlterConfigOpType.SET))
    alter(ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE))
    configs = topic_configs(admin, topic_name)
    assert configs["segment.ms"].value == "3600000"
    assert configs["retention.ms"].value == "604800000"
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value
    alter(ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND))
    assert topic_configs(admin, topic_name)["cleanup.policy"].value == "delete,compact"
    alter(ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT))
    assert topic_configs(admin, topic_name)["cleanup.policy"].value == "compact"
    alter(ConfigEntry("segment.ms", "1", incremental_operation=AlterConfigOpType.SET), validate_only=True)
    assert topic_configs(admin, topic_name)["segment.ms"].value == "3600000"

    bad = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[ConfigEntry("retention.ms", "x", incremental_operation=AlterConfigOpType.SET)],
    )
    assert error_of(admin.incremental_alter_configs([bad])[bad]).code() == KafkaError.INVALID_CONFIG
    append = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.APPEND)],
    )
    assert error_of(admin.incremental_alter_configs([append])[append]).code() == KafkaError.INVALID_CONFIG
    missing = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name + "-nope",
        incremental_configs=[ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET)],
    )
    assert error_of(admin.incremental_alter_configs([missing])[missing]).code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert topic_configs(admin, topic_name)["segment.ms"].value == "3600000"  # unchanged by the failures


@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_legacy_alter_configs_replaces_the_set(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name, 1, {"retention.ms": "100000", "segment.ms": "200000"})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name, set_config={"retention.ms": "300000"})
    admin.alter_configs([res])[res].result(15)
    configs = topic_configs(admin, topic_name)
    assert configs["retention.ms"].value == "300000"
    assert configs["segment.ms"].source == ConfigSource.DEFAULT_CONFIG.value  # not in the new set: reset
    bad = ConfigResource(ConfigResource.Type.TOPIC, topic_name, set_config={"min.cleanable.dirty.ratio": "2"})
    assert error_of(admin.alter_configs([bad])[bad]).code() == KafkaError.INVALID_CONFIG


def test_alter_broker_configs_dynamic_and_static(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.start()
    admin = admin_for(own_broker)
    create(admin, topic_name)
    res = ConfigResource(
        ConfigResource.Type.BROKER,
        "1",
        incremental_configs=[ConfigEntry("log.retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)],
    )
    admin.incremental_alter_configs([res])[res].result(15)
    # the Python clients cannot name the cluster-default resource (""): send the request directly
    with RawClient(own_broker.bootstrap) as raw:
        req = IncrementalAlterConfigsRequest(
            version=1, resources=[(4, "", [("log.segment.bytes", 0, "2097152")])], validate_only=False
        )
        assert raw.call(req, IncrementalAlterConfigsResponse).responses[0].error_code == 0
    topic = topic_configs(admin, topic_name)
    assert topic["retention.ms"].value == "7200000"
    assert topic["retention.ms"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    assert topic["segment.bytes"].value == "2097152"
    assert topic["segment.bytes"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    static = ConfigResource(
        ConfigResource.Type.BROKER,
        "1",
        incremental_configs=[ConfigEntry("log.dirs", "/tmp/x", incremental_operation=AlterConfigOpType.SET)],
    )
    err = error_of(admin.incremental_alter_configs([static])[static])
    assert err.code() == KafkaError.INVALID_REQUEST and "Cannot update these configs dynamically" in err.str()
    # dynamic broker configs survive a restart
    own_broker.stop()
    own_broker.start()
    admin = admin_for(own_broker)
    assert topic_configs(admin, topic_name)["retention.ms"].value == "7200000"
    bres = ConfigResource(ConfigResource.Type.BROKER, "1")
    described = admin.describe_configs([bres])[bres].result(15)
    assert described["log.retention.ms"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    with RawClient(own_broker.bootstrap) as raw:
        req = DescribeConfigsRequest(version=4, resources=[(4, "", None)], include_synonyms=True)
        result = raw.call(req, DescribeConfigsResponse).results[0]
    assert result.error_code == 0
    # min.insync.replicas: the cluster-level value Kafka 4 writes when the cluster is formatted
    assert sorted((c.name, c.value, c.config_source) for c in result.configs) == [
        ("log.segment.bytes", "2097152", 3),
        ("min.insync.replicas", "1", 3),
    ]


def test_max_message_bytes_applies_to_the_next_produce(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name)
    assert produce(broker, topic_name, [(None, b"x" * 5000)])[0][0] is None
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[ConfigEntry("max.message.bytes", "1000", incremental_operation=AlterConfigOpType.SET)],
    )
    admin.incremental_alter_configs([res])[res].result(15)
    err, _ = produce(broker, topic_name, [(None, b"x" * 5000)], **{"message.timeout.ms": 5000})[0]
    assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE
    assert produce(broker, topic_name, [(None, b"small")])[0][0] is None


def test_segment_size_applies_to_the_next_roll(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name)
    produce(broker, topic_name, [(None, b"v" * 500) for _ in range(20)], each=True)
    directory = broker.data_dir / f"{topic_name}-0"
    assert len(list(directory.glob("*.log"))) == 1
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[
            ConfigEntry("internal.segment.bytes", "2000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([res])[res].result(15)
    produce(broker, topic_name, [(None, b"v" * 500) for _ in range(20)], each=True)
    assert len(list(directory.glob("*.log"))) > 3
    assert [m.value() for m in read_to_end(broker, topic_name)] == [b"v" * 500] * 40


def test_topic_compression_type_recompresses(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name, 1, {"compression.type": "gzip"})
    values = [(f"k{i}".encode(), (f"value-{i}-" * 30).encode()) for i in range(50)]
    produce(broker, topic_name, values, **{"compression.type": "lz4", "linger.ms": 20})
    data = (broker.data_dir / f"{topic_name}-0" / "00000000000000000000.log").read_bytes()
    attributes = int.from_bytes(data[21:23], "big")
    assert attributes & 0x07 == 1  # gzip, whatever the producer used
    got = read_to_end(broker, topic_name)
    assert [(m.key(), m.value()) for m in got] == values


# ---- CreatePartitions ----------------------------------------------------------------------------


def test_create_partitions(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name, 2)
    admin.create_partitions([NewPartitions(topic_name, 5)], validate_only=True)[topic_name].result(15)
    assert len(admin.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == 2
    admin.create_partitions([NewPartitions(topic_name, 5)])[topic_name].result(15)
    assert len(admin.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == 5
    shrink = admin.create_partitions([NewPartitions(topic_name, 3)])
    assert error_of(shrink[topic_name]).code() == KafkaError.INVALID_PARTITIONS
    missing = admin.create_partitions([NewPartitions(topic_name + "-x", 3)])
    assert error_of(missing[topic_name + "-x"]).code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    delivered: list = []
    producer.produce(topic_name, value=b"p4", partition=4, on_delivery=lambda e, m: delivered.append((e, m)))
    assert producer.flush(15) == 0
    assert delivered[0][0] is None and delivered[0][1].partition() == 4
    assert [m.value() for m in read_to_end(broker, topic_name, 4)] == [b"p4"]


# ---- DeleteRecords -------------------------------------------------------------------------------


def test_delete_records(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name)
    produce(broker, topic_name, [(None, f"m{i}".encode()) for i in range(30)])
    result = admin.delete_records([TopicPartition(topic_name, 0, 12)])
    deleted = next(iter(result.values())).result(15)
    assert deleted.low_watermark == 12
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "x", "enable.auto.commit": False})
    assert consumer.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10) == (12, 30)
    consumer.close()
    got = read_to_end(broker, topic_name)
    assert [m.offset() for m in got] == list(range(12, 30))
    beyond = admin.delete_records([TopicPartition(topic_name, 0, 31)])
    assert error_of(next(iter(beyond.values()))).code() == KafkaError.OFFSET_OUT_OF_RANGE
    everything = admin.delete_records([TopicPartition(topic_name, 0, -1)])  # -1: up to the high watermark
    assert next(iter(everything.values())).result(15).low_watermark == 30


def test_delete_records_survives_restart(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.start()
    admin = admin_for(own_broker)
    create(admin, topic_name)
    produce(own_broker, topic_name, [(None, f"m{i}".encode()) for i in range(10)])
    next(iter(admin.delete_records([TopicPartition(topic_name, 0, 7)]).values())).result(15)
    checkpoint = (own_broker.data_dir / "log-start-offset-checkpoint").read_text().splitlines()
    assert f"{topic_name} 0 7" in checkpoint
    own_broker.kill9()
    own_broker.start()
    assert [m.offset() for m in read_to_end(own_broker, topic_name)] == [7, 8, 9]


# ---- DeleteTopics --------------------------------------------------------------------------------


def test_delete_topic_while_in_use(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.extra_args = ["--no-auto-create-topics"]
    own_broker.start()
    admin = admin_for(own_broker)
    create(admin, topic_name, 2)
    produce(own_broker, topic_name, [(None, b"before")])
    consumer = Consumer(
        {"bootstrap.servers": own_broker.bootstrap, "group.id": "deleters", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic_name])
    wait_for(lambda: (m := consumer.poll(0.2)) is not None and m.error() is None, what="first record")
    producer = Producer({"bootstrap.servers": own_broker.bootstrap, "message.timeout.ms": 3000})
    admin.delete_topics([topic_name])[topic_name].result(15)
    assert not (own_broker.data_dir / f"{topic_name}-0").exists()
    errors: list = []
    producer.produce(topic_name, value=b"after", on_delivery=lambda e, m: errors.append(e))
    producer.flush(10)
    assert errors and errors[0] is not None
    for _ in range(5):
        consumer.poll(0.2)  # keeps polling a deleted topic without breaking the broker
    consumer.close()
    gone = admin.delete_topics([topic_name])
    assert error_of(gone[topic_name]).code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    # the broker keeps serving, and the name can be reused from scratch
    create(admin, topic_name, 1)
    produce(own_broker, topic_name, [(None, b"new")])
    assert [(m.offset(), m.value()) for m in read_to_end(own_broker, topic_name)] == [(0, b"new")]


# ---- cluster views -------------------------------------------------------------------------------


def test_describe_cluster_and_elect_leaders(broker: BrokerProcess, topic_name: str) -> None:
    admin = admin_for(broker)
    create(admin, topic_name, 2)
    cluster = admin.describe_cluster().result(15)
    assert cluster.controller.id == 1
    assert [(n.id, n.port) for n in cluster.nodes] == [(1, broker.port)]
    assert cluster.cluster_id
    result = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(topic_name, 0)]).result(15)
    err = result[TopicPartition(topic_name, 0)]
    assert err is not None and err.code() == KafkaError.ELECTION_NOT_NEEDED
    desc = admin.describe_topics(TopicCollection([topic_name]))[topic_name].result(15)
    assert [p.leader.id for p in desc.partitions] == [1, 1]
