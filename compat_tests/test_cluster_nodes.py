"""A simulated cluster in one process (``Broker(brokers=3)``) seen by real clients.

Each node has its own port and answers for itself: Metadata lists the three, a replicated topic
shows its replicas, clients bootstrapped from any node are sent to the leaders, a request sent
straight to a node that does not lead the partition is refused as Kafka refuses it, and a
stopped node's port closes until it starts again. The shapes that can be compared are checked
against a three-node Apache Kafka (``ReferenceKafka(nodes=3)``) when a JVM is available.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.protocol.admin import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreateTopicsRequest,
    CreateTopicsResponse,
)
from kafka.protocol.consumer import (
    FetchRequest,
    FetchResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
)
from kafka.protocol.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.metadata.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder

from compat_tests.brokerproc import free_port
from compat_tests.conftest import poll_values, wait_for
from compat_tests.rawclient import RawClient
from kafkalite import Broker
from kafkalite.broker.nodes import UnknownNode
from kafkalite.conformance.reference import KAFKA_VERSION, ReferenceKafka, java_available

NOT_LEADER_OR_FOLLOWER = 6
NOT_COORDINATOR = 16
INVALID_REPLICATION_FACTOR = 38
INVALID_REPLICA_ASSIGNMENT = 39


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One 3-node cluster for the tests that do not stop nodes."""
    with Broker(brokers=3, data_dir=tmp_path_factory.mktemp("cluster") / "data") as broker:
        yield broker


@pytest.fixture(scope="module")
def reference_cluster() -> Iterator[ReferenceKafka]:
    """Apache Kafka as a 3-node quorum; skipped without a JVM."""
    if not java_available():
        pytest.skip(f"Apache Kafka {KAFKA_VERSION} needs java and mvn on PATH")
    kafka = ReferenceKafka(nodes=3).start()
    yield kafka
    kafka.stop()


def _addresses(bootstrap: str) -> list[str]:
    return bootstrap.split(",")


def _metadata(address: str, topics: list[str] | None = None) -> Any:
    with RawClient(address) as raw:
        wanted = None if topics is None else [(None, t) for t in topics]
        return raw.call(MetadataRequest(version=12, topics=wanted, allow_auto_topic_creation=False), MetadataResponse)


def _create(bootstrap: str, name: str, partitions: int, replication: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, replication)])[name].result(30)

    def everywhere() -> bool:  # every node's metadata has the topic with its leaders
        return all(
            (t := _metadata(a, [name]).topics[0]).error_code == 0 and len(t.partitions) == partitions
            for a in _addresses(bootstrap)
        )

    wait_for(everywhere, what=f"topic {name} in every node's metadata")


def _partitions(address: str, name: str) -> dict[int, Any]:
    (topic,) = _metadata(address, [name]).topics
    return {p.partition_index: p for p in topic.partitions}


def _address_of(metadata: Any, node_id: int) -> str:
    (broker,) = [b for b in metadata.brokers if b.node_id == node_id]
    return f"{broker.host}:{broker.port}"


def _records(value: bytes = b"v") -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    builder.append(0, b"k", value, [])
    builder.close()
    return bytes(builder.buffer())


# ---- what every node tells ---------------------------------------------------------------------


def test_metadata_lists_three_brokers_on_distinct_ports(cluster: Broker) -> None:
    addresses = _addresses(cluster.bootstrap_servers)
    assert len(addresses) == 3 and len(set(addresses)) == 3
    assert cluster.node_ids == [1, 2, 3]
    for address in addresses:
        metadata = _metadata(address)
        assert sorted(b.node_id for b in metadata.brokers) == [1, 2, 3]
        assert sorted(f"{b.host}:{b.port}" for b in metadata.brokers) == sorted(addresses)
        assert metadata.controller_id in (1, 2, 3)
    # kafka-python's admin client sees the same cluster, bootstrapped from node 3 alone.
    admin = KafkaAdminClient(bootstrap_servers=addresses[2], request_timeout_ms=10000)
    try:
        described = admin.describe_cluster()
    finally:
        admin.close()
    assert sorted(b["broker_id"] for b in described["brokers"]) == [1, 2, 3]


