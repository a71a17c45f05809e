"""ACL enforcement on the data, group and transaction APIs at the protocol level, on kafkalite and Kafka.

Each assertion runs against kafkalite and against Apache Kafka 4.4 configured the same way
(compat_tests/authz_tls.py: the PLAINTEXT listener's User:ANONYMOUS is the super user, an SSL
listener gives each client certificate its principal), so the exact codes, which check wins
(unauthorized before unknown, the transactional id before the topics) and what is filtered or
refused are Kafka's own. Kafka is skipped without java and mvn.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from compat_tests.authz_tls import Secured, TlsRawClient, start_secured
from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient
from kafkalite.conformance import wire
from kafkalite.conformance.reference import java_available
from kafkalite.protocol.codec import message_classes

pytestmark = pytest.mark.timeout(180)

USER = "protocol"
NOBODY = "nobody"  # a principal no ACL names


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    if request.param == "kafka" and not java_available():
        pytest.skip("Apache Kafka needs java and mvn on PATH")
    secured = start_secured(request.param, tmp_path_factory.mktemp(f"authz-data-{request.param}"), [USER, NOBODY])
    _create_topic(secured, "warm-up")
    # One transaction by the administrator: Kafka creates its transaction state topic on first use.
    producer = Producer({"bootstrap.servers": secured.plain, "transactional.id": "warm-up"})
    producer.init_transactions(60)
    producer.begin_transaction()
    producer.produce("warm-up", b"t")
    producer.commit_transaction(30)
    yield secured
    secured.stop()


def _grant(target: Secured, rtype: ResourceType, name: str, *ops: AclOperation) -> None:
    """ALLOW bindings for the test's principal, waited for (Kafka applies them a moment after answering)."""
    admin = AdminClient({"bootstrap.servers": target.plain})
    bindings = [AclBinding(rtype, name, ResourcePatternType.LITERAL, target.principal(USER), "*", op,
                           AclPermissionType.ALLOW) for op in ops]
    for future in admin.create_acls(bindings).values():
        future.result(20)
    flt = AclBindingFilter(rtype, name, ResourcePatternType.LITERAL, target.principal(USER), None,
                           AclOperation.ANY, AclPermissionType.ANY)
    wait_for(lambda: len(admin.describe_acls(flt).result(20)) >= len(ops), timeout=20)
    time.sleep(0.2 if target.kind == "kafka" else 0)


