"""The APIs of several brokers and log dirs on one broker: kafka-python's own integration tests, then the protocol.

First kafka-python's tests for these APIs (test/integration/test_admin_integration.py of kafka-python
3.0.11: test_elect_leaders, test_describe_log_dirs, test_alter_replica_log_dirs,
test_describe_metadata_quorum, test_alter_partition_reassignments, test_list_partition_reassignments,
test_list_config_resources), ported check for check. Then what those clients hide, at the protocol
level: Kafka's error codes and messages for reassignments, elections, log-dir moves, the quorum's
fields and ListConfigResources' types and order. Every test runs on kafkalite and, with a JVM, on a
one-node Apache Kafka 4.4, so each expectation is Kafka's own (the 3-node behaviours were checked on
``ReferenceKafka(nodes=3)``; the cluster tests live beside the cluster work).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import ElectionType, KafkaError
from confluent_kafka import TopicPartition as CkTopicPartition
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import ElectionNotNeededError, NoError
from kafka.structs import TopicPartition, TopicPartitionReplica

from compat_tests.conftest import kafkalite_or_kafka, wait_for
from compat_tests.rawclient import RawClient
from kafkalite.embedded import Broker
from kafkalite.protocol import codec

pytestmark = pytest.mark.timeout(180)

UNKNOWN_TOPIC_OR_PARTITION = 3
REPLICA_NOT_AVAILABLE = 9
UNSUPPORTED_VERSION = 35
INVALID_REPLICATION_FACTOR = 38
INVALID_REPLICA_ASSIGNMENT = 39
INVALID_REQUEST = 42
LOG_DIR_NOT_FOUND = 57
PREFERRED_LEADER_NOT_AVAILABLE = 80
ELECTION_NOT_NEEDED = 84
NO_REASSIGNMENT_IN_PROGRESS = 85


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def bootstrap(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with kafkalite_or_kafka(request.param, tmp_path_factory.mktemp("cluster-admin") / "data") as address:
        yield address


@pytest.fixture
def kafka_admin_client(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield client
    client.close()


@pytest.fixture
def topic(kafka_admin_client: KafkaAdminClient) -> str:
    """kafka-python's fixture: a new topic of 4 partitions (its broker's num.partitions), replication 1."""
    name = f"cluster-admin-{uuid.uuid4().hex[:10]}"
    kafka_admin_client.create_topics([NewTopic(name, 4, 1)])
    wait_for(lambda: _leaders_known(kafka_admin_client, name), what=f"leaders of {name}")
    return name


def _leaders_known(admin: KafkaAdminClient, name: str) -> bool:
    described = admin.describe_topics([name])[0]
    return described["error_code"] == 0 and all(p["leader_id"] >= 0 for p in described["partitions"])


def call(bootstrap: str, key: int, version: int, **fields: Any) -> Any:
    request_class, response_class = codec.message_classes(key)  # type: ignore[misc]
    with RawClient(bootstrap.split(",")[0]) as raw:
        return raw.call(request_class(version=version, **fields), response_class)


def node_id(bootstrap: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return int(admin._manager.cluster.brokers().pop().node_id)
    finally:
        admin.close()


# ---- kafka-python's integration tests -------------------------------------------------------------


def test_elect_leaders(kafka_admin_client: KafkaAdminClient, topic: str) -> None:
    topic_metadata = kafka_admin_client.describe_topics([topic])[0]
    assert topic_metadata["name"] == topic
    partitions = [p["partition_index"] for p in topic_metadata["partitions"]]
    election_type = 0  # Preferred
    # When Leader Election is not needed (cluster is stable), error 84 is returned
    response = kafka_admin_client.elect_leaders(election_type, {topic: partitions})
    assert len(response.replica_election_results) == 1
    result = response.replica_election_results[0]
    assert result[0] == topic
    partition_set = set(partitions)
    for partition in result[1]:
        assert partition[0] in partition_set
        partition_set.remove(partition[0])
        assert partition[1] == ElectionNotNeededError.errno
    assert partition_set == set()


def test_describe_log_dirs(kafka_admin_client: KafkaAdminClient) -> None:
    log_dirs = kafka_admin_client.describe_log_dirs()
    assert log_dirs
    broker_map = {result["broker"]: result for result in log_dirs}
    for broker in kafka_admin_client._manager.cluster.brokers():
        assert broker.node_id in broker_map
        assert len(broker_map[broker.node_id]["log_dirs"]) > 0
        for log_dir in broker_map[broker.node_id]["log_dirs"]:
            assert "log_dir" in log_dir
            assert log_dir["error_code"] == 0


def test_alter_replica_log_dirs(kafka_admin_client: KafkaAdminClient, topic: str) -> None:
    log_dirs = kafka_admin_client.describe_log_dirs()
    target_dir = log_dirs[0]["log_dirs"][0]["log_dir"]
    broker_id = log_dirs[0]["broker"]
    tpr = TopicPartitionReplica(topic, 0, broker_id)
    result = kafka_admin_client.alter_replica_log_dirs({tpr: target_dir})
    assert tpr in result
    # Moving a replica to its current log dir is a no-op that returns NoError.
    assert result[tpr] is NoError


def test_describe_metadata_quorum(kafka_admin_client: KafkaAdminClient) -> None:
    result = kafka_admin_client.describe_metadata_quorum()
    assert "error_code" not in result
    assert "error_message" not in result
    assert len(result["topics"]) == 1
    t = result["topics"][0]
    assert t["topic_name"] == "__cluster_metadata"
    assert len(t["partitions"]) == 1
    p = t["partitions"][0]
    assert p["partition_index"] == 0
    assert "error_code" not in p
    assert "error_message" not in p
    assert p["error"] is None
    assert p["leader_id"] >= 0
    assert p["leader_epoch"] >= 0
    assert p["high_watermark"] >= 0
    assert len(p["current_voters"]) >= 1


def test_alter_partition_reassignments(kafka_admin_client: KafkaAdminClient, topic: str) -> None:
    brokers = [b.node_id for b in kafka_admin_client._manager.cluster.brokers()]
    # Single-broker cluster: only valid reassignment target is [broker]
    tp = TopicPartition(topic, 0)
    result = kafka_admin_client.alter_partition_reassignments({tp: brokers})
    assert result == {tp: None}


def test_list_partition_reassignments(kafka_admin_client: KafkaAdminClient, topic: str) -> None:
    # No reassignments in progress on a freshly-created topic
    result = kafka_admin_client.list_partition_reassignments()
    assert isinstance(result, dict)
    # Scoped lookup for specific partitions also returns an (empty) dict
    tp = TopicPartition(topic, 0)
    result = kafka_admin_client.list_partition_reassignments([tp])
    assert isinstance(result, dict)
    for key, value in result.items():
        assert isinstance(key, TopicPartition)
        assert set(value.keys()) == {"replicas", "adding_replicas", "removing_replicas"}


def test_list_config_resources(kafka_admin_client: KafkaAdminClient) -> None:
    result = kafka_admin_client.list_config_resources()
    assert "broker" in result


# ---- the protocol: Kafka's codes and messages -----------------------------------------------------


def test_reassignment_refusals_carry_kafkas_messages(bootstrap: str, topic: str) -> None:
    """Each invalid target is refused alone, with the controller's message; the valid one is accepted."""
    me = node_id(bootstrap)
    other = me + 100
    answer = call(
        bootstrap, 45, 1, timeout_ms=10000, allow_replication_factor_change=True,
        topics=[(topic, [(0, [me]), (1, [me, other]), (2, [me, me]), (3, []), (7, [me])]),
                ("no-such-topic", [(0, [me])])],
    )
    assert answer.error_code == 0 and answer.error_message is None
    got = {(t.name, p.partition_index): (p.error_code, p.error_message) for t in answer.responses for p in t.partitions}
    assert got == {
        (topic, 0): (0, None),
        (topic, 1): (INVALID_REPLICA_ASSIGNMENT,
                     f"The manual partition assignment includes broker {other}, but no such broker is registered."),
        (topic, 2): (INVALID_REPLICA_ASSIGNMENT,
                     f"The manual partition assignment includes the broker {me} more than once."),
        (topic, 3): (INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."),
        (topic, 7): (UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {topic}:7."),
        ("no-such-topic", 0): (UNKNOWN_TOPIC_OR_PARTITION, "Unable to find a topic named no-such-topic."),
    }


def test_reassignment_cancel_and_replication_factor_change(bootstrap: str, topic: str) -> None:
    """Cancelling where nothing moves: NO_REASSIGNMENT_IN_PROGRESS, no message; v1 may forbid an RF change."""
    me = node_id(bootstrap)
    cancel = call(bootstrap, 45, 0, timeout_ms=10000, topics=[(topic, [(0, None)])])
    assert [(p.error_code, p.error_message) for p in cancel.responses[0].partitions] == [
        (NO_REASSIGNMENT_IN_PROGRESS, None)
    ]
    # v1 echoes allow_replication_factor_change; the same replica count passes with it false.
    grow = call(bootstrap, 45, 1, timeout_ms=10000, allow_replication_factor_change=False,
                topics=[(topic, [(0, [me])])])
    assert grow.allow_replication_factor_change is False
    assert [(p.error_code, p.error_message) for p in grow.responses[0].partitions] == [(0, None)]
    empty = call(bootstrap, 45, 1, timeout_ms=10000, allow_replication_factor_change=True, topics=[])
    assert (empty.error_code, empty.error_message, list(empty.responses)) == (0, "", [])
    listed = call(bootstrap, 46, 0, timeout_ms=10000, topics=[(topic, [0, 1, 9]), ("no-such-topic", [0])])
    assert (listed.error_code, listed.error_message, list(listed.topics)) == (0, None, [])


def test_elections_carry_kafkas_messages(bootstrap: str, topic: str) -> None:
    answer = call(bootstrap, 43, 2, election_type=0, timeout_ms=10000,
                  topic_partitions=[(topic, [0, 9]), ("no-such-topic", [1])])
    assert answer.error_code == 0
    got = [(r.topic, p.partition_id, p.error_code, p.error_message)
           for r in answer.replica_election_results for p in r.partition_result]
    assert got == [
        (topic, 0, ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."),
        (topic, 9, UNKNOWN_TOPIC_OR_PARTITION, f"No such partition as {topic}-9"),
        ("no-such-topic", 1, UNKNOWN_TOPIC_OR_PARTITION, "No such topic as no-such-topic"),
    ]
    unclean = call(bootstrap, 43, 1, election_type=1, timeout_ms=10000, topic_partitions=[(topic, [1])])
    assert [p.error_code for p in unclean.replica_election_results[0].partition_result] == [ELECTION_NOT_NEEDED]
    bad = call(bootstrap, 43, 2, election_type=5, timeout_ms=10000, topic_partitions=[(topic, [0])])
    assert bad.error_code == INVALID_REQUEST
    assert [(p.error_code, p.error_message) for p in bad.replica_election_results[0].partition_result] == [
        (INVALID_REQUEST, "Unknown election type 5")
    ]
    everything = call(bootstrap, 43, 2, election_type=0, timeout_ms=10000, topic_partitions=None)
    mine = [r for r in everything.replica_election_results if r.topic == topic]
    assert [list(r.partition_result) for r in mine] == [[]]  # listed, with no partition needing an election


def test_confluent_elect_leaders_unclean_not_needed(bootstrap: str, topic: str) -> None:
    """librdkafka's AdminClient reports Kafka's per-partition ELECTION_NOT_NEEDED for an unclean election."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = [CkTopicPartition(topic, 0), CkTopicPartition(topic, 9)]
    result = admin.elect_leaders(ElectionType.UNCLEAN, wanted).result(15)
    assert result[CkTopicPartition(topic, 0)].code() == KafkaError.ELECTION_NOT_NEEDED
    assert result[CkTopicPartition(topic, 9)].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_alter_replica_log_dirs_errors(bootstrap: str, topic: str) -> None:
    log_dir = call(bootstrap, 35, 4, topics=None).results[0].log_dir
    answer = call(bootstrap, 34, 2, dirs=[(log_dir, [(topic, [0, 9]), ("no-such-topic", [0])]),
                                          (log_dir + "/", [(topic, [1])])])
    got = {(t.topic_name, p.partition_index): p.error_code for t in answer.results for p in t.partitions}
    assert got == {(topic, 0): 0, (topic, 9): UNKNOWN_TOPIC_OR_PARTITION,
                   ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION, (topic, 1): LOG_DIR_NOT_FOUND}


def test_describe_log_dirs_sizes_and_filters(bootstrap: str, topic: str) -> None:
    def described() -> Any:
        # Kafka creates a new topic's logs a moment after its metadata shows the leaders.
        (result,) = call(bootstrap, 35, 4, topics=[(topic, [0, 1, 9]), ("no-such-topic", [0])]).results
        return result if sum(len(t.partitions) for t in result.topics) == 2 else None

    result = wait_for(described, what="both partitions in DescribeLogDirs")
    assert result.error_code == 0 and result.total_bytes >= result.usable_bytes > 0
    assert [(t.name, sorted(p.partition_index for p in t.partitions)) for t in result.topics] == [(topic, [0, 1])]
    assert all(p.offset_lag == 0 and not p.is_future_key for t in result.topics for p in t.partitions)


def test_describe_quorum_fields(bootstrap: str) -> None:
    me = node_id(bootstrap)
    before = int(time.time() * 1000)
    answer = call(bootstrap, 55, 2, topics=[("__cluster_metadata", [(0,)])])
    assert (answer.error_code, answer.error_message) == (0, "")
    (part,) = answer.topics[0].partitions
    assert (part.error_code, part.error_message, part.leader_id) == (0, "", me)
    assert part.leader_epoch >= 1 and part.high_watermark >= 0
    (voter,) = part.current_voters
    assert voter.replica_id == me and voter.log_end_offset == part.high_watermark
    assert voter.last_fetch_timestamp >= before - 60_000
    assert list(part.observers) == []
    (node,) = answer.nodes
    assert node.node_id == me and [listener.name for listener in node.listeners] == ["CONTROLLER"]
    other = call(bootstrap, 55, 2, topics=[("__cluster_metadata", [(1,)])])
    (part,) = other.topics[0].partitions
    assert (part.error_code, part.error_message, part.leader_id, list(part.current_voters)) == (
        UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.", 0, [])
    assert list(other.nodes) == []


def test_list_config_resources_types_and_order(bootstrap: str, topic: str) -> None:
    me = str(node_id(bootstrap))
    v0 = call(bootstrap, 74, 0)
    assert (v0.error_code, list(v0.config_resources)) == (0, [])  # client metrics only: none
    every = call(bootstrap, 74, 1, resource_types=[])
    rows = [(r.resource_type, r.resource_name) for r in every.config_resources]
    assert rows[:2] == [(8, me), (4, me)]  # broker loggers, brokers, then topics
    assert (2, topic) in rows and {kind for kind, _ in rows[2:]} == {2}
    filtered = call(bootstrap, 74, 1, resource_types=[2, 4])
    kinds = [r.resource_type for r in filtered.config_resources]
    assert kinds[0] == 4 and set(kinds[1:]) == {2}
    refused = call(bootstrap, 74, 1, resource_types=[2, 99])
    assert (refused.error_code, list(refused.config_resources)) == (UNSUPPORTED_VERSION, [])


# ---- a simulated 3-node cluster ---------------------------------------------------------------------
#
# What ReferenceKafka(nodes=3) showed (probed by hand with the same requests): each node describes
# only the replicas it holds; a reassignment to a stopped (still registered) broker stays in
# progress with replicas = target then leaving ones, adding = the new ones; cancelling restores the
# original replicas; a preferred election succeeds (NONE, no message) once the preferred replica is
# back in the ISR and is refused with PREFERRED_LEADER_NOT_AVAILABLE while it is down; every node is
# a voter of the metadata quorum in combined mode, with no observers.


@pytest.fixture(scope="module")
def cluster() -> Iterator[Broker]:
    broker = Broker(brokers=3)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def nodes_up(cluster: Broker) -> Iterator[Broker]:
    """The cluster, with every node started again after the test."""
    yield cluster
    for node in cluster.node_ids:
        cluster.start_node(node)


def _partitions(admin: KafkaAdminClient, name: str) -> dict[int, dict[str, Any]]:
    return {p["partition_index"]: p for p in admin.describe_topics([name])[0]["partitions"]}


def _cluster_topic(cluster: Broker, partitions: int = 3, replication: int = 2) -> tuple[KafkaAdminClient, str]:
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    name = f"cluster-{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(name, partitions, replication)])
    wait_for(lambda: len(_partitions(admin, name)) == partitions
             and all(len(p["isr_nodes"]) == replication for p in _partitions(admin, name).values()),
             what=f"{name} fully replicated")
    return admin, name


def _live_bootstrap(cluster: Broker) -> str:
    nodes = cluster._running_server().state.nodes
    return ",".join("{}:{}".format(*cluster.node_address(n)) for n in cluster.node_ids if nodes.is_alive(n))


def test_cluster_log_dirs_per_node(nodes_up: Broker) -> None:
    admin, name = _cluster_topic(nodes_up)
    try:
        parts = _partitions(admin, name)
        described = {r["broker"]: r for r in admin.describe_log_dirs()}
        assert sorted(described) == [1, 2, 3]
        for node, result in described.items():
            (log_dir,) = result["log_dirs"]
            assert log_dir["log_dir"].endswith(f"node-{node}")
            held = sorted(p["partition_index"] for t in log_dir["topics"] if t["name"] == name for p in t["partitions"])
            assert held == sorted(i for i, p in parts.items() if node in p["replica_nodes"])
        # Moving a replica within its node's one dir is a no-op; a node without the replica refuses.
        holder, *_ = parts[0]["replica_nodes"]
        (outsider,) = {1, 2, 3} - set(parts[0]["replica_nodes"])
        result = admin.alter_replica_log_dirs({
            TopicPartitionReplica(name, 0, holder): described[holder]["log_dirs"][0]["log_dir"],
            TopicPartitionReplica(name, 0, outsider): described[outsider]["log_dirs"][0]["log_dir"],
        })
        assert result[TopicPartitionReplica(name, 0, holder)] is NoError
        assert result[TopicPartitionReplica(name, 0, outsider)].errno == REPLICA_NOT_AVAILABLE
    finally:
        admin.close()


def test_cluster_quorum_has_every_node_and_moves_its_leader(nodes_up: Broker) -> None:
    admin = KafkaAdminClient(bootstrap_servers=nodes_up.bootstrap_servers)
    try:
        before = admin.describe_metadata_quorum()["topics"][0]["partitions"][0]
        assert sorted(v["replica_id"] for v in before["current_voters"]) == [1, 2, 3]
        assert before["observers"] == [] and before["leader_id"] in (1, 2, 3)
        nodes_up.stop_node(before["leader_id"])
        (other, *_) = [n for n in (1, 2, 3) if n != before["leader_id"]]
        host, port = nodes_up.node_address(other)
        answer = call(f"{host}:{port}", 55, 2, topics=[("__cluster_metadata", [(0,)])])
        after = answer.topics[0].partitions[0]
        assert after.leader_id not in (-1, before["leader_id"])
        assert after.leader_epoch == before["leader_epoch"] + 1
        assert sorted(n.node_id for n in answer.nodes) == [1, 2, 3]
    finally:
        admin.close()


def test_cluster_reassignment_in_progress_is_listed_and_cancelled(nodes_up: Broker) -> None:
    admin, name = _cluster_topic(nodes_up, partitions=1)
    try:
        original = _partitions(admin, name)[0]["replica_nodes"]
        (joining,) = {1, 2, 3} - set(original)
        nodes_up.stop_node(joining)  # still registered: accepted, but it cannot catch up
        # A client that knows the node stopped (kafka-python sends these to the controller it was told
        # of and does not retry a refused connection).
        admin.close()
        admin = KafkaAdminClient(bootstrap_servers=_live_bootstrap(nodes_up))
        tp = TopicPartition(name, 0)
        target = [joining, original[0]]
        assert admin.alter_partition_reassignments({tp: target}) == {tp: None}
        ongoing = admin.list_partition_reassignments([tp])
        assert ongoing == {tp: {"replicas": [joining, original[0], original[1]], "adding_replicas": [joining],
                                "removing_replicas": [original[1]]}}
        host, port = nodes_up.node_address(original[0])
        refused = call(f"{host}:{port}", 45, 1, timeout_ms=10000, allow_replication_factor_change=False,
                       topics=[(name, [(0, [1, 2, 3])])])
        assert [(p.error_code, p.error_message) for p in refused.responses[0].partitions] == [
            (INVALID_REPLICATION_FACTOR, "The replication factor is changed from 2 to 3")]
        assert admin.alter_partition_reassignments({tp: None}) == {tp: None}
        assert admin.list_partition_reassignments([tp]) == {}
        assert sorted(_partitions(admin, name)[0]["replica_nodes"]) == sorted(original)
    finally:
        admin.close()


def test_cluster_preferred_election(nodes_up: Broker) -> None:
    admin, name = _cluster_topic(nodes_up, partitions=1)
    try:
        preferred = _partitions(admin, name)[0]["replica_nodes"][0]
        nodes_up.stop_node(preferred)
        wait_for(lambda: _partitions(admin, name)[0]["leader_id"] not in (-1, preferred), what="leader moved")
        host, port = nodes_up.node_address(next(n for n in (1, 2, 3) if n != preferred))
        down = call(f"{host}:{port}", 43, 2, election_type=0, timeout_ms=10000, topic_partitions=[(name, [0])])
        assert [(p.error_code, p.error_message) for p in down.replica_election_results[0].partition_result] == [
            (PREFERRED_LEADER_NOT_AVAILABLE, "The preferred leader was not available.")]
        nodes_up.start_node(preferred)
        wait_for(lambda: preferred in _partitions(admin, name)[0]["isr_nodes"], what="preferred replica in the ISR")
        ck = AdminClient({"bootstrap.servers": nodes_up.bootstrap_servers})
        result = ck.elect_leaders(ElectionType.PREFERRED, [CkTopicPartition(name, 0)]).result(15)
        assert result[CkTopicPartition(name, 0)] is None  # elected
        assert _partitions(admin, name)[0]["leader_id"] == preferred
        again = ck.elect_leaders(ElectionType.PREFERRED, [CkTopicPartition(name, 0)]).result(15)
        assert again[CkTopicPartition(name, 0)].code() == KafkaError.ELECTION_NOT_NEEDED
    finally:
        admin.close()


# ---- several log dirs -------------------------------------------------------------------------------


def test_several_log_dirs_describe_and_move(tmp_path: Path) -> None:
    """``log.dirs`` listing two dirs: each dir lists its partitions, and a move keeps the records."""
    dirs = [tmp_path / "a", tmp_path / "b"]
    broker = Broker(data_dir=dirs[0], log_dirs=dirs)
    broker.start()
    try:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        admin.create_topics([NewTopic("spread", 4, 1)])
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        for i in range(40):
            producer.send("spread", b"x" * 100, partition=i % 4)
        producer.flush()
        producer.close()

        def placement() -> dict[int, str]:
            (result,) = admin.describe_log_dirs()
            return {p["partition_index"]: d["log_dir"] for d in result["log_dirs"] for t in d["topics"]
                    for p in t["partitions"] if t["name"] == "spread"}

        before = placement()
        assert sorted(before) == [0, 1, 2, 3] and set(before.values()) == {str(d.resolve()) for d in dirs}
        (target,) = {str(d.resolve()) for d in dirs} - {before[0]}
        replica = TopicPartitionReplica("spread", 0, admin.describe_log_dirs()[0]["broker"])
        moved = admin.alter_replica_log_dirs({replica: target})
        assert list(moved.values()) == [NoError]
        assert placement() == {**before, 0: target}
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest",
                                 consumer_timeout_ms=3000)
        consumer.assign([TopicPartition("spread", 0)])
        assert len(list(consumer)) == 10
        consumer.close()
        admin.close()
    finally:
        broker.stop()


def test_cluster_nodes_with_several_log_dirs(tmp_path: Path) -> None:
    """In a simulated cluster each node has its own dirs (node-K/dir-J); a move stays within the node."""
    broker = Broker(brokers=3, data_dir=tmp_path / "data", log_dirs=[tmp_path / "data", tmp_path / "more"])
    broker.start()
    try:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        name = f"dirs-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(name, 4, 2)])

        def layout() -> dict[int, dict[str, list[int]]]:
            return {r["broker"]: {d["log_dir"]: sorted(p["partition_index"] for t in d["topics"] if t["name"] == name
                                                       for p in t["partitions"]) for d in r["log_dirs"]}
                    for r in admin.describe_log_dirs()}

        wait_for(lambda: sum(len(v) for dirs in layout().values() for v in dirs.values()) == 8, what="8 replicas")
        before = layout()
        for node, dirs in before.items():
            assert sorted(Path(d).name for d in dirs) == ["dir-0", "dir-1"]
            assert {Path(d).parent.name for d in dirs} == {f"node-{node}"}
        node, dirs = next((n, d) for n, d in before.items() if any(d.values()))
        source = next(d for d, parts in dirs.items() if parts)
        (target,) = set(dirs) - {source}
        moving = dirs[source][0]
        assert admin.alter_replica_log_dirs({TopicPartitionReplica(name, moving, node): target}) == {
            TopicPartitionReplica(name, moving, node): NoError}
        after = layout()[node]
        assert moving in after[target] and moving not in after[source]
        admin.close()
    finally:
        broker.stop()
