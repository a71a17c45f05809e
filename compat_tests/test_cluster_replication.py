"""Replication in a simulated 3-node cluster, driven by real clients (confluent-kafka, kafka-python).

acks=all on RF=3 waits for the ISR; min.insync.replicas=2 keeps producing with one node
stopped and refuses with NOT_ENOUGH_REPLICAS with two; leaders move when a node stops; a
restarted node catches up and its copy on disk (under node-K) equals the leader's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic as KafkaNewTopic
from kafka.protocol.consumer import (
    FetchRequest,
    FetchResponse,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
)
from kafka.protocol.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder

from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient
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


# ---- epochs after a leader change, as a 3-node Kafka 4.4 answers them (checked with ReferenceKafka(nodes=3)) ----


def _raw_partition(address: str, topic: str) -> Any:
    with RawClient(address) as raw:
        md = raw.call(MetadataRequest(version=12, topics=[(None, topic)], allow_auto_topic_creation=False),
                      MetadataResponse)
    return md, md.topics[0].partitions[0]


def _address(md: Any, node_id: int) -> str:
    (broker,) = [b for b in md.brokers if b.node_id == node_id]
    return f"{broker.host}:{broker.port}"


def _one_record() -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    builder.append(0, b"k", b"v", [])
    builder.close()
    return bytes(builder.buffer())


def test_epochs_fence_and_diverge_after_a_leader_change(cluster: Broker) -> None:
    topic = _create(cluster)
    first = cluster.bootstrap_servers.split(",")[0]
    md, p = _raw_partition(first, topic)
    old = p.leader_id
    with RawClient(_address(md, old)) as raw:
        for _ in range(3):
            raw.call(ProduceRequest(version=9, transactional_id=None, acks=-1, timeout_ms=5000,
                                    topic_data=[(topic, [(0, _one_record())])]), ProduceResponse)
    cluster.stop_node(old)
    other = next(b for b in md.brokers if b.node_id != old)
    md, p = _raw_partition(f"{other.host}:{other.port}", topic)
    assert p.leader_id not in (old, -1) and p.leader_epoch == 1 and list(p.offline_replicas) == [old]
    with RawClient(_address(md, p.leader_id)) as raw:
        produced = raw.call(ProduceRequest(version=9, transactional_id=None, acks=-1, timeout_ms=5000,
                                           topic_data=[(topic, [(0, _one_record())])]), ProduceResponse)
        assert produced.responses[0].partition_responses[0].base_offset == 3

        def fetch(epoch: int, offset: int, last: int) -> Any:
            response = raw.call(FetchRequest(version=12, replica_id=-1, max_wait_ms=0, min_bytes=1,
                                             max_bytes=1 << 20, isolation_level=0, session_id=0, session_epoch=-1,
                                             topics=[(topic, [(0, epoch, offset, last, -1, 1 << 20)])],
                                             forgotten_topics_data=[], rack_id=""), FetchResponse)
            return response.responses[0].partitions[0]

        def end_of(epoch: int, current: int) -> tuple[int, int, int]:
            response = raw.call(OffsetForLeaderEpochRequest(version=4, replica_id=-1,
                                                            topics=[(topic, [(0, current, epoch)])]),
                                OffsetForLeaderEpochResponse)
            part = response.topics[0].partitions[0]
            return part.error_code, part.leader_epoch, part.end_offset

        assert fetch(0, 0, -1).error_code == 74  # FENCED_LEADER_EPOCH
        diverged = fetch(1, 5, 0)
        assert diverged.error_code == 0 and diverged.high_watermark == 4
        assert (diverged.diverging_epoch.epoch, diverged.diverging_epoch.end_offset) == (0, 3)
        assert end_of(0, 1) == (0, 0, 3)
        assert end_of(1, 1) == (0, 1, 4)
        assert end_of(0, 0) == (74, -1, -1)


def test_consumer_detects_truncation_after_an_unclean_election(cluster: Broker) -> None:
    """Node B misses records 5..9; with A stopped, B leads uncleanly; A's extra records are lost.

    kafka-python, having read 0..9, fetches on with last_fetched_epoch 0: the new leader answers
    diverging_epoch (0, 5), the consumer validates with OffsetForLeaderEpoch, seeks back to 5 and
    reads what B wrote since (KIP-320).
    """
    name = f"unclean-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.create_topics([KafkaNewTopic(name, num_partitions=-1, replication_factor=-1, replica_assignments={0: [1, 2]},
                                       topic_configs={"unclean.leader.election.enable": "true"})])
    admin.close()
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "1"})

    def send(values: list[str]) -> None:
        for value in values:
            producer.produce(name, value=value.encode(), partition=0)
        assert producer.flush(30) == 0

    send([f"old{i}" for i in range(5)])
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, auto_offset_reset="earliest",
                             consumer_timeout_ms=500)
    consumer.assign([TopicPartition(name, 0)])
    try:
        cluster.stop_node(2)
        send([f"lost{i}" for i in range(5)])  # only node 1 has offsets 5..9
        seen: list[bytes] = []
        wait_for(lambda: seen.extend(m.value for m in consumer) or len(seen) >= 10, timeout=20,
                 what="the consumer reading 0..9")
        assert seen == [f"old{i}".encode() for i in range(5)] + [f"lost{i}".encode() for i in range(5)]
        cluster.stop_node(1)
        cluster.start_node(2)  # the only live replica, out of sync: it leads (unclean), 5..9 are gone
        assert _partition(cluster, name)[0] == 2
        send([f"new{i}" for i in range(3)])
        after: list[tuple[int, bytes]] = []
        wait_for(lambda: after.extend((m.offset, m.value) for m in consumer) or (7, b"new2") in after, timeout=20,
                 what="the consumer reading past the truncation")
        # Seeking back to the divergence point (5) is KIP-320's answer; a client that had lost its
        # last fetched epoch would reset to the earliest offset instead. Either way the lost records
        # never come back and the new ones are read at the offsets the new leader gave them.
        assert [r for r in after if r[0] >= 5] == [(5 + i, f"new{i}".encode()) for i in range(3)]
        assert not any(value.startswith(b"lost") for _, value in after)
    finally:
        consumer.close()
    cluster.start_node(1)  # the old leader truncates to the new leader's log and follows it
    wait_for(lambda: sorted(_partition(cluster, name)[2]) == [1, 2], what="node 1 back in the ISR")
    assert _segment_bytes(cluster, 1, name) == _segment_bytes(cluster, 2, name)
