"""Replication in a simulated 3-node cluster, driven by real clients (confluent-kafka, kafka-python).

acks=all on RF=3 waits for the ISR; min.insync.replicas=2 keeps producing with one node
stopped and refuses with NOT_ENOUGH_REPLICAS with two; leaders move when a node stops; a
restarted node catches up and its copy on disk (under node-K) equals the leader's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from compat_tests.conftest import wait_for
from kafkalite.embedded import Broker


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(brokers=3, data_dir=tmp_path / "data")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _create(cluster: Broker, partitions: int = 1, **configs: str) -> str:
    name = f"repl-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
    admin.create_topics([NewTopic(name, partitions, 3, config=configs)])[name].result(15)
    return name


def _partition(cluster: Broker, topic: str, index: int = 0) -> tuple[int, list[int], list[int]]:
    """(leader, replicas, isr) as Metadata shows them to a client."""
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
    p = admin.list_topics(topic, timeout=10).topics[topic].partitions[index]
    return p.leader, list(p.replicas), list(p.isrs)


def _produce(cluster: Broker, topic: str, n: int, **conf: object) -> list[KafkaError | None]:
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "all", **conf})
    results: list[KafkaError | None] = []
    for i in range(n):
        producer.produce(topic, value=f"v{i}".encode(), partition=0, on_delivery=lambda err, _m: results.append(err))
    assert producer.flush(30) == 0
    return results


def _segment_bytes(cluster: Broker, node: int, topic: str) -> bytes:
    directory = cluster.data_dir / f"node-{node}" / f"{topic}-0"
    return b"".join(p.read_bytes() for p in sorted(directory.glob("*.log")))


def test_acks_all_with_min_isr_two(cluster: Broker) -> None:
    topic = _create(cluster, **{"min.insync.replicas": "2"})
    assert _produce(cluster, topic, 20) == [None] * 20
    leader, replicas, isr = _partition(cluster, topic)
    assert sorted(replicas) == [1, 2, 3] and sorted(isr) == [1, 2, 3]
    follower = next(r for r in replicas if r != leader)
    cluster.stop_node(follower)
    assert _produce(cluster, topic, 10) == [None] * 10
    cluster.stop_node(next(r for r in replicas if r not in (leader, follower)))
    errors = _produce(cluster, topic, 1, **{"message.timeout.ms": 3000, "retries": 0})
    assert errors[0] is not None and errors[0].code() == KafkaError.NOT_ENOUGH_REPLICAS


def test_leader_moves_on_stop_and_a_restarted_node_catches_up(cluster: Broker) -> None:
    topic = _create(cluster)
    assert _produce(cluster, topic, 50, **{"enable.idempotence": True}) == [None] * 50
    leader, _, _ = _partition(cluster, topic)
    cluster.stop_node(leader)
    new_leader, _, isr = _partition(cluster, topic)
    assert new_leader not in (leader, -1) and leader not in isr
    assert _produce(cluster, topic, 30, **{"enable.idempotence": True}) == [None] * 30
    cluster.start_node(leader)
    wait_for(lambda: leader in _partition(cluster, topic)[2], what="the restarted node back in the ISR")
    for node in (1, 2, 3):
        assert (cluster.data_dir / f"node-{node}" / f"{topic}-0").is_dir()
    assert _segment_bytes(cluster, leader, topic) == _segment_bytes(cluster, new_leader, topic)

    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000)
    consumer.assign([TopicPartition(topic, 0)])
    values = [m.value for m in consumer]
    consumer.close()
    assert values == [f"v{i}".encode() for i in range(50)] + [f"v{i}".encode() for i in range(30)]


def test_kafka_python_acks_all_follows_the_leader(cluster: Broker) -> None:
    topic = _create(cluster, **{"min.insync.replicas": "2"})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all", retries=10,
                             retry_backoff_ms=100)
    try:
        for i in range(10):
            producer.send(topic, f"a{i}".encode(), partition=0).get(timeout=15)
        leader, _, _ = _partition(cluster, topic)
        cluster.stop_node(leader)
        for i in range(10):
            producer.send(topic, f"b{i}".encode(), partition=0).get(timeout=30)
    finally:
        producer.close()
    new_leader, _, isr = _partition(cluster, topic)
    assert new_leader != leader and len(isr) == 2
