"""ACLs on the admin APIs, as confluent-kafka and kafka-python report them, on kafkalite and on Apache Kafka.

The broker runs Kafka's StandardAuthorizer with ``super.users=User:ANONYMOUS`` (the PLAINTEXT
listener: the test's administrator) and an SSL listener requiring client certificates, so each
test's own principal ``User:CN=<name>`` starts with no ACL at all. Each test shows the denial the
client reports, then grants the ACL Kafka asks for and shows the call working. Every test runs
against kafkalite and, when a JVM is available, against Apache Kafka configured the same way.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import ElectionType, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from kafka.protocol.admin import (
    AlterConfigsRequest,
    AlterConfigsResponse,
    CreateTopicsRequest,
    CreateTopicsResponse,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    DescribeClusterRequest,
    DescribeConfigsRequest,
    DescribeConfigsResponse,
    DescribeLogDirsRequest,
    DescribeLogDirsResponse,
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
)

from compat_tests.authz_tls import Secured, TlsRawClient, start_secured
from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient
from kafkalite.conformance.reference import java_available
from kafkalite.protocol import codec
from kafkalite.protocol.messages import DescribeClusterResponse  # int32 operations, as on the wire

pytestmark = pytest.mark.timeout(180)

USERS = [
    "create", "delete", "partitions", "records", "configs", "alter", "cluster", "dtp", "elect", "acls", "proto", "kp",
    "reassign",
]
NOT_REQUESTED = -2147483648
DESCRIBE_ONLY = 1 << 8
TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED = 29, 31


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    if request.param == "kafka" and not java_available():
        pytest.skip("Apache Kafka needs java and mvn on PATH")
    secured = start_secured(request.param, tmp_path_factory.mktemp(f"authz-{request.param}"), USERS)
    yield secured
    secured.stop()


def admin(target: Secured) -> AdminClient:
    return AdminClient({"bootstrap.servers": target.plain})


def as_user(target: Secured, user: str) -> AdminClient:
    return AdminClient(target.pki.confluent(user, target.tls))


def grant(target: Secured, user: str, rtype: ResourceType, name: str, *ops: AclOperation,
          pattern: ResourcePatternType = ResourcePatternType.LITERAL) -> None:
    """Add the ALLOW bindings and wait until the broker's authorizer has them (Kafka applies them later)."""
    sup = admin(target)
    bindings = [AclBinding(rtype, name, pattern, target.principal(user), "*", op, AclPermissionType.ALLOW)
                for op in ops]
    for future in sup.create_acls(bindings).values():
        future.result(20)
    flt = AclBindingFilter(rtype, name, pattern, target.principal(user), None, AclOperation.ANY,
                           AclPermissionType.ANY)
    wait_for(lambda: len(sup.describe_acls(flt).result(20)) >= len(ops), timeout=20)
    time.sleep(0.2 if target.kind == "kafka" else 0)  # the ACL reaches the controller a moment after


def create_topic(target: Secured, name: str, partitions: int = 1) -> None:
    sup = admin(target)  # referenced until the futures are done: a collected client cancels them
    for future in sup.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(20)


def code_of(excinfo: pytest.ExceptionInfo[KafkaException]) -> int:
    return int(excinfo.value.args[0].code())


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_create_topics(target: Secured) -> None:
    name = fresh("ct")
    alice = as_user(target, "create")
    with pytest.raises(KafkaException) as denied:
        alice.create_topics([NewTopic(name, 1, 1)])[name].result(20)
    assert code_of(denied) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert "Authorization failed." in str(denied.value)

    grant(target, "create", ResourceType.TOPIC, f"{name}-", AclOperation.CREATE, pattern=ResourcePatternType.PREFIXED)
    with TlsRawClient(target.tls, target.pki, "create") as raw:
        topics = [CreateTopicsRequest.CreatableTopic(name=f"{name}-{i}", num_partitions=2, replication_factor=1)
                  for i in (1, 2)]
        answer = raw.call(CreateTopicsRequest(version=7, topics=topics, timeout_ms=10000), CreateTopicsResponse)
    created = {t.name: t for t in answer.topics}
    assert [created[t.name].error_code for t in topics] == [0, 0]
    # Without DESCRIBE_CONFIGS on the topic Kafka withholds its configs and shape.
    assert [(t.configs, t.num_partitions, t.replication_factor, t.topic_config_error_code)
            for t in created.values()] == [([], -1, -1, TOPIC_AUTHORIZATION_FAILED)] * 2

    grant(target, "create", ResourceType.TOPIC, name, AclOperation.CREATE, AclOperation.DESCRIBE_CONFIGS)
    alice.create_topics([NewTopic(name, 3, 1)])[name].result(20)
    assert len(admin(target).list_topics(name, timeout=10).topics[name].partitions) == 3