def test_replicated_topic_shows_its_replicas_and_isr(cluster: Broker) -> None:
    name = f"rf3-{uuid.uuid4().hex[:8]}"
    _create(cluster.bootstrap_servers, name, 3, 3)
    partitions = _partitions(_addresses(cluster.bootstrap_servers)[1], name)
    for p in partitions.values():
        assert sorted(p.replica_nodes) == [1, 2, 3]
        assert sorted(p.isr_nodes) == [1, 2, 3]
        assert p.offline_replicas == []
        assert p.leader_id in p.replica_nodes
    # confluent-kafka reads the same through its own Metadata request.
    listed = AdminClient({"bootstrap.servers": cluster.bootstrap_servers}).list_topics(name, timeout=10)
    assert sorted(b.id for b in listed.brokers.values()) == [1, 2, 3]
    assert {p.id: sorted(p.replicas) for p in listed.topics[name].partitions.values()} == {
        0: [1, 2, 3], 1: [1, 2, 3], 2: [1, 2, 3]
    }
    # Leaders are spread: three partitions, three different leaders.
    assert sorted(p.leader_id for p in partitions.values()) == [1, 2, 3]


def test_replication_factor_beyond_the_nodes_is_refused(cluster: Broker) -> None:
    name = f"rf4-{uuid.uuid4().hex[:8]}"
    with RawClient(_addresses(cluster.bootstrap_servers)[0]) as raw:
        answer = raw.call(CreateTopicsRequest(version=7, topics=[(name, 1, 4, [], [])], timeout_ms=10000,
                                              validate_only=False), CreateTopicsResponse)
    (topic,) = answer.topics
    assert (topic.error_code, topic.error_message) == (
        INVALID_REPLICATION_FACTOR,
        "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached "
        "because only 3 broker(s) are registered or some brokers have all their log directories cordoned.",
    )


def _assignment_answers(address: str) -> dict[str, tuple[int, str | None]]:
    """CreateTopics / CreatePartitions with manual assignments, good and bad, as one node answers."""
    stem = f"m-{uuid.uuid4().hex[:8]}"
    answers: dict[str, tuple[int, str | None]] = {}
    with RawClient(address) as raw:
        for case, assignment in {
            "unknown": [[1, 7]], "twice": [[1, 1]], "empty": [[]], "uneven": [[1, 2], [3]], "ok": [[2, 3], [3, 1]],
        }.items():
            request = CreateTopicsRequest(version=7, topics=[(f"{stem}-{case}", -1, -1, list(enumerate(assignment)),
                                                               [])], timeout_ms=10000, validate_only=False)
            (topic,) = raw.call(request, CreateTopicsResponse).topics
            answers[case] = (topic.error_code, topic.error_message)
        for case, count, assignment in [("grow-unknown", 3, [[1, 9]]), ("grow-short", 3, [[1]]),
                                        ("grow-twice", 3, [[1, 1]]), ("grow-extra", 3, [[1, 2], [2, 3]]),
                                        ("grow-ok", 3, [[1, 2]])]:
            request = CreatePartitionsRequest(version=3, topics=[(f"{stem}-ok", count, assignment)],
                                              timeout_ms=10000, validate_only=False)
            (result,) = raw.call(request, CreatePartitionsResponse).results
            answers[case] = (result.error_code, result.error_message)
    return answers