def _create_topic(target: Secured, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": target.plain})
    for future in admin.create_topics([NewTopic(name, 1, 1)]).values():
        future.result(20)
    producer = Producer({"bootstrap.servers": target.plain})
    producer.produce(name, b"first")
    assert producer.flush(20) == 0


def _commit(target: Secured, group: str, topic: str) -> None:
    """Offset 1 committed by the administrator (Kafka creates its offsets topic on first use: retried)."""
    consumer = Consumer({"bootstrap.servers": target.plain, "group.id": group})
    try:
        def committed() -> bool:
            try:
                consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
            except KafkaException:
                return False
            return True
        wait_for(committed, timeout=60, interval=0.5, what="the first offset commit")
    finally:
        consumer.close()


def _call(client: RawClient, name: str, version: int, body: dict[str, Any]) -> dict[str, Any]:
    """One request built from JSON (the conformance suite's form), its answer as JSON."""
    request = wire.build_request(name, version, body)
    classes = message_classes(wire.api_key(name))
    assert classes is not None
    return wire.response_to_json(client.call(request, classes[1]))


def _produce(topic_data: list[dict[str, Any]], transactional_id: str | None = None) -> dict[str, Any]:
    return {"acks": -1, "timeout_ms": 5000, "transactional_id": transactional_id, "topic_data": topic_data}


def _codes(response: dict[str, Any], topics: str = "responses", partitions: str = "partition_responses",
           name: str = "name", code: str = "error_code") -> dict[str, list[int]]:
    return {t[name]: [p[code] for p in t[partitions]] for t in response[topics]}


def test_codes_and_order(target: Secured, topic_name: str) -> None:
    """The exact codes, and which check wins, on kafkalite and on Kafka 4.4 alike."""
    allowed, described, hidden, missing = (f"{topic_name}-{s}" for s in ("allowed", "described", "hidden", "missing"))
    for name in (allowed, described, hidden):
        _create_topic(target, name)
    group, txn_id = f"g-{topic_name}", f"tx-{topic_name}"
    _commit(target, group, allowed)  # the group exists, with an offset
    _grant(target, ResourceType.TOPIC, allowed, AclOperation.READ, AclOperation.WRITE)
    _grant(target, ResourceType.TOPIC, described, AclOperation.DESCRIBE)
    _grant(target, ResourceType.GROUP, group, AclOperation.READ)
    _grant(target, ResourceType.TRANSACTIONAL_ID, txn_id, AclOperation.WRITE)
    with RawClient(target.plain) as admin:
        listed = _call(admin, "Metadata", 12, {"topics": None, "allow_auto_topic_creation": False})
    ids = {t["name"]: t["topic_id"] for t in listed["topics"]}
    one = {"$records": {"records": [{"value": "x"}]}}
    with TlsRawClient(target.tls, target.pki, USER) as client:
        # Produce: WRITE checked before existence (a missing topic is not disclosed); by id, an id
        # nobody knows stays UNKNOWN_TOPIC_ID.
        four = (allowed, described, hidden, missing)
        produced = _call(client, "Produce", 9, _produce(
            [{"name": n, "partition_data": [{"index": 0, "records": one}]} for n in four]))
        assert _codes(produced) == {allowed: [0], described: [29], hidden: [29], missing: [29]}
        by_id = _call(client, "Produce", 13, _produce([
            {"topic_id": {"$uuid": str(i)}, "partition_data": [{"index": 0, "records": one}]}
            for i in (ids[allowed], ids[hidden], "00000000-0000-0000-0000-00000000abcd")]))
        assert [t["partition_responses"][0]["error_code"] for t in by_id["responses"]] == [0, 29, 100]
        # Transactional records need WRITE on the transactional id: the whole request is refused.
        txn = {"$records": {"records": [{"value": "t"}], "producer_id": 7, "producer_epoch": 0, "base_sequence": 0,
                            "transactional": True}}
        refused = _call(client, "Produce", 9, _produce(
            [{"name": allowed, "partition_data": [{"index": 0, "records": txn}]}], "not-mine"))
        assert _codes(refused) == {allowed: [53]}
        # Fetch: READ per topic; a follower (replica id 0+) needs CLUSTER_ACTION for everything.
        fetch = {"max_wait_ms": 0, "min_bytes": 1, "max_bytes": 100000, "isolation_level": 0, "session_id": 0,
                 "session_epoch": -1, "forgotten_topics_data": [], "rack_id": "", "topics": [
                     {"topic": n, "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 10000}]}
                     for n in (allowed, described, missing)]}
        fetched = _call(client, "Fetch", 12, {"replica_id": -1, **fetch})
        assert _codes(fetched, partitions="partitions", name="topic") == {allowed: [0], described: [29],
                                                                          missing: [29]}
        follower = _call(client, "Fetch", 12, {"replica_id": 1, **fetch})
        assert {c for cs in _codes(follower, partitions="partitions", name="topic").values() for c in cs} == {29}
        # Metadata by topic id: the id is answered, the name is not.
        metadata = _call(client, "Metadata", 12, {"topics": [{"topic_id": {"$uuid": str(ids[hidden])}, "name": None}],
                                                  "allow_auto_topic_creation": False,
                                                  "include_topic_authorized_operations": True})
        [answer] = metadata["topics"]
        assert (answer["error_code"], answer["name"], answer["topic_id"]) == (29, None, str(ids[hidden]))
        # AddPartitionsToTxn (client versions): refused topics fail the whole transaction's additions;
        # the others are OPERATION_NOT_ATTEMPTED; internal topics are never WRITE-able.
        added = _call(client, "AddPartitionsToTxn", 3, {
            "v3_and_below_transactional_id": txn_id, "v3_and_below_producer_id": 1, "v3_and_below_producer_epoch": 0,
            "v3_and_below_topics": [{"name": n, "partitions": [0]} for n in (allowed, hidden, "__consumer_offsets")]})
        assert _codes(added, "results_by_topic_v3_and_below", "results_by_partition",
                      code="partition_error_code") == {allowed: [55], hidden: [29], "__consumer_offsets": [29]}
        broker_only = _call(client, "AddPartitionsToTxn", 4, {"transactions": [
            {"transactional_id": txn_id, "producer_id": 1, "producer_epoch": 0, "verify_only": True,
             "topics": [{"name": allowed, "partitions": [0]}]}]})
        assert broker_only["error_code"] == 31  # v4 comes from brokers: CLUSTER_ACTION
        # OffsetFetch (v8): a group it may not DESCRIBE is refused; named topics it may not DESCRIBE
        # are answered TOPIC_AUTHORIZATION_FAILED.
        fetched_offsets = _call(client, "OffsetFetch", 8, {"require_stable": False, "groups": [
            {"group_id": group, "topics": [{"name": n, "partition_indexes": [0]} for n in (allowed, hidden)]},
            {"group_id": "not-mine", "topics": None}]})
        groups = {g["group_id"]: g for g in fetched_offsets["groups"]}
        assert groups["not-mine"]["error_code"] == 30 and groups["not-mine"]["topics"] == []
        assert _codes(groups[group], "topics", "partitions") == {allowed: [0], hidden: [29]}
        assert groups[group]["topics"][0]["partitions"][0]["committed_offset"] == 1
        # Before v2 there is no group-level error: each requested partition carries it.
        old_version = _call(client, "OffsetFetch", 1, {"group_id": "not-mine", "topics": [
            {"name": allowed, "partition_indexes": [0]}]})
        assert _codes(old_version, "topics", "partitions") == {allowed: [30]}
        # DescribeProducers: READ; DescribeTransactions: DESCRIBE on the transactional id.
        producers = _call(client, "DescribeProducers", 0, {"topics": [
            {"name": n, "partition_indexes": [0]} for n in (allowed, described)]})
        assert _codes(producers, "topics", "partitions") == {allowed: [0], described: [29]}
        described_txns = _call(client, "DescribeTransactions", 0, {"transactional_ids": [txn_id, "not-mine"]})
        assert [(s["transactional_id"], s["error_code"]) for s in described_txns["transaction_states"]] == [
            (txn_id, 105), ("not-mine", 53)]


def test_group_and_transaction_refusals(target: Secured, topic_name: str) -> None:
    """Group and transaction APIs: which resource each checks, and the answer's shape when refused."""
    allowed, hidden, missing = (f"{topic_name}-{s}" for s in ("allowed", "hidden", "missing"))
    for name in (allowed, hidden):
        _create_topic(target, name)
    mine, other = f"g-{topic_name}", f"g-{topic_name}-other"
    txn_id = f"tx-{topic_name}"
    for group in (mine, other):
        _commit(target, group, allowed)
    _grant(target, ResourceType.TOPIC, allowed, AclOperation.READ)
    _grant(target, ResourceType.GROUP, mine, AclOperation.READ)
    _grant(target, ResourceType.TRANSACTIONAL_ID, txn_id, AclOperation.WRITE)
    join = {"session_timeout_ms": 10000, "rebalance_timeout_ms": 10000, "member_id": "", "protocol_type": "consumer",
            "protocols": [{"name": "range", "metadata": b""}]}
    with TlsRawClient(target.tls, target.pki, USER) as client:
        def code(name: str, version: int, body: dict[str, Any]) -> int:
            return int(_call(client, name, version, body)["error_code"])

        # READ on the group for the membership APIs, with Kafka's error-response shapes.
        joined = _call(client, "JoinGroup", 9, {"group_id": other, "reason": None, **join})
        assert (joined["error_code"], joined["generation_id"], joined["member_id"], joined["protocol_name"]) == (
            30, -1, "", None)
        assert _call(client, "JoinGroup", 5, {"group_id": other, **join})["protocol_name"] == ""
        sync = {"generation_id": 1, "member_id": "m", "protocol_type": "consumer", "protocol_name": "range"}
        assert code("SyncGroup", 5, {"group_id": other, "assignments": [], **sync}) == 30
        assert code("Heartbeat", 4, {"group_id": other, "generation_id": 1, "member_id": "m"}) == 30
        left = _call(client, "LeaveGroup", 5, {"group_id": other, "members": [{"member_id": "m"}]})
        assert (left["error_code"], left["members"]) == (30, [])
        # FindCoordinator: DESCRIBE on the key; batched (v4) answers carry no message.
        old = _call(client, "FindCoordinator", 3, {"key": other, "key_type": 0})
        assert (old["error_code"], old["error_message"], old["node_id"]) == (30, "Group authorization failed.", -1)
        batched = _call(client, "FindCoordinator", 4, {"key_type": 1, "coordinator_keys": [txn_id, "not-mine"]})
        assert [(c["key"], c["error_code"], c["error_message"]) for c in batched["coordinators"]] == [
            (txn_id, 0, ""), ("not-mine", 53, "")]
        # OffsetCommit: the group first (every partition), then READ per topic before existence,
        # then unknown partitions before the group's own error.
        one = [{"partition_index": 0, "committed_offset": 1}]
        commit = {"generation_id_or_member_epoch": 5, "member_id": "x", "topics": [
            {"name": n, "partitions": one} for n in (allowed, hidden, missing)]}
        assert _codes(_call(client, "OffsetCommit", 8, {"group_id": other, **commit}), "topics", "partitions") == {
            allowed: [30], hidden: [30], missing: [30]}
        assert _codes(_call(client, "OffsetCommit", 8, {"group_id": mine, **commit}), "topics", "partitions") == {
            allowed: [25], hidden: [29], missing: [29]}
        # DescribeGroups: refused groups first, the others with the principal's operations (READ, DESCRIBE).
        described = _call(client, "DescribeGroups", 5, {"groups": [mine, other], "include_authorized_operations": True})
        assert [(g["group_id"], g["error_code"], g["group_state"], g["authorized_operations"])
                for g in described["groups"]] == [(other, 30, "", -2147483648), (mine, 0, "Empty", 264)]
        listed = _call(client, "ListGroups", 4, {"states_filter": []})
        listed_ids = {g["group_id"] for g in listed["groups"]}
        assert mine in listed_ids and other not in listed_ids  # no DESCRIBE on the cluster: filtered
        deleted = _call(client, "DeleteGroups", 2, {"groups_names": [other, mine]})
        assert sorted((r["group_id"], r["error_code"]) for r in deleted["results"]) == [(mine, 30), (other, 30)]
        assert code("OffsetDelete", 0, {"group_id": mine, "topics": []}) == 30
        # Transactions: WRITE on the transactional id first, then READ on the group; an idempotent
        # producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679).
        init = {"transaction_timeout_ms": 60000, "producer_id": -1, "producer_epoch": -1}
        with TlsRawClient(target.tls, target.pki, NOBODY) as nobody:
            assert _call(nobody, "InitProducerId", 4, {"transactional_id": None, **init})["error_code"] == 31
        _grant(target, ResourceType.TOPIC, allowed, AclOperation.WRITE)
        assert code("InitProducerId", 4, {"transactional_id": None, **init}) == 0
        assert code("InitProducerId", 4, {"transactional_id": "not-mine", **init}) == 53
        txn = {"producer_id": 1, "producer_epoch": 0}
        assert code("AddOffsetsToTxn", 3, {"transactional_id": "not-mine", "group_id": other, **txn}) == 53
        assert code("AddOffsetsToTxn", 3, {"transactional_id": txn_id, "group_id": other, **txn}) == 30
        assert code("EndTxn", 3, {"transactional_id": "not-mine", "committed": True, **txn}) == 53
        offsets = {"generation_id": -1, "member_id": "", "group_instance_id": None, "topics": [
            {"name": allowed, "partitions": [{"partition_index": 0, "committed_offset": 1}]}], **txn}
        for txn_name, group, expected in (("not-mine", mine, 53), (txn_id, other, 30)):
            answer = _call(client, "TxnOffsetCommit", 3, {"transactional_id": txn_name, "group_id": group, **offsets})
            assert _codes(answer, "topics", "partitions") == {allowed: [expected]}
        assert _call(client, "ListTransactions", 1, {"state_filters": [], "producer_id_filters": [],
                                                     "duration_filter": -1})["transaction_states"] == []