def test_delete_topics_unknown_versus_unauthorized(target: Secured) -> None:
    name, hidden, absent = fresh("dt"), fresh("dt-hidden"), fresh("dt-absent")
    create_topic(target, name)
    create_topic(target, hidden)
    alice = as_user(target, "delete")
    with pytest.raises(KafkaException) as denied:
        alice.delete_topics([name])[name].result(20)
    assert code_of(denied) == KafkaError.TOPIC_AUTHORIZATION_FAILED

    grant(target, "delete", ResourceType.TOPIC, absent, AclOperation.DESCRIBE)
    grant(target, "delete", ResourceType.TOPIC, name, AclOperation.DESCRIBE)
    with RawClient(target.plain) as raw:
        hidden_id = raw.call(DescribeTopicPartitionsRequest(
            version=0, topics=[DescribeTopicPartitionsRequest.TopicRequest(name=hidden)], response_partition_limit=10,
        ), DescribeTopicPartitionsResponse).topics[0].topic_id
    with TlsRawClient(target.tls, target.pki, "delete") as raw:
        state = DeleteTopicsRequest.DeleteTopicState
        answer = raw.call(DeleteTopicsRequest(version=6, timeout_ms=10000, topics=[
            state(name=hidden), state(name=fresh("dt-never")), state(name=absent), state(name=name),
            state(name=None, topic_id=hidden_id), state(name=None, topic_id=uuid.uuid4()),
        ]), DeleteTopicsResponse)
    got = sorted((r.name or "", r.error_code) for r in answer.responses)
    # Not describable: TOPIC_AUTHORIZATION_FAILED whether it exists or not; describable and absent:
    # UNKNOWN_TOPIC_OR_PARTITION; an id the principal may not see names no topic; an unknown id UNKNOWN_TOPIC_ID.
    assert sorted(c for n, c in got if n == "") == [TOPIC_AUTHORIZATION_FAILED, 100]
    assert {n: c for n, c in got if n} == {
        hidden: TOPIC_AUTHORIZATION_FAILED, absent: 3, name: TOPIC_AUTHORIZATION_FAILED,
        **{n: TOPIC_AUTHORIZATION_FAILED for n, _ in got if n.startswith("dt-never")},
    }

    grant(target, "delete", ResourceType.TOPIC, name, AclOperation.DELETE)
    alice.delete_topics([name])[name].result(20)
    wait_for(lambda: name not in admin(target).list_topics(timeout=10).topics, timeout=20)


def test_create_partitions(target: Secured) -> None:
    name = fresh("cp")
    create_topic(target, name)
    alice = as_user(target, "partitions")
    with pytest.raises(KafkaException) as denied:
        alice.create_partitions([NewPartitions(name, 2)])[name].result(20)
    assert code_of(denied) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    missing = fresh("cp-none")
    with pytest.raises(KafkaException) as unknown:  # not revealed: the same answer for a missing topic
        alice.create_partitions([NewPartitions(missing, 2)])[missing].result(20)
    assert code_of(unknown) == KafkaError.TOPIC_AUTHORIZATION_FAILED

    grant(target, "partitions", ResourceType.TOPIC, name, AclOperation.ALTER)
    alice.create_partitions([NewPartitions(name, 2)])[name].result(20)
    wait_for(lambda: len(admin(target).list_topics(name, timeout=10).topics[name].partitions) == 2, timeout=20)