EXPECTED_ASSIGNMENT_ANSWERS = {
    "unknown": (INVALID_REPLICA_ASSIGNMENT,
                "The manual partition assignment includes broker 7, but no such broker is registered."),
    "twice": (INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes the broker 1 more than once."),
    "empty": (INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."),
    "uneven": (INVALID_REPLICA_ASSIGNMENT,
               "The manual partition assignment includes a partition with 1 replica(s), but this is not "
               "consistent with previous partitions, which have 2 replica(s)."),
    "ok": (0, None),
    "grow-unknown": (INVALID_REPLICA_ASSIGNMENT,
                     "The manual partition assignment includes broker 9, but no such broker is registered."),
    "grow-short": (INVALID_REPLICA_ASSIGNMENT,
                   "The manual partition assignment includes a partition with 1 replica(s), but this is not "
                   "consistent with previous partitions, which have 2 replica(s)."),
    "grow-twice": (INVALID_REPLICA_ASSIGNMENT,
                   "The manual partition assignment includes the broker 1 more than once."),
    "grow-extra": (INVALID_REPLICA_ASSIGNMENT,
                   "Attempted to add 1 additional partition(s), but only 2 assignment(s) were specified."),
    "grow-ok": (0, None),
}


def test_manual_assignments_are_checked_against_the_nodes(cluster: Broker) -> None:
    address = _addresses(cluster.bootstrap_servers)[0]
    assert _assignment_answers(address) == EXPECTED_ASSIGNMENT_ANSWERS


def test_manual_assignments_answered_as_a_three_node_kafka(reference_cluster: ReferenceKafka) -> None:
    assert _assignment_answers(_addresses(reference_cluster.bootstrap)[0]) == EXPECTED_ASSIGNMENT_ANSWERS


def test_manual_assignment_is_what_metadata_shows(cluster: Broker) -> None:
    name = f"manual-{uuid.uuid4().hex[:8]}"
    with RawClient(_addresses(cluster.bootstrap_servers)[0]) as raw:
        request = CreateTopicsRequest(version=7, topics=[(name, -1, -1, [(0, [3, 1]), (1, [2, 3])], [])],
                                      timeout_ms=10000, validate_only=False)
        assert raw.call(request, CreateTopicsResponse).topics[0].error_code == 0
    partitions = _partitions(_addresses(cluster.bootstrap_servers)[1], name)
    assert {i: (p.leader_id, p.replica_nodes) for i, p in partitions.items()} == {0: (3, [3, 1]), 1: (2, [2, 3])}


# ---- clients find the leaders -------------------------------------------------------------------


@pytest.mark.parametrize("node", [1, 2, 3])
def test_produce_and_consume_bootstrapping_from_any_node(cluster: Broker, node: int) -> None:
    name = f"any-{node}-{uuid.uuid4().hex[:8]}"
    _create(cluster.bootstrap_servers, name, 3, 3)
    host, port = cluster.node_address(node)
    one = f"{host}:{port}"
    producer = Producer({"bootstrap.servers": one, "enable.idempotence": True, "acks": "all"})
    reports: list[Any] = []
    for i in range(30):
        producer.produce(name, key=str(i).encode(), value=f"v{i}".encode(), partition=i % 3,
                         on_delivery=lambda err, msg: reports.append(err))
    assert producer.flush(30) == 0
    assert reports == [None] * 30
    # kafka-python, bootstrapped from another single node, reads every partition back.
    other = cluster.node_address(node % 3 + 1)
    consumer = KafkaConsumer(name, bootstrap_servers=f"{other[0]}:{other[1]}", auto_offset_reset="earliest",
                             consumer_timeout_ms=15000, group_id=None)
    try:
        seen = set()
        for message in consumer:
            seen.add(message.value)
            if len(seen) == 30:
                break
    finally:
        consumer.close()
    assert seen == {f"v{i}".encode() for i in range(30)}


def test_consumer_group_over_the_cluster(cluster: Broker) -> None:
    """confluent-kafka's group consumer finds its coordinator (FindCoordinator) and commits there."""
    name = f"group-{uuid.uuid4().hex[:8]}"
    _create(cluster.bootstrap_servers, name, 3, 3)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all")
    for i in range(9):
        producer.send(name, value=f"g{i}".encode(), partition=i % 3)
    producer.flush(30)
    producer.close()
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": _addresses(cluster.bootstrap_servers)[2], "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([name])
    try:
        got = poll_values(consumer, 9, timeout=30, what="nine records through the group consumer")
        committed = consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    assert sorted(got) == sorted(f"g{i}".encode() for i in range(9))
    assert sum(tp.offset for tp in committed) == 9


def test_find_coordinator_answers_a_node_address(cluster: Broker) -> None:
    group = f"fc-{uuid.uuid4().hex[:8]}"
    answers = set()
    for address in _addresses(cluster.bootstrap_servers):
        with RawClient(address) as raw:
            response = raw.call(FindCoordinatorRequest(version=4, key_type=0, coordinator_keys=[group]),
                                FindCoordinatorResponse)
        (coordinator,) = response.coordinators
        assert coordinator.error_code == 0
        answers.add((coordinator.node_id, f"{coordinator.host}:{coordinator.port}"))
    (node_id, address), = answers  # every node names the same coordinator
    host, port = cluster.node_address(node_id)
    assert address == f"{host}:{port}"


def test_group_requests_to_another_node_are_not_coordinator(cluster: Broker) -> None:
    group = f"nc-{uuid.uuid4().hex[:8]}"
    with RawClient(_addresses(cluster.bootstrap_servers)[0]) as raw:
        (coordinator,) = raw.call(FindCoordinatorRequest(version=4, key_type=0, coordinator_keys=[group]),
                                  FindCoordinatorResponse).coordinators
    other = next(n for n in cluster.node_ids if n != coordinator.node_id)
    host, port = cluster.node_address(other)
    with RawClient(f"{host}:{port}") as raw:
        join = raw.call(JoinGroupRequest(version=9, group_id=group, session_timeout_ms=10000,
                                         rebalance_timeout_ms=10000, member_id="m-1", group_instance_id=None,
                                         protocol_type="consumer", protocols=[("range", b"")], reason=None),
                        JoinGroupResponse)
        beat = raw.call(HeartbeatRequest(version=4, group_id=group, generation_id=1, member_id="m-1",
                                         group_instance_id=None), HeartbeatResponse)
    assert (join.error_code, join.generation_id, join.member_id, join.members) == (NOT_COORDINATOR, -1, "", [])
    assert beat.error_code == NOT_COORDINATOR


# ---- a request sent to the wrong node ------------------------------------------------------------


def _non_leader_answers(bootstrap: str, name: str) -> dict[str, Any]:
    """Produce (v9 and v11), ListOffsets and Fetch sent straight to nodes that do not lead partition 0."""
    first = _addresses(bootstrap)[0]
    metadata = _metadata(first, [name])
    (topic,) = metadata.topics
    (p0,) = [p for p in topic.partitions if p.partition_index == 0]
    outsider = next(b.node_id for b in metadata.brokers if b.node_id not in p0.replica_nodes)
    address = _address_of(metadata, outsider)
    leader = (p0.leader_id, _address_of(metadata, p0.leader_id))
    with RawClient(address) as raw:
        old = raw.call(ProduceRequest(version=9, transactional_id=None, acks=-1, timeout_ms=5000,
                                      topic_data=[(name, [(0, _records())])]), ProduceResponse)
        new = raw.call(ProduceRequest(version=11, transactional_id=None, acks=-1, timeout_ms=5000,
                                      topic_data=[(name, [(0, _records())])]), ProduceResponse)
        listed = raw.call(ListOffsetsRequest(version=7, replica_id=-1, isolation_level=0,
                                             topics=[(name, [(0, -1, -1)])]), ListOffsetsResponse)
        fetched = raw.call(FetchRequest(version=12, replica_id=-1, max_wait_ms=0, min_bytes=1, max_bytes=1 << 20,
                                        isolation_level=0, session_id=0, session_epoch=-1,
                                        topics=[(name, [(0, -1, 0, -1, -1, 1 << 20)])], forgotten_topics_data=[],
                                        rack_id=""), FetchResponse)
    (old_part,) = old.responses[0].partition_responses
    (new_part,) = new.responses[0].partition_responses
    return {
        "produce v9": (old_part.error_code, old_part.base_offset),
        "produce v11": (new_part.error_code, new_part.current_leader.leader_id,
                        [(e.node_id, f"{e.host}:{e.port}") for e in new.node_endpoints]),
        "list offsets": listed.topics[0].partitions[0].error_code,
        "fetch v12": fetched.responses[0].partitions[0].error_code,
        "leader": leader,
    }


def _expected_non_leader(answers: dict[str, Any]) -> dict[str, Any]:
    leader_id, leader_address = answers["leader"]
    return {
        "produce v9": (NOT_LEADER_OR_FOLLOWER, -1),
        "produce v11": (NOT_LEADER_OR_FOLLOWER, leader_id, [(leader_id, leader_address)]),
        "list offsets": NOT_LEADER_OR_FOLLOWER,
        "fetch v12": NOT_LEADER_OR_FOLLOWER,
        "leader": (leader_id, leader_address),
    }


def test_request_to_a_node_without_the_partition_is_not_leader(cluster: Broker) -> None:
    name = f"nl-{uuid.uuid4().hex[:8]}"
    _create(cluster.bootstrap_servers, name, 3, 1)
    answers = _non_leader_answers(cluster.bootstrap_servers, name)
    assert answers == _expected_non_leader(answers)


def test_request_to_a_node_without_the_partition_as_kafka(reference_cluster: ReferenceKafka) -> None:
    name = f"nl-{uuid.uuid4().hex[:8]}"
    _create(reference_cluster.bootstrap, name, 3, 1)
    answers = _non_leader_answers(reference_cluster.bootstrap, name)
    assert answers == _expected_non_leader(answers)


def test_kafka_python_low_level_client_is_refused_by_a_follower(cluster: Broker) -> None:
    """kafka-python's own network client sending Produce to a follower gets NOT_LEADER_OR_FOLLOWER."""
    from kafka.net.compat import KafkaNetClient

    name = f"kp-{uuid.uuid4().hex[:8]}"
    _create(cluster.bootstrap_servers, name, 1, 3)
    (p0,) = _partitions(_addresses(cluster.bootstrap_servers)[0], name).values()
    follower = next(n for n in p0.replica_nodes if n != p0.leader_id)
    client = KafkaNetClient(bootstrap_servers=cluster.bootstrap_servers, request_timeout_ms=10000)
    try:
        client.check_version(timeout_ms=10000)  # bootstraps: the cluster's nodes become known
        answer = client.send_and_receive(follower, ProduceRequest(
            version=8, transactional_id=None, acks=1, timeout_ms=5000, topic_data=[(name, [(0, _records())])]
        ), timeout_ms=10000)
    finally:
        client.close()
    (part,) = answer.responses[0].partition_responses
    assert part.error_code == NOT_LEADER_OR_FOLLOWER


# ---- node faults ---------------------------------------------------------------------------------


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_stop_node_closes_its_port_and_start_node_reopens_it(kafka_cluster: Broker) -> None:
    host, port = kafka_cluster.node_address(2)
    connected = socket.create_connection((host, port), timeout=5)
    try:
        kafka_cluster.stop_node(2)
        assert _refused(host, port)
        connected.settimeout(5)
        assert connected.recv(1) == b""  # its open connections were closed
    finally:
        connected.close()
    metadata = _metadata(_addresses(kafka_cluster.bootstrap_servers)[0])
    assert sorted(b.node_id for b in metadata.brokers) == [1, 3]
    kafka_cluster.start_node(2)
    assert kafka_cluster.node_address(2) == (host, port)
    assert sorted(b.node_id for b in _metadata(f"{host}:{port}").brokers) == [1, 2, 3]


def test_stopping_a_leader_moves_its_partitions_and_clients_follow(kafka_cluster: Broker) -> None:
    """An idempotent acks=all producer (confluent-kafka) keeps going across a node's stop and start."""
    name = f"move-{uuid.uuid4().hex[:8]}"
    _create(kafka_cluster.bootstrap_servers, name, 3, 3)
    first = _addresses(kafka_cluster.bootstrap_servers)
    led_by_1 = [i for i, p in _partitions(first[1], name).items() if p.leader_id == 1]
    assert led_by_1
    producer = Producer({"bootstrap.servers": kafka_cluster.bootstrap_servers, "enable.idempotence": True,
                         "acks": "all"})
    errors: list[Any] = []

    def send(values: range) -> None:
        for i in values:
            producer.produce(name, value=str(i).encode(), partition=i % 3,
                             on_delivery=lambda err, msg: errors.append(err) if err is not None else None)
        assert producer.flush(30) == 0

    send(range(0, 60))
    kafka_cluster.stop_node(1)
    moved = _partitions(first[1], name)
    for i in led_by_1:
        assert moved[i].leader_id in (2, 3) and moved[i].leader_epoch > 0
    assert all(p.offline_replicas == [1] for p in moved.values())
    send(range(60, 120))
    kafka_cluster.start_node(1)
    send(range(120, 180))
    assert errors == []
    consumer = KafkaConsumer(name, bootstrap_servers=first[2], auto_offset_reset="earliest", group_id=None,
                             consumer_timeout_ms=15000)
    try:
        values = []
        for message in consumer:
            values.append(int(message.value))
            if len(values) == 180:
                break
    finally:
        consumer.close()
    assert sorted(values) == list(range(180))  # nothing lost, nothing twice


def test_kill_node_cuts_connections_at_once(kafka_cluster: Broker) -> None:
    host, port = kafka_cluster.node_address(3)
    with RawClient(f"{host}:{port}") as raw:
        assert len(raw.call(MetadataRequest(version=12, topics=None, allow_auto_topic_creation=False),
                            MetadataResponse).brokers) == 3
        kafka_cluster.kill_node(3)
        with pytest.raises(OSError):  # reset, or closed: never an answer
            raw.call(MetadataRequest(version=12, topics=None, allow_auto_topic_creation=False), MetadataResponse)
    assert _refused(host, port)
    kafka_cluster.start_node(3)
    assert not _refused(host, port)


def test_unknown_node_is_a_clear_error(kafka_cluster: Broker) -> None:
    with pytest.raises(UnknownNode, match=r"unknown node 7: this cluster's nodes are 1, 2, 3"):
        kafka_cluster.stop_node(7)
    with pytest.raises(ValueError, match="latency_ms must be >= 0"):
        kafka_cluster.set_latency(1, -5)
    kafka_cluster.set_latency(1, 0)
    kafka_cluster.pause_replication(2)
    kafka_cluster.resume_replication(2)


def _serve_three(tmp_path: Any) -> tuple[subprocess.Popen[str], int, str]:
    """``kafkalite serve --brokers 3`` on three consecutive free ports: (process, first port, ready line).

    Another process may take one of the ports between the check and the bind: then it is tried again.
    """
    log_path = tmp_path / "serve.log"
    for _attempt in range(5):
        port = free_port()
        if any(not _refused("127.0.0.1", p) for p in (port + 1, port + 2)):
            continue
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kafkalite", "serve", "--brokers", "3", "--port", str(port),
                 "--data-dir", str(tmp_path / "data")],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line:
            return proc, port, line
        proc.wait(15)
        assert "cannot listen" in log_path.read_text(), log_path.read_text()[-2000:]
    raise AssertionError("no three consecutive free ports")


def test_serve_brokers_flag_lists_every_node(tmp_path: Any) -> None:
    proc, port, line = _serve_three(tmp_path)
    try:
        expected = ",".join(f"127.0.0.1:{p}" for p in (port, port + 1, port + 2))
        assert f"bootstrap.servers={expected} " in line
        metadata = _metadata(f"127.0.0.1:{port + 2}")
        assert sorted((b.node_id, b.port) for b in metadata.brokers) == [(1, port), (2, port + 1), (3, port + 2)]
    finally:
        proc.terminate()
        proc.wait(15)


# ---- the NOT_COORDINATOR answers, as a three-node Kafka gives them ---------------------------------


def _coordinator(address: str, key_type: int, key: str) -> int:
    """The coordinator node of ``key`` (Kafka creates its internal topic on the first ask: polled)."""
    def find() -> int | None:
        with RawClient(address) as raw:
            (found,) = raw.call(FindCoordinatorRequest(version=4, key_type=key_type, coordinator_keys=[key]),
                                FindCoordinatorResponse).coordinators
        return found.node_id if found.error_code == 0 else None

    return wait_for(find, timeout=60, what=f"a coordinator for {key}")


def _not_coordinator_answers(bootstrap: str, topic: str) -> dict[str, str]:
    """Every group and transaction API sent to a node that does not coordinate the key: the whole answers."""
    from kafka.protocol.admin import (
        DeleteGroupsRequest,
        DeleteGroupsResponse,
        DescribeGroupsRequest,
        DescribeGroupsResponse,
        DescribeTransactionsRequest,
        DescribeTransactionsResponse,
    )
    from kafka.protocol.consumer import (
        LeaveGroupRequest,
        LeaveGroupResponse,
        OffsetCommitRequest,
        OffsetCommitResponse,
        OffsetDeleteRequest,
        OffsetDeleteResponse,
        OffsetFetchRequest,
        OffsetFetchResponse,
        SyncGroupRequest,
        SyncGroupResponse,
    )
    from kafka.protocol.producer import (
        AddOffsetsToTxnRequest,
        AddOffsetsToTxnResponse,
        AddPartitionsToTxnRequest,
        AddPartitionsToTxnResponse,
        EndTxnRequest,
        EndTxnResponse,
        InitProducerIdRequest,
        InitProducerIdResponse,
        TxnOffsetCommitRequest,
        TxnOffsetCommitResponse,
    )

    first = _addresses(bootstrap)[0]
    metadata = _metadata(first)
    group, txn = "shape-group", "shape-txn"
    group_home, txn_home = _coordinator(first, 0, group), _coordinator(first, 1, txn)
    group_elsewhere = _address_of(metadata, next(b.node_id for b in metadata.brokers if b.node_id != group_home))
    txn_elsewhere = _address_of(metadata, next(b.node_id for b in metadata.brokers if b.node_id != txn_home))
    answers: dict[str, Any] = {}
    with RawClient(group_elsewhere) as raw:
        answers["JoinGroup v9"] = raw.call(JoinGroupRequest(
            version=9, group_id=group, session_timeout_ms=10000, rebalance_timeout_ms=10000, member_id="m-1",
            group_instance_id=None, protocol_type="consumer", protocols=[("range", b"")], reason=None,
        ), JoinGroupResponse)
        answers["JoinGroup v5"] = raw.call(JoinGroupRequest(
            version=5, group_id=group, session_timeout_ms=10000, rebalance_timeout_ms=10000, member_id="",
            group_instance_id=None, protocol_type="consumer", protocols=[("range", b"")],
        ), JoinGroupResponse)
        answers["SyncGroup v5"] = raw.call(SyncGroupRequest(
            version=5, group_id=group, generation_id=1, member_id="m-1", group_instance_id=None,
            protocol_type="consumer", protocol_name="range", assignments=[],
        ), SyncGroupResponse)
        answers["Heartbeat v4"] = raw.call(HeartbeatRequest(
            version=4, group_id=group, generation_id=1, member_id="m-1", group_instance_id=None,
        ), HeartbeatResponse)
        answers["LeaveGroup v5"] = raw.call(LeaveGroupRequest(
            version=5, group_id=group, members=[("m-1", None, None)],
        ), LeaveGroupResponse)
        answers["OffsetCommit v8"] = raw.call(OffsetCommitRequest(
            version=8, group_id=group, generation_id_or_member_epoch=-1, member_id="", group_instance_id=None,
            topics=[(topic, [(0, 5, -1, None)])],
        ), OffsetCommitResponse)
        answers["OffsetFetch v8"] = raw.call(OffsetFetchRequest(
            version=8, groups=[(group, [(topic, [0])])], require_stable=False,
        ), OffsetFetchResponse)
        answers["OffsetFetch v6"] = raw.call(OffsetFetchRequest(
            version=6, group_id=group, topics=[(topic, [0])], require_stable=False,
        ), OffsetFetchResponse)
        answers["DescribeGroups v5"] = raw.call(DescribeGroupsRequest(
            version=5, groups=[group], include_authorized_operations=False,
        ), DescribeGroupsResponse)
        answers["DeleteGroups v2"] = raw.call(DeleteGroupsRequest(version=2, groups_names=[group]),
                                              DeleteGroupsResponse)
        answers["OffsetDelete v0"] = raw.call(OffsetDeleteRequest(
            version=0, group_id=group, topics=[(topic, [(0,)])],
        ), OffsetDeleteResponse)
        answers["TxnOffsetCommit v3"] = raw.call(TxnOffsetCommitRequest(
            version=3, transactional_id=txn, group_id=group, producer_id=1, producer_epoch=0, generation_id=-1,
            member_id="", group_instance_id=None, topics=[(topic, [(0, 5, -1, None)])],
        ), TxnOffsetCommitResponse)
    with RawClient(txn_elsewhere) as raw:
        answers["InitProducerId v4"] = raw.call(InitProducerIdRequest(
            version=4, transactional_id=txn, transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1,
        ), InitProducerIdResponse)
        answers["AddPartitionsToTxn v3"] = raw.call(AddPartitionsToTxnRequest(
            version=3, v3_and_below_transactional_id=txn, v3_and_below_producer_id=1, v3_and_below_producer_epoch=0,
            v3_and_below_topics=[(topic, [0])],
        ), AddPartitionsToTxnResponse)
        answers["AddOffsetsToTxn v3"] = raw.call(AddOffsetsToTxnRequest(
            version=3, transactional_id=txn, producer_id=1, producer_epoch=0, group_id=group,
        ), AddOffsetsToTxnResponse)
        answers["EndTxn v3"] = raw.call(EndTxnRequest(
            version=3, transactional_id=txn, producer_id=1, producer_epoch=0, committed=True,
        ), EndTxnResponse)
        answers["DescribeTransactions v0"] = raw.call(DescribeTransactionsRequest(
            version=0, transactional_ids=[txn],
        ), DescribeTransactionsResponse)
    # The answers as kafka-python prints them, without the correlation header.
    return {api: repr(response).replace(topic, "<topic>") for api, response in answers.items()}


def test_not_coordinator_answers_as_a_three_node_kafka(cluster: Broker, reference_cluster: ReferenceKafka) -> None:
    name = f"nc-{uuid.uuid4().hex[:8]}"
    _create(cluster.bootstrap_servers, name, 1, 3)
    _create(reference_cluster.bootstrap, name, 1, 3)
    ours = _not_coordinator_answers(cluster.bootstrap_servers, name)
    kafkas = _not_coordinator_answers(reference_cluster.bootstrap, name)
    assert all("error_code=16" in answer for answer in ours.values()), ours
    assert {api: ours[api] for api in ours if ours[api] != kafkas[api]} == {
        api: kafkas[api] for api in ours if ours[api] != kafkas[api]
    }
