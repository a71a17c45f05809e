"""The official Java client (kafka-clients at the reference Kafka version) against kafkalite.

Each test runs one scenario of compat_tests/java (see compat_tests/javaclient.py) against the
shared broker and checks what the client observed. The scenarios behave the same against Apache
Kafka itself; where Kafka's answer may legitimately differ in timing, the test checks the
invariant instead of the exact sequence.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from compat_tests.brokerproc import BrokerProcess, free_port
from compat_tests.chaosproxy import ChaosProxy
from compat_tests.javaclient import JavaClient

# The first test pays for the session's Maven build (cold: about 125 MB of jars and plugins).
pytestmark = pytest.mark.timeout(900)


def _name(prefix: str) -> str:
    return f"java-{prefix}-{uuid.uuid4().hex[:8]}"


# ---- producer ----


def test_acks_0_1_all(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("produce-acks", broker.bootstrap, _name("acks"))
    acked = result["acked_offsets"]
    assert acked["0"] == [-1] * 10  # acks=0: no response, so no offset
    assert acked["1"] == list(range(10, 20))
    assert acked["all"] == list(range(20, 30))
    assert result["consumed"] == [f"{acks}-{i}" for acks in ("0", "1", "all") for i in range(10)]


def test_acks0_failure_closes_the_connection(java_client: JavaClient, broker: BrokerProcess) -> None:
    # A 2 MiB record with acks=0: MESSAGE_TOO_LARGE has no response to travel in, so the broker
    # closes the connection (as Kafka does); the producer reconnects and carries on.
    result = java_client.run("acks0-error", broker.bootstrap, _name("acks0"))
    assert result["closes_before"] == 0
    assert result["closes_after"] >= 1
    assert result["consumed"] == ["small", "after"]


def test_every_codec_round_trips(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("produce-codecs", broker.bootstrap, _name("codec"))
    assert set(result) == {"none", "gzip", "snappy", "lz4", "zstd"}
    for codec, outcome in result.items():
        assert outcome == {"sent": 200, "consumed": 200, "equal": True, "offsets_contiguous": True}, codec


def test_default_producer_is_idempotent(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("idempotence", broker.bootstrap, _name("idem"))
    assert result["offsets"] == list(range(100))
    (producer,) = result["producers"]  # DescribeProducers sees the producer id the client was given
    assert producer["producer_id"] >= 0
    assert producer["epoch"] == 0
    assert producer["last_sequence"] == 99
    assert producer["txn_start_offset"] == -1


def test_consume_transform_produce_transactions(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("transactions", broker.bootstrap, _name("in"), _name("out"), _name("group"))
    expected = [f"WORD-{i}" for i in range(20)]
    assert result["transformed"] == 20
    assert result["transactions"] >= 3  # max.poll.records=7: at least three transactions
    assert result["read_committed"] == expected
    assert result["read_committed_extra"] == []
    assert result["read_uncommitted"] == [*expected, "ABORTED-0", "ABORTED-1", "ABORTED-2"]
    assert result["committed_offset"] == 20  # sendOffsetsToTransaction committed the group's position


def test_transactional_fencing_and_timeout(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("txn-fencing", broker.bootstrap, _name("fence"))
    # The successor's initTransactions bumped the epoch and aborted the zombie's open transaction.
    assert result["zombie"] == {"error": "InvalidProducerEpochException"}
    # A transaction left open past transaction.timeout.ms (1 s) was aborted by the coordinator with
    # an epoch bump, and the producer learns it when it commits: PRODUCER_FENCED, as Kafka answers
    # with transactions v1 (kafkalite finalizes no transaction.version). Kafka 4.4 with v2 answers
    # INVALID_TXN_STATE instead, and only after its 10 s expiry check; kafkalite aborts on time.
    assert result["timed_out_commit"] == {"error": "ProducerFencedException"}
    assert result["committed_values"] == ["successor"]
    # zombie, its abort marker, successor, its commit marker, timed-out, its abort marker
    assert result["end_offset"] == 6


def test_headers_round_trip(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("headers", broker.bootstrap, _name("headers"))
    assert result["records"] == [
        {"value": "with headers",
         "headers": [["trace-id", "abc-123"], ["repeat", "one"], ["repeat", "two"], ["empty", ""], ["null", "<null>"]]},
        {"value": "without headers", "headers": []},
    ]


def test_record_too_large(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("too-large", broker.bootstrap, _name("big"))
    assert result["900000"] == {"offset": 0}  # under message.max.bytes (1048588)
    assert result["2097152"] == {"error": "RecordTooLargeException"}  # the broker's MESSAGE_TOO_LARGE
    # A consumer whose fetch limits (1 KiB) are far below the record still gets it (KIP-74).
    assert result["small_fetch_sizes"] == [900_000]
    assert result["client_side"] == {"error": "RecordTooLargeException"}  # max.request.size, never sent


# ---- consumer ----


def test_assign_seek_and_offset_lookups(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("consumer-assign", broker.bootstrap, _name("assign"))
    base = 1_700_000_000_000
    assert result["values"] == [f"v{i}" for i in range(10)]
    assert result["timestamps"] == [base + i * 1000 for i in range(10)]
    assert result["position_at_end"] == 10
    assert result["from_six"] == [6, 7, 8, 9]
    assert (result["offset_for_time"], result["timestamp_for_time"]) == (4, base + 4000)
    assert result["value_at_time"] == "v4"
    assert result["offset_past_end"] is None
    assert (result["beginning_offsets"], result["end_offsets"]) == (0, 10)
    assert result["position_after_seek_to_end"] == 10
    assert result["timestamp_type"] == "CreateTime"
    # message.timestamp.type=LogAppendTime: the broker's clock replaces the producer's timestamp
    # (the ack carries it too) and offsetsForTimes searches it.
    assert result["log_append_time"] == {"type": "LogAppendTime", "stamped_by_broker": True,
                                         "ack_timestamp_matches": True, "offset_for_time": 0}


def _non_empty(events: list[dict[str, list[int]]]) -> list[dict[str, list[int]]]:
    return [e for e in events if next(iter(e.values()))]


def test_range_assignor_rebalance_callbacks(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("consumer-rebalance", broker.bootstrap, _name("range"), _name("group"), "range")
    assert result["phases"] == [{"a": [0, 1, 2, 3]}, {"a": [0, 1], "b": [2, 3]}, {"a": [0, 1, 2, 3]}]
    # Eager protocol: every rebalance revokes everything first.
    assert result["a_events"] == [
        {"assigned": [0, 1, 2, 3]}, {"revoked": [0, 1, 2, 3]}, {"assigned": [0, 1]},
        {"revoked": [0, 1]}, {"assigned": [0, 1, 2, 3]}, {"revoked": [0, 1, 2, 3]},
    ]
    assert result["b_events"] == [{"assigned": [2, 3]}, {"revoked": [2, 3]}]


def test_cooperative_sticky_rebalance_callbacks(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("consumer-rebalance", broker.bootstrap, _name("coop"), _name("group"),
                             "cooperative-sticky")
    first, shared, last = result["phases"]
    assert first == {"a": [0, 1, 2, 3]} and last == {"a": [0, 1, 2, 3]}
    moved = shared["b"]
    assert len(moved) == 2 and sorted(shared["a"] + moved) == [0, 1, 2, 3]
    # Incremental protocol: A only gives up what moves to B and keeps the rest throughout. Empty
    # "assigned" callbacks (cooperative calls it every rebalance) depend on timing, so are ignored.
    assert _non_empty(result["a_events"]) == [
        {"assigned": [0, 1, 2, 3]}, {"revoked": moved}, {"assigned": moved}, {"revoked": [0, 1, 2, 3]},
    ]
    assert _non_empty(result["b_events"]) == [{"assigned": moved}, {"revoked": moved}]


def test_static_membership(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("static-membership", broker.bootstrap, _name("static"), _name("group"))
    first, second = result["first"], result["second"]
    assert first["instance_id"] == "static-1" and first["assignment"] == 2
    running = result["described_while_running"]
    assert running["state"] == "Stable"
    assert running["members"] == [{"member_id": first["member_id"], "instance_id": "static-1", "partitions": 2}]
    # A static member's close sends no LeaveGroup: the group keeps it (until its session expires).
    assert result["described_after_close"] == running
    # The replacement gets a new member id but the same generation: no rebalance happened.
    assert second["member_id"] != first["member_id"]
    assert second["generation"] == first["generation"]
    assert second["assignment"] == 2
    # A third process with the same instance id takes over (still no rebalance); the second is fenced.
    assert result["third"] == {"generation": first["generation"], "assignment": 2}
    assert result["older_commit"] == {"error": "FencedInstanceIdException"}


def test_commit_sync_and_async(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("commits", broker.bootstrap, _name("commits"), _name("group"))
    assert result["consumed"] == 10
    assert result["sync"] == {"offset": 5, "metadata": "half-way"}
    assert result["async_callback"] == {"offset": 10}
    assert result["async_committed"] == 10
    assert result["resumed"] == ["v10"]


def test_read_committed_skips_aborted(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("read-committed", broker.bootstrap, _name("rc"))
    committed, uncommitted = result["read_committed"], result["read_uncommitted"]
    assert committed["values"] == ["a1", "a2", "a3", "c1", "c2", "plain"]
    assert uncommitted["values"] == ["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "plain"]
    # Offsets 3, 7 and 10 are the commit/abort/commit markers.
    assert committed["offsets"] == [0, 1, 2, 8, 9, 11]
    assert uncommitted["offsets"] == [0, 1, 2, 4, 5, 6, 8, 9, 11]
    for view in (committed, uncommitted):
        assert view["position"] == view["end_offset"] == 12


# ---- AdminClient ----


def test_admin_topics(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("admin-topics", broker.bootstrap, _name("topics"))
    assert result["listed"] is True
    # No authorizer: every topic operation, as Kafka reports it.
    assert result["authorized_operations"] == ["ALTER", "ALTER_CONFIGS", "CREATE", "DELETE", "DESCRIBE",
                                               "DESCRIBE_CONFIGS", "READ", "WRITE"]
    described = result["describe"]
    assert described["internal"] is False and described["topic_id_set"] is True
    assert described["partitions"] == [
        {"partition": p, "leader": 1, "replicas": 1, "isr": 1} for p in range(3)
    ]
    assert result["describe_by_id"] == {"name": described["name"], "partitions": 3}
    assert result["create_again"] == {"error": "TopicExistsException"}
    assert result["validate_only"] == {"error": None, "created": False}
    assert result["listed_after_delete"] is False  # deleted by topic id
    assert result["describe_deleted_by_id"] == {"error": "UnknownTopicIdException"}
    assert result["describe_deleted"] == {"error": "UnknownTopicOrPartitionException"}
    assert result["delete_missing"] == {"error": "UnknownTopicOrPartitionException"}


def test_admin_configs(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("admin-configs", broker.bootstrap, _name("configs"))

    def entry(value: str | None, source: str) -> dict[str, Any]:
        return {"value": value, "source": source, "default": source == "DEFAULT_CONFIG"}

    assert result["before"] == {
        "cleanup.policy": entry("delete", "DEFAULT_CONFIG"),
        "max.message.bytes": entry("1048588", "DEFAULT_CONFIG"),
        "retention.ms": entry("604800000", "DEFAULT_CONFIG"),
        "segment.bytes": entry("10485760", "DYNAMIC_TOPIC_CONFIG"),
    }
    assert result["after"] == {
        "cleanup.policy": entry("delete,compact", "DYNAMIC_TOPIC_CONFIG"),  # APPEND
        "max.message.bytes": entry("1048588", "DEFAULT_CONFIG"),
        "retention.ms": entry("1234567", "DYNAMIC_TOPIC_CONFIG"),  # SET
        "segment.bytes": entry("1073741824", "DEFAULT_CONFIG"),  # DELETE: back to the default
    }
    assert result["after_subtract"] == {"cleanup.policy": entry("compact", "DYNAMIC_TOPIC_CONFIG")}
    assert result["invalid_value"] == {"error": "InvalidConfigurationException"}
    broker_configs = result["broker"]
    assert broker_configs["message.max.bytes"]["value"] == "1048588"
    assert broker_configs["num.partitions"]["value"] == "1"
    assert broker_configs["log.retention.ms"]["value"] is None  # unset in Kafka too (log.retention.hours rules)


def test_admin_create_partitions_and_delete_records(java_client: JavaClient, broker: BrokerProcess) -> None:
    result = java_client.run("admin-partitions-records", broker.bootstrap, _name("parts"))
    assert result["partitions_after_increase"] == 3
    assert result["decrease"] == {"error": "InvalidPartitionsException"}
    base = 1_700_000_000_000
    assert result["list_offsets"] == {
        "earliest": [0, -1], "latest": [10, -1],
        "max_timestamp": [9, base + 9000],  # the record with the largest timestamp
        "for_timestamp": [4, base + 4000],  # the first at or after base + 3500
        "for_future_timestamp": [-1, -1],
    }
    assert result["low_watermark"] == 4
    assert result["delete_past_end"] == {"error": "OffsetOutOfRangeException"}
    assert result["first_offset_read"] == 4
    assert result["beginning_offset"] == 4


def test_admin_consumer_groups(java_client: JavaClient, broker: BrokerProcess) -> None:
    topic = _name("groups")
    result = java_client.run("admin-groups", broker.bootstrap, topic, _name("group"))
    assert result["described_active"] == {"state": "Stable", "members": 1, "assignor": "range", "simple": False,
                                          "member_partitions": 2, "coordinator_set": True}
    assert result["authorized_operations"] == ["ALTER_CONFIGS", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS", "READ"]
    # Offsets of an active group cannot be changed behind its members' backs.
    assert result["alter_offsets_active"] == {"error": "UnknownMemberIdException"}
    assert result["delete_offsets_active"] == {"error": "GroupSubscribedToTopicException"}
    assert result["delete_active"] == {"error": "GroupNotEmptyException"}
    assert result["listed"] is True
    classic = {"type": "Classic", "protocol": "consumer", "state": "Empty", "simple": False}
    assert result["list_groups_all"] == result["list_groups_consumer"] == classic  # listGroups (KIP-1043)
    assert result["list_groups_share"] is None
    assert result["described_empty"] == {"state": "Empty", "members": 0}
    assert result["offsets"] == {f"{topic}-0": 3, f"{topic}-1": 5}
    assert result["offsets_after_alter"] == {f"{topic}-0": 1, f"{topic}-1": 5}
    assert result["offsets_after_delete"] == {f"{topic}-0": 1}
    assert result["listed_after_delete"] is False
    assert result["describe_deleted"] == {"error": "GroupIdNotFoundException"}


def test_admin_cluster_features_and_log_dirs(java_client: JavaClient, broker: BrokerProcess) -> None:
    topic = _name("cluster")
    result = java_client.run("admin-cluster", broker.bootstrap, topic)
    assert result["nodes"] == [{"id": 1, "host": "127.0.0.1", "port": broker.port}]
    assert result["controller"] == 1
    assert result["authorized_operations"] == ["ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION", "CREATE", "DESCRIBE",
                                               "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"]
    assert len(result["cluster_id"]) == 22  # a base64 UUID, as Kafka's
    # kafkalite advertises no feature flags (Kafka 4.4 finalizes metadata.version, transaction.version
    # 2, group.version 1...): clients then stay on the classic group protocol and transactions v1.
    assert result["features"] == {"finalized": {}, "supported": {}, "epoch": None}
    ((path, log_dir),) = result["log_dirs"].items()
    assert path == str(broker.data_dir)
    assert log_dir["error"] is None
    assert log_dir["total_bytes_set"] and log_dir["usable_bytes_set"]
    assert log_dir["replicas"][f"{topic}-0"] == 0
    assert log_dir["replicas"][f"{topic}-1"] > 20 * len("some value 0")


def test_admin_producers_and_transactions(java_client: JavaClient, broker: BrokerProcess) -> None:
    topic = _name("txns")
    result = java_client.run("admin-producers-transactions", broker.bootstrap, topic)
    (producer,) = result["producers_open"]
    assert producer["txn_start_offset"] == 0
    pid = producer["producer_id"]
    assert result["listed_open"] == {"producer_id": pid, "state": "Ongoing"}
    assert result["described_open"] == {"state": "Ongoing", "producer_id": pid, "epoch": 0, "timeout_ms": 60000,
                                        "partitions": [f"{topic}-0"], "start_time_set": True}
    # Kafka 4.4 (transactions v2) may still show PrepareCommit here; kafkalite completes at once.
    assert result["listed_committed"] == {"producer_id": pid, "state": "CompleteCommit"}
    described = result["described_committed"]
    assert described["state"] == "CompleteCommit" and described["partitions"] == []
    assert result["describe_unknown"] == {"error": "TransactionalIdNotFoundException"}


def test_client_instance_id_without_telemetry(java_client: JavaClient, broker: BrokerProcess) -> None:
    # Kafka 4.4 without a telemetry receiver does not advertise GetTelemetrySubscriptions, and neither
    # does kafkalite: the client (enable.metrics.push=true by default) then has no instance id,
    # exactly as against Kafka (compat_tests/test_client_telemetry.py has the wire-level answers).
    result = java_client.run("client-instance-id", broker.bootstrap, _name("telemetry"))
    assert result == {"instance_id": "null"}


def test_idempotent_producer_survives_lost_responses(java_client: JavaClient, tmp_path: Path) -> None:
    # The proxy closes the connection instead of delivering every 7th Produce response: the client
    # retries batches the broker already wrote, and the broker must drop them as duplicates.
    proxy_port = free_port()
    proxied = BrokerProcess(tmp_path / "data", extra_args=["--advertised-port", str(proxy_port)])
    proxied.start()
    proxy = ChaosProxy(proxied.port, drop_every=7, listen_port=proxy_port)
    try:
        result = java_client.run("produce-sequence", f"127.0.0.1:{proxy_port}", _name("lossy"), "3000",
                                 timeout=150)
        assert proxy.dropped >= 3, "the proxy never lost a response: the test proved nothing"
        assert result == {"errors": [], "consumed": 3000, "in_order_exactly_once": True, "distinct": 3000}
    finally:
        proxy.close()
        proxied.kill9()


def test_admin_cluster_ops_on_three_nodes(java_client: JavaClient, tmp_path: Path) -> None:
    """The Java AdminClient on a simulated 3-node cluster: the quorum, a reordering reassignment then a
    preferred election moving the leader, elections not needed, log dirs, config resources. The
    expectations are what the same scenario printed on ReferenceKafka(nodes=3) (placement aside)."""
    cluster = BrokerProcess(tmp_path / "data", extra_args=["--override", "kafkalite.brokers=3"])
    cluster.start()
    try:
        topic = _name("ops")
        result = java_client.run("admin-cluster-ops", cluster.bootstrap, topic, "2")
    finally:
        cluster.stop()
    quorum = result["quorum"]
    assert quorum["voters"] == [{"id": i, "log_end_offset_set": True, "last_fetch_set": True} for i in (1, 2, 3)]
    assert (quorum["observers"], quorum["nodes"], quorum["high_watermark_set"]) == (0, [1, 2, 3], True)
    assert quorum["leader"] in (1, 2, 3) and quorum["epoch"] >= 1
    assert result["elect_not_needed"] == {f"{topic}-0": "ElectionNotNeededException",
                                          f"{topic}-9": "UnknownTopicOrPartitionException"}
    assert result["elect_unclean"] == {f"{topic}-0": "ElectionNotNeededException"}
    before = result["replicas_before"]
    assert len(before) == 2 and result["replicas_after"] == before[::-1]
    assert result["cancel_none"] == {"error": "NoReassignmentInProgressException"}
    # The reordered list's first replica is now preferred: the election moves leadership to it.
    assert result["elect_after_reorder"] == {f"{topic}-0": "none"}
    assert result["leader_after"] == before[1]
    assert result["replica_dir"].endswith(f"node-{before[1]}")
    assert (result["replica_future_dir"], result["move_to_same_dir"]) == (None, "ok")
    assert result["config_resources"] == {"BROKER": ["1", "2", "3"], "BROKER_LOGGER": ["1", "2", "3"],
                                          "TOPIC": [topic]}