def test_delete_records(target: Secured) -> None:
    name = fresh("dr")
    create_topic(target, name)
    producer = Producer({"bootstrap.servers": target.plain})
    for i in range(5):
        producer.produce(name, value=b"%d" % i)
    assert producer.flush(20) == 0
    alice = as_user(target, "records")
    tp = TopicPartition(name, 0, 3)
    # librdkafka finds the leader with Metadata first, which hides a topic the principal may not describe.
    grant(target, "records", ResourceType.TOPIC, name, AclOperation.DESCRIBE)
    with pytest.raises(KafkaException) as denied:
        alice.delete_records([tp])[tp].result(20)
    assert code_of(denied) == KafkaError.TOPIC_AUTHORIZATION_FAILED

    grant(target, "records", ResourceType.TOPIC, name, AclOperation.DELETE)
    assert alice.delete_records([tp])[tp].result(20).low_watermark == 3


def test_describe_configs(target: Secured) -> None:
    name = fresh("dc")
    create_topic(target, name)
    alice = as_user(target, "configs")
    topic, broker = ConfigResource(ConfigResource.Type.TOPIC, name), ConfigResource(ConfigResource.Type.BROKER, "1")
    with pytest.raises(KafkaException) as denied:
        alice.describe_configs([topic])[topic].result(20)
    assert code_of(denied) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    with pytest.raises(KafkaException) as denied_broker:
        alice.describe_configs([broker])[broker].result(20)
    assert code_of(denied_broker) == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    assert "Cluster authorization failed." in str(denied_broker.value)

    grant(target, "configs", ResourceType.TOPIC, name, AclOperation.DESCRIBE_CONFIGS)
    assert alice.describe_configs([topic])[topic].result(20)["retention.ms"].value == "604800000"
    grant(target, "configs", ResourceType.BROKER, "kafka-cluster", AclOperation.DESCRIBE_CONFIGS)
    assert "message.max.bytes" in alice.describe_configs([broker])[broker].result(20)


