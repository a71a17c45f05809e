"""ListOffsets by timestamp never answers an offset a consumer could not fetch yet.

Kafka (Partition.fetchOffsetForTimestamp with ReplicaManager's check) answers a timestamp lookup,
and MAX_TIMESTAMP (-3), as "not found" (offset -1, timestamp -1) when the record it finds stands
at or past the client's last fetchable offset: the high watermark for read_uncommitted, the last
stable offset for read_committed. A follower that lags keeps the high watermark below the log end
(a simulated cluster with one node's replication paused); an open transaction keeps the LSO below
it (one broker, and Apache Kafka itself for comparison when a JVM is available).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.protocol.consumer import ListOffsetsRequest, ListOffsetsResponse
from kafka.protocol.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder

from compat_tests.conftest import kafkalite_or_kafka, wait_for
from compat_tests.rawclient import RawClient
from kafkalite import Broker

LATEST, EARLIEST, MAX_TIMESTAMP = -1, -2, -3
READ_UNCOMMITTED, READ_COMMITTED = 0, 1


def _list_offsets(address: str, topic: str, timestamp: int, isolation: int = READ_UNCOMMITTED) -> tuple[int, int, int]:
    """(error code, offset, timestamp) ListOffsets v7 answers for partition 0."""
    with RawClient(address) as raw:
        response = raw.call(ListOffsetsRequest(version=7, replica_id=-1, isolation_level=isolation,
                                               topics=[(topic, [(0, -1, timestamp)])]), ListOffsetsResponse)
    part = response.topics[0].partitions[0]
    return part.error_code, part.offset, part.timestamp


def _create(bootstrap: str, topic: str, replication: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, replication)])[topic].result(30)


def _leader(address: str, topic: str) -> tuple[int, list[int], dict[int, str]]:
    """Partition 0's leader, its replicas, and every node's address."""
    def found() -> Any:
        with RawClient(address) as raw:
            metadata = raw.call(MetadataRequest(version=12, topics=[(None, topic)], allow_auto_topic_creation=False),
                                MetadataResponse)
        (t,) = metadata.topics
        return metadata if t.error_code == 0 and t.partitions and t.partitions[0].leader_id >= 0 else None

    metadata = wait_for(found, what=f"a leader for {topic}-0")
    p0 = metadata.topics[0].partitions[0]
    return p0.leader_id, list(p0.replica_nodes), {b.node_id: f"{b.host}:{b.port}" for b in metadata.brokers}


def _records(*timestamps: int) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    for ts in timestamps:
        builder.append(ts, b"k", b"v", [])
    builder.close()
    return bytes(builder.buffer())


def test_lookups_stop_at_the_high_watermark_while_a_follower_lags(tmp_path: Any) -> None:
    topic = f"bound-{uuid.uuid4().hex[:8]}"
    with Broker(brokers=3, data_dir=tmp_path / "data") as cluster:
        _create(cluster.bootstrap_servers, topic, 3)
        leader, replicas, addresses = _leader(cluster.bootstrap_servers.split(",")[0], topic)
        follower = next(r for r in replicas if r != leader)
        cluster.pause_replication(follower)
        with RawClient(addresses[leader]) as raw:
            produced = raw.call(ProduceRequest(version=9, transactional_id=None, acks=1, timeout_ms=5000,
                                               topic_data=[(topic, [(0, _records(1000, 2000))])]), ProduceResponse)
        assert produced.responses[0].partition_responses[0].error_code == 0
        leader_address = addresses[leader]
        # The follower has not copied the two records: the high watermark stays at 0.
        assert _list_offsets(leader_address, topic, LATEST) == (0, 0, -1)
        assert _list_offsets(leader_address, topic, 0) == (0, -1, -1)
        assert _list_offsets(leader_address, topic, 1500) == (0, -1, -1)
        assert _list_offsets(leader_address, topic, MAX_TIMESTAMP) == (0, -1, -1)
        cluster.resume_replication(follower)
        wait_for(lambda: _list_offsets(leader_address, topic, LATEST)[1] == 2, what="the high watermark at 2")
        assert _list_offsets(leader_address, topic, 0) == (0, 0, 1000)
        assert _list_offsets(leader_address, topic, 1500) == (0, 1, 2000)
        assert _list_offsets(leader_address, topic, MAX_TIMESTAMP) == (0, 1, 2000)


@pytest.fixture(params=["kafkalite", "kafka"])
def bootstrap(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    with kafkalite_or_kafka(request.param, tmp_path / "data") as address:
        yield address


def test_read_committed_lookups_stop_at_the_last_stable_offset(bootstrap: str) -> None:
    topic = f"bound-txn-{uuid.uuid4().hex[:8]}"
    _create(bootstrap, topic, 1)
    plain = Producer({"bootstrap.servers": bootstrap})
    plain.produce(topic, b"stable", partition=0, timestamp=1000)
    assert plain.flush(30) == 0
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-{topic}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, b"open", partition=0, timestamp=2000)
    producer.flush(30)
    try:
        address = bootstrap.split(",")[0]
        wait_for(lambda: _list_offsets(address, topic, LATEST)[1] == 2, what="the open record written")
        # read_uncommitted sees the open record; read_committed stops before it (LSO 1).
        assert _list_offsets(address, topic, 1500) == (0, 1, 2000)
        assert _list_offsets(address, topic, MAX_TIMESTAMP) == (0, 1, 2000)
        assert _list_offsets(address, topic, LATEST, READ_COMMITTED) == (0, 1, -1)
        assert _list_offsets(address, topic, 0, READ_COMMITTED) == (0, 0, 1000)
        assert _list_offsets(address, topic, 1500, READ_COMMITTED) == (0, -1, -1)
        assert _list_offsets(address, topic, MAX_TIMESTAMP, READ_COMMITTED) == (0, -1, -1)
    finally:
        producer.abort_transaction(30)


def test_a_record_found_answers_the_epoch_that_wrote_it(tmp_path: Any) -> None:
    """After the leader moves, LATEST answers the new epoch; a record found by timestamp, and the
    log start (EARLIEST), the epoch that wrote it, as Kafka's TimestampAndOffset carries it."""
    topic = f"bound-epoch-{uuid.uuid4().hex[:8]}"
    with Broker(brokers=3, data_dir=tmp_path / "data") as cluster:
        first = cluster.bootstrap_servers.split(",")[0]
        _create(cluster.bootstrap_servers, topic, 3)
        leader, replicas, addresses = _leader(first, topic)
        with RawClient(addresses[leader]) as raw:
            produced = raw.call(ProduceRequest(version=9, transactional_id=None, acks=-1, timeout_ms=5000,
                                               topic_data=[(topic, [(0, _records(1000))])]), ProduceResponse)
        assert produced.responses[0].partition_responses[0].error_code == 0
        cluster.stop_node(leader)
        alive = next(addresses[r] for r in replicas if r != leader)
        new_leader, _, addresses = wait_for(lambda: (found := _leader(alive, topic))[0] != leader and found,
                                            what="a new leader")

        def epochs(timestamp: int) -> tuple[int, int, int]:
            with RawClient(addresses[new_leader]) as raw:
                response = raw.call(ListOffsetsRequest(version=7, replica_id=-1, isolation_level=0,
                                                       topics=[(topic, [(0, -1, timestamp)])]), ListOffsetsResponse)
            part = response.topics[0].partitions[0]
            return part.error_code, part.offset, part.leader_epoch

        latest = epochs(LATEST)
        assert latest[:2] == (0, 1) and latest[2] >= 1
        assert epochs(0) == (0, 0, 0)
        assert epochs(MAX_TIMESTAMP) == (0, 0, 0)
        assert epochs(EARLIEST) == (0, 0, 0)