def test_alter_configs(target: Secured) -> None:
    name = fresh("ac")
    create_topic(target, name)
    alice = as_user(target, "alter")
    topic = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])
    broker = ConfigResource(ConfigResource.Type.BROKER, "1", incremental_configs=[
        ConfigEntry("log.retention.ms", "bogus", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as denied:
        alice.incremental_alter_configs([topic])[topic].result(20)
    assert code_of(denied) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # A broker resource is refused before its (invalid) value is looked at.
    with pytest.raises(KafkaException) as denied_broker:
        alice.incremental_alter_configs([broker])[broker].result(20)
    assert code_of(denied_broker) == KafkaError.CLUSTER_AUTHORIZATION_FAILED

    grant(target, "alter", ResourceType.TOPIC, name, AclOperation.ALTER_CONFIGS)
    alice.incremental_alter_configs([topic])[topic].result(20)
    # ALTER_CONFIGS implies DESCRIBE_CONFIGS.
    described = ConfigResource(ConfigResource.Type.TOPIC, name)
    # Kafka applies the change through its metadata log a moment after answering: poll.
    wait_for(lambda: alice.describe_configs([described])[described].result(20)["retention.ms"].value == "3600000",
             timeout=20, what="retention.ms described as altered")


def _cluster_and_log_dirs(target: Secured) -> tuple[Any, Any]:
    with TlsRawClient(target.tls, target.pki, "cluster") as raw:
        cluster = raw.call(DescribeClusterRequest(version=1, include_cluster_authorized_operations=True),
                           DescribeClusterResponse)
        logdirs = raw.call(DescribeLogDirsRequest(version=4, topics=None), DescribeLogDirsResponse)
    return cluster, logdirs


def test_describe_cluster_and_log_dirs(target: Secured) -> None:
    """DescribeCluster needs no ACL, but its authorized operations are 0 without DESCRIBE on the cluster;
    DescribeLogDirs is refused at the top level. (librdkafka's describe_cluster uses Metadata instead.)"""
    cluster, logdirs = _cluster_and_log_dirs(target)
    assert (cluster.error_code, cluster.cluster_authorized_operations, len(cluster.brokers)) == (0, 0, 1)
    assert (logdirs.error_code, logdirs.results) == (CLUSTER_AUTHORIZATION_FAILED, [])

    grant(target, "cluster", ResourceType.BROKER, "kafka-cluster", AclOperation.DESCRIBE)
    cluster, logdirs = _cluster_and_log_dirs(target)
    assert cluster.cluster_authorized_operations == DESCRIBE_ONLY
    assert logdirs.error_code == 0 and len(logdirs.results) == 1


def test_describe_topic_partitions(target: Secured) -> None:
    """The Java admin client's describeTopics (librdkafka's uses Metadata, enforced by the data-API slice)."""
    seen, hidden = fresh("dtp-seen"), fresh("dtp-hidden")
    create_topic(target, seen)
    create_topic(target, hidden)
    grant(target, "dtp", ResourceType.TOPIC, seen, AclOperation.DESCRIBE)
    topic = DescribeTopicPartitionsRequest.TopicRequest
    with TlsRawClient(target.tls, target.pki, "dtp") as raw:
        named = raw.call(DescribeTopicPartitionsRequest(
            version=0, topics=[topic(name=hidden), topic(name=seen)], response_partition_limit=10,
        ), DescribeTopicPartitionsResponse)
        every = raw.call(DescribeTopicPartitionsRequest(version=0, topics=[], response_partition_limit=100),
                         DescribeTopicPartitionsResponse)
    # The denied topic comes last, with no id and the "not requested" operations.
    assert [(t.name, t.error_code, t.topic_authorized_operations) for t in named.topics] == [
        (seen, 0, DESCRIBE_ONLY), (hidden, TOPIC_AUTHORIZATION_FAILED, NOT_REQUESTED)]
    assert named.topics[1].topic_id in (None, uuid.UUID(int=0))
    assert [t.name for t in every.topics] == [seen]  # all topics: the others are left out


def test_elect_leaders(target: Secured) -> None:
    name = fresh("el")
    create_topic(target, name)
    alice = as_user(target, "elect")
    tp = TopicPartition(name, 0)
    with pytest.raises(KafkaException) as denied:
        alice.elect_leaders(ElectionType.PREFERRED, [tp]).result(20)
    assert code_of(denied) == KafkaError.CLUSTER_AUTHORIZATION_FAILED

    grant(target, "elect", ResourceType.BROKER, "kafka-cluster", AclOperation.ALTER)
    results = alice.elect_leaders(ElectionType.PREFERRED, [tp]).result(20)
    assert results[tp].code() == KafkaError.ELECTION_NOT_NEEDED


def test_acl_apis_need_the_cluster(target: Secured) -> None:
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        KafkaAdminClient,
        ResourcePattern,
    )
    from kafka.admin import ResourceType as KResourceType
    from kafka.errors import ClusterAuthorizationFailedError, NoError

    name = fresh("acl")
    alice = KafkaAdminClient(**target.pki.kafka_python("acls", target.tls))
    try:
        flt = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                        ResourcePattern(KResourceType.TOPIC, name))
        with pytest.raises(ClusterAuthorizationFailedError, match="needs DESCRIBE permission"):
            alice.describe_acls(flt)
        acl = ACL("User:someone", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                  ResourcePattern(KResourceType.TOPIC, name))
        created = alice.create_acls([acl])
        assert not created["succeeded"] and len(created["failed"]) == 1
        assert created["failed"] == [ClusterAuthorizationFailedError]
        [(_, matched, error)] = alice.delete_acls([flt])
        assert error is ClusterAuthorizationFailedError and matched == []

        grant(target, "acls", ResourceType.BROKER, "kafka-cluster", AclOperation.DESCRIBE)
        acls, error = alice.describe_acls(flt)
        assert error is NoError and acls == []
        grant(target, "acls", ResourceType.BROKER, "kafka-cluster", AclOperation.ALTER)
        assert len(alice.create_acls([acl])["succeeded"]) == 1
        wait_for(lambda: len(alice.describe_acls(flt)[0]) == 1, timeout=20)
        [(_, matched, error)] = alice.delete_acls([flt])
        assert error is NoError and len(matched) == 1
    finally:
        alice.close()


def test_protocol_answers(target: Secured) -> None:
    """What Kafka 4.4 answers field by field where clients hide it: order, messages, which check wins."""
    allowed, hidden = fresh("pa-ok"), fresh("pa-hidden")
    create_topic(target, allowed)
    create_topic(target, hidden)
    grant(target, "proto", ResourceType.TOPIC, allowed, AclOperation.ALL)
    missing = fresh("pa-missing")
    with TlsRawClient(target.tls, target.pki, "proto") as raw:
        topic = CreateTopicsRequest.CreatableTopic
        created = raw.call(CreateTopicsRequest(version=7, timeout_ms=10000, validate_only=True, topics=[
            topic(name="dup", num_partitions=1, replication_factor=1),
            topic(name="dup", num_partitions=1, replication_factor=1),
            topic(name=hidden, num_partitions=1, replication_factor=1),
        ]), CreateTopicsResponse)
        records = raw.call(DeleteRecordsRequest(version=2, timeout_ms=10000, topics=[
            DeleteRecordsRequest.DeleteRecordsTopic(name=n, partitions=[(0, -1)]) for n in (missing, allowed)
        ]), DeleteRecordsResponse)
        described = raw.call(DescribeConfigsRequest(version=4, include_synonyms=False, resources=[
            (2, hidden, None), (4, "1", None), (2, allowed, ["retention.ms"]), (2, missing, None),
        ]), DescribeConfigsResponse)
        altered = raw.call(AlterConfigsRequest(version=2, validate_only=True, resources=[
            (2, missing, [("retention.ms", "1000")]), (4, "1", [("log.dirs", "/elsewhere")]),
            (2, allowed, [("retention.ms", "1000"), ("retention.ms", "2000")]), (2, allowed + "x", [("no.such", "1")]),
        ]), AlterConfigsResponse)
    assert sorted((t.name, t.error_code, t.error_message) for t in created.topics) == sorted([
        ("dup", 42, "Duplicate topic name."), (hidden, TOPIC_AUTHORIZATION_FAILED, "Authorization failed.")])
    # Authorization before existence: an unknown topic the principal may not delete from is not revealed.
    assert {t.name: [(p.error_code, p.low_watermark) for p in t.partitions] for t in records.topics} == {
        missing: [(TOPIC_AUTHORIZATION_FAILED, -1)], allowed: [(0, 0)]}
    # Denied resources come after the described ones (in request order), with Kafka's messages.
    assert [(r.resource_name, r.error_code, r.error_message) for r in described.results] == [
        (allowed, 0, ""), (hidden, TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed."),
        ("1", CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed."),
        (missing, TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed.")]
    # A denied broker resource carries no message and is refused before its configs are looked at;
    # duplicate keys are refused before authorization.
    assert sorted((r.resource_name, r.error_code, r.error_message) for r in altered.responses) == sorted([
        (missing, TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed."),
        ("1", CLUSTER_AUTHORIZATION_FAILED, None),
        (allowed, 42, "Error due to duplicate config keys"),
        (allowed + "x", TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed."),
    ])


def test_kafka_python_reports_denials(target: Secured) -> None:
    """kafka-python's KafkaAdminClient raises Kafka's error per API; the grant makes the same call work."""
    from kafka.admin import KafkaAdminClient, NewPartitions
    from kafka.admin import NewTopic as KNewTopic
    from kafka.errors import ClusterAuthorizationFailedError, TopicAuthorizationFailedError
    from kafka.structs import TopicPartition as KTopicPartition

    name, made = fresh("kp"), fresh("kp-new")
    create_topic(target, name)
    client = KafkaAdminClient(**target.pki.kafka_python("kp", target.tls))
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            client.create_topics([KNewTopic(made, 1, 1)])
        with pytest.raises(TopicAuthorizationFailedError):
            client.delete_topics([name])
        with pytest.raises(TopicAuthorizationFailedError):
            client.create_partitions({name: NewPartitions(2)})
        with pytest.raises(ClusterAuthorizationFailedError):
            client.elect_leaders(0, [KTopicPartition(name, 0)])
        assert client.describe_cluster()["authorized_operations"] == []
        [denied] = client.describe_topic_partitions([name])["topics"]
        assert (denied["error_code"], denied["partitions"]) == (TOPIC_AUTHORIZATION_FAILED, [])
        grant(target, "kp", ResourceType.TOPIC, name, AclOperation.DESCRIBE)  # the client looks up leaders first
        with pytest.raises(TopicAuthorizationFailedError):
            client.delete_records({KTopicPartition(name, 0): 0})

        grant(target, "kp", ResourceType.TOPIC, made, AclOperation.CREATE)
        grant(target, "kp", ResourceType.TOPIC, name, AclOperation.ALTER, AclOperation.DELETE)
        client.create_topics([KNewTopic(made, 1, 1)])
        client.create_partitions({name: NewPartitions(2)})
        client.delete_topics([name])
        wait_for(lambda: name not in admin(target).list_topics(timeout=10).topics, timeout=20)
    finally:
        client.close()


def test_request_forms_as_kafka_reads_them(target: Secured) -> None:
    """DeleteTopics' duplicate names and ids, and CreateTopics of Kafka's metadata log (checks made beside the ACLs)."""
    one, two, three = fresh("rf1"), fresh("rf2"), fresh("rf3")
    for name in (one, two, three):
        create_topic(target, name)
    state = DeleteTopicsRequest.DeleteTopicState
    with RawClient(target.plain) as raw:
        ids = {t.name: t.topic_id for t in raw.call(DescribeTopicPartitionsRequest(
            version=0, topics=[DescribeTopicPartitionsRequest.TopicRequest(name=n) for n in (one, two, three)],
            response_partition_limit=10), DescribeTopicPartitionsResponse).topics}
        deleted = raw.call(DeleteTopicsRequest(version=6, timeout_ms=10000, topics=[
            state(name=one), state(name=one), state(name=None, topic_id=ids[two]), state(name=None, topic_id=ids[two]),
            state(name=three), state(name=None, topic_id=ids[three]),
        ]), DeleteTopicsResponse)
        created = raw.call(CreateTopicsRequest(version=7, timeout_ms=10000, validate_only=True, topics=[
            CreateTopicsRequest.CreatableTopic(name="__cluster_metadata", num_partitions=1, replication_factor=1),
        ]), CreateTopicsResponse)
    assert sorted(((r.name or ""), r.error_code, r.error_message) for r in deleted.responses) == sorted([
        ("", 42, "Duplicate topic id."), (one, 42, "Duplicate topic name."),
        (three, 42, "The provided topic name maps to an ID that was already supplied.")])
    assert {r.topic_id for r in deleted.responses if r.name == three} == {ids[three]}
    assert set(admin(target).list_topics(timeout=10).topics) >= {one, two, three}  # none of them deleted
    assert [(t.error_code, t.error_message) for t in created.topics] == [
        (42, "Creation of internal topic __cluster_metadata is prohibited.")]


def test_cluster_admin_apis_need_the_cluster(target: Secured) -> None:
    """Reassignments, log-dir moves, the quorum and config resources, from a principal without ACLs."""
    name = fresh("cl-admin")
    create_topic(target, name)
    with TlsRawClient(target.tls, target.pki, "reassign") as raw:
        def ask(key: int, version: int, **fields: object) -> object:
            request_class, response_class = codec.message_classes(key)  # type: ignore[misc]
            return raw.call(request_class(version=version, **fields), response_class)

        reassign: Any = ask(45, 1, timeout_ms=10000, allow_replication_factor_change=True, topics=[(name, [(0, [1])])])
        listed: Any = ask(46, 0, timeout_ms=10000, topics=None)
        quorum: Any = ask(55, 2, topics=[("__cluster_metadata", [(0,)])])
        resources: Any = ask(74, 1, resource_types=[])
        moved: Any = ask(34, 2, dirs=[("/nowhere", [(name, [0])])])
    assert reassign.error_code == CLUSTER_AUTHORIZATION_FAILED
    assert reassign.error_message.endswith("needs ALTER permission.")
    assert [(p.error_code, p.error_message) for p in reassign.responses[0].partitions] == [
        (CLUSTER_AUTHORIZATION_FAILED, reassign.error_message)]
    assert listed.error_code == CLUSTER_AUTHORIZATION_FAILED
    assert listed.error_message.endswith("needs DESCRIBE permission.")
    assert list(listed.topics) == []
    assert quorum.error_code == CLUSTER_AUTHORIZATION_FAILED and list(quorum.topics) == []
    assert (resources.error_code, list(resources.config_resources)) == (CLUSTER_AUTHORIZATION_FAILED, [])
    assert [(p.partition_index, p.error_code) for t in moved.results for p in t.partitions] == [
        (0, CLUSTER_AUTHORIZATION_FAILED)]
