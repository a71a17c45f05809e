"""ACLs enforced on the data, group and transaction APIs, seen through real clients' APIs.

Each test runs on kafkalite and on Apache Kafka 4.4 configured the same way. One broker per
module with Kafka's StandardAuthorizer (compat_tests/authz_tls.py): its PLAINTEXT listener
is the administrator (``super.users=User:ANONYMOUS``, as a Kafka broker whose plaintext listener
is also the inter-broker one), its SSL listener requires client certificates, and each test
connects there as a principal of its own (``User:CN=<name>``), so the ACLs one test grants never
help another. Each test shows the refusal as the client reports it, then grants the ACL and
shows the same call working.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
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

from compat_tests.authz_tls import Secured, start_secured
from compat_tests.conftest import wait_for
from kafkalite.conformance.reference import java_available

pytestmark = pytest.mark.timeout(120)


#: One client certificate (and so one principal, ``User:CN=<name>``) per test: no test's ACLs help another.
USERS = ["producer", "kp-producer", "consumer", "kp-consumer", "metadata", "creator", "txn", "idempotent",
         "groups", "offsets"]


@dataclass
class SecuredBroker:
    secured: Secured
    _admin: AdminClient | None = None

    @property
    def plain(self) -> str:
        return self.secured.plain

    def admin(self) -> AdminClient:
        """The administrator's client (kept: a destroyed client fails its pending futures)."""
        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.plain})
        return self._admin

    def principal(self, user: str) -> Principal:
        return Principal(self, user)

    def grant(self, principal: str, resource_type: ResourceType, name: str, *operations: AclOperation) -> None:
        bindings = [
            AclBinding(resource_type, name, ResourcePatternType.LITERAL, principal, "*", op, AclPermissionType.ALLOW)
            for op in operations
        ]
        for future in self.admin().create_acls(bindings).values():
            future.result(15)
        # Kafka's authorizer has a binding a moment after CreateAcls answers.
        flt = AclBindingFilter(resource_type, name, ResourcePatternType.LITERAL, principal, None, AclOperation.ANY,
                               AclPermissionType.ANY)
        wait_for(lambda: len(self.admin().describe_acls(flt).result(15)) >= len(operations), timeout=20)
        time.sleep(0.2 if self.secured.kind == "kafka" else 0)

    def create_topic(self, name: str) -> None:
        for future in self.admin().create_topics([NewTopic(name, 1, 1)]).values():
            future.result(15)

    def produce(self, topic: str, count: int) -> None:
        producer = Producer({"bootstrap.servers": self.plain})
        for i in range(count):
            producer.produce(topic, value=f"v{i}".encode())
        assert producer.flush(15) == 0


@dataclass
class Principal:
    broker: SecuredBroker
    name: str

    @property
    def user(self) -> str:
        return f"User:CN={self.name}"

    def confluent(self, **extra: Any) -> dict[str, Any]:
        secured = self.broker.secured
        return {**secured.pki.confluent(self.name, secured.tls), **extra}

    def kafka_python(self, **extra: Any) -> dict[str, Any]:
        secured = self.broker.secured
        return {**secured.pki.kafka_python(self.name, secured.tls), **extra}

    def grant(self, resource_type: ResourceType, name: str, *operations: AclOperation) -> None:
        self.broker.grant(self.user, resource_type, name, *operations)


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def secured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    """kafkalite, and Apache Kafka 4.4 configured the same way (skipped without java and mvn)."""
    if request.param == "kafka" and not java_available():
        pytest.skip("Apache Kafka needs java and mvn on PATH")
    broker = start_secured(request.param, tmp_path_factory.mktemp(f"authz-data-{request.param}"), USERS)
    yield SecuredBroker(broker)
    broker.stop()


def _deliver(conf: dict[str, Any], topic: str, count: int = 3) -> list[KafkaError | None]:
    """Produce ``count`` records; the delivery report's error for each (None when written)."""
    producer = Producer({**conf, "message.timeout.ms": 10000})
    reports: list[KafkaError | None] = []
    for i in range(count):
        producer.produce(topic, value=f"r{i}".encode(), on_delivery=lambda err, _msg: reports.append(err))
    producer.flush(20)
    return reports


def _first_consumer_error(consumer: Consumer, timeout: float = 20.0) -> KafkaError:
    def poll() -> KafkaError | None:
        msg = consumer.poll(0.5)
        return msg.error() if msg is not None and msg.error() is not None else None
    return wait_for(poll, timeout, what="a consumer error")


def _refusal(make_consumer: Callable[[], Consumer]) -> int:
    """The code of the first error a fresh consumer meets (it is closed after)."""
    consumer = make_consumer()
    try:
        return int(_first_consumer_error(consumer).code())
    finally:
        consumer.close()


def _consume(consumer: Consumer, count: int, timeout: float = 20.0) -> list[bytes]:
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(values) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            values.append(msg.value())
    return values


def test_produce_needs_write_on_the_topic(secured: SecuredBroker, topic_name: str) -> None:
    secured.create_topic(topic_name)
    alice = secured.principal("producer")
    # Not even DESCRIBE: the topic is not disclosed, librdkafka fails the records with the refusal.
    reports = _deliver(alice.confluent(), topic_name)
    assert reports and all(e is not None and e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED for e in reports)
    # DESCRIBE only: metadata answers, the Produce request itself is refused.
    alice.grant(ResourceType.TOPIC, topic_name, AclOperation.DESCRIBE)
    reports = _deliver(alice.confluent(), topic_name)
    assert reports and all(e is not None and e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED for e in reports)
    alice.grant(ResourceType.TOPIC, topic_name, AclOperation.WRITE)
    assert _deliver(alice.confluent(), topic_name) == [None, None, None]


def test_kafka_python_producer_gets_topic_authorization_failed(secured: SecuredBroker, topic_name: str) -> None:
    from kafka import KafkaProducer
    from kafka.errors import TopicAuthorizationFailedError

    secured.create_topic(topic_name)
    bob = secured.principal("kp-producer")
    producer = KafkaProducer(**bob.kafka_python(max_block_ms=10000, retries=0))
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(topic_name, b"refused").get(timeout=15)
    finally:
        producer.close(timeout=5)
    bob.grant(ResourceType.TOPIC, topic_name, AclOperation.WRITE)
    producer = KafkaProducer(**bob.kafka_python(max_block_ms=10000))
    try:
        metadata = producer.send(topic_name, b"allowed").get(timeout=15)
        assert metadata.offset == 0
    finally:
        producer.close(timeout=5)


def test_consumer_group_needs_read_on_group_and_topic(secured: SecuredBroker, topic_name: str) -> None:
    secured.create_topic(topic_name)
    secured.produce(topic_name, 5)
    carol = secured.principal("consumer")
    group = f"g-{uuid.uuid4().hex[:8]}"
    carol.grant(ResourceType.TOPIC, topic_name, AclOperation.DESCRIBE)

    def consumer() -> Consumer:
        c = Consumer(carol.confluent(**{"group.id": group, "auto.offset.reset": "earliest"}))
        c.subscribe([topic_name])
        return c

    assert _refusal(consumer) == KafkaError.GROUP_AUTHORIZATION_FAILED
    carol.grant(ResourceType.GROUP, group, AclOperation.READ)
    assert _refusal(consumer) == KafkaError.TOPIC_AUTHORIZATION_FAILED  # in the group now, but not the topic
    carol.grant(ResourceType.TOPIC, topic_name, AclOperation.READ)
    c = consumer()
    try:
        assert _consume(c, 5) == [f"v{i}".encode() for i in range(5)]
        c.commit(asynchronous=False)
        [committed] = c.committed([TopicPartition(topic_name, 0)], timeout=10)
        assert committed.offset == 5
    finally:
        c.close()


def test_kafka_python_consumer_gets_group_authorization_failed(secured: SecuredBroker, topic_name: str) -> None:
    from kafka import KafkaConsumer
    from kafka.errors import GroupAuthorizationFailedError

    secured.create_topic(topic_name)
    secured.produce(topic_name, 2)
    dave = secured.principal("kp-consumer")
    group = f"g-{uuid.uuid4().hex[:8]}"
    dave.grant(ResourceType.TOPIC, topic_name, AclOperation.READ)
    consumer = KafkaConsumer(topic_name, **dave.kafka_python(group_id=group, auto_offset_reset="earliest"))
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                consumer.poll(timeout_ms=500)
    finally:
        consumer.close()
    dave.grant(ResourceType.GROUP, group, AclOperation.READ)
    consumer = KafkaConsumer(topic_name, **dave.kafka_python(group_id=group, auto_offset_reset="earliest",
                                                             consumer_timeout_ms=15000))
    try:
        values = []
        for message in consumer:
            values.append(message.value)
            if len(values) == 2:
                break
        assert values == [b"v0", b"v1"]
    finally:
        consumer.close()


def test_metadata_hides_topics_the_principal_may_not_describe(secured: SecuredBroker, topic_name: str) -> None:
    from kafka import KafkaConsumer

    hidden, shown = f"{topic_name}-hidden", f"{topic_name}-shown"
    secured.create_topic(hidden)
    secured.create_topic(shown)
    erin = secured.principal("metadata")
    erin.grant(ResourceType.TOPIC, shown, AclOperation.DESCRIBE)
    admin = AdminClient(erin.confluent())
    listed = admin.list_topics(timeout=10).topics
    assert shown in listed and hidden not in listed
    named = admin.list_topics(topic=hidden, timeout=10).topics[hidden]
    assert named.error is not None and named.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # A topic that does not exist answers the same, so existence is not disclosed.
    missing = f"{topic_name}-missing"
    assert admin.list_topics(topic=missing, timeout=10).topics[missing].error.code() == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    )
    consumer = KafkaConsumer(**erin.kafka_python())
    try:
        topics = consumer.topics()
        assert shown in topics and hidden not in topics
    finally:
        consumer.close()
    erin.grant(ResourceType.TOPIC, hidden, AclOperation.READ)  # READ implies DESCRIBE
    assert hidden in admin.list_topics(timeout=10).topics


def test_auto_creation_needs_create(secured: SecuredBroker, topic_name: str) -> None:
    frank = secured.principal("creator")
    frank.grant(ResourceType.TOPIC, topic_name, AclOperation.DESCRIBE, AclOperation.WRITE)
    reports = _deliver(frank.confluent(), topic_name, 1)
    assert reports[0] is not None and reports[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert topic_name not in secured.admin().list_topics(timeout=10).topics
    frank.grant(ResourceType.TOPIC, topic_name, AclOperation.CREATE)
    assert _deliver(frank.confluent(), topic_name, 1) == [None]
    assert topic_name in secured.admin().list_topics(timeout=10).topics


def test_transactional_id_needs_write(secured: SecuredBroker, topic_name: str) -> None:
    secured.create_topic(topic_name)
    grace = secured.principal("txn")
    txn_id = f"tx-{uuid.uuid4().hex[:8]}"
    grace.grant(ResourceType.TOPIC, topic_name, AclOperation.WRITE)
    producer = Producer(grace.confluent(**{"transactional.id": txn_id}))
    with pytest.raises(KafkaException) as refused:
        producer.init_transactions(15)
    assert refused.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    grace.grant(ResourceType.TRANSACTIONAL_ID, txn_id, AclOperation.WRITE)
    producer = Producer(grace.confluent(**{"transactional.id": txn_id}))
    producer.init_transactions(15)
    producer.begin_transaction()
    producer.produce(topic_name, b"in a transaction")
    producer.commit_transaction(15)
    reader = Consumer({"bootstrap.servers": secured.plain, "group.id": "reader",
                       "isolation.level": "read_committed"})
    reader.assign([TopicPartition(topic_name, 0, 0)])
    try:
        assert _consume(reader, 1) == [b"in a transaction"]
    finally:
        reader.close()


def test_idempotent_producer_needs_write_on_some_topic(secured: SecuredBroker, topic_name: str) -> None:
    secured.create_topic(topic_name)
    heidi = secured.principal("idempotent")
    heidi.grant(ResourceType.TOPIC, topic_name, AclOperation.DESCRIBE)
    errors: list[KafkaError] = []
    producer = Producer(heidi.confluent(**{"enable.idempotence": True, "message.timeout.ms": 8000,
                                           "error_cb": lambda err: errors.append(err)}))
    producer.produce(topic_name, b"x")
    # InitProducerId: no IDEMPOTENT_WRITE on the cluster and no WRITE on any topic, a fatal error for librdkafka.
    with pytest.raises(KafkaException) as fatal:
        wait_for(lambda: producer.poll(0.2) is None and errors, 15, what="the producer's fatal error")
    assert fatal.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    heidi.grant(ResourceType.TOPIC, topic_name, AclOperation.WRITE)
    assert _deliver(heidi.confluent(**{"enable.idempotence": True}), topic_name, 2) == [None, None]


def test_group_admin_apis(secured: SecuredBroker, topic_name: str) -> None:
    secured.create_topic(topic_name)
    ivan = secured.principal("groups")
    seen, hidden = f"g-seen-{uuid.uuid4().hex[:6]}", f"g-hidden-{uuid.uuid4().hex[:6]}"
    for group in (seen, hidden):  # committed by the administrator: two empty groups
        c = Consumer({"bootstrap.servers": secured.plain, "group.id": group})
        c.commit(offsets=[TopicPartition(topic_name, 0, 0)], asynchronous=False)
        c.close()
    ivan.grant(ResourceType.GROUP, seen, AclOperation.DESCRIBE)
    admin = AdminClient(ivan.confluent())
    listed = {g.group_id for g in admin.list_consumer_groups().result(15).valid}
    assert seen in listed and hidden not in listed
    futures = admin.describe_consumer_groups([seen, hidden], include_authorized_operations=True)
    described = futures[seen].result(15)
    assert {op.name for op in described.authorized_operations} == {"DESCRIBE"}
    with pytest.raises(KafkaException) as refused:
        futures[hidden].result(15)
    assert refused.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    with pytest.raises(KafkaException) as refused:
        admin.delete_consumer_groups([seen])[seen].result(15)
    assert refused.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    ivan.grant(ResourceType.GROUP, seen, AclOperation.DELETE)
    admin.delete_consumer_groups([seen])[seen].result(15)
    assert seen not in {g.group_id for g in secured.admin().list_consumer_groups().result(15).valid}


def test_offsets_of_undescribable_topics_are_refused(secured: SecuredBroker, topic_name: str) -> None:
    other = f"{topic_name}-other"
    secured.create_topic(topic_name)
    secured.create_topic(other)
    judy = secured.principal("offsets")
    group = f"g-{uuid.uuid4().hex[:8]}"
    admin_consumer = Consumer({"bootstrap.servers": secured.plain, "group.id": group})
    admin_consumer.commit(offsets=[TopicPartition(topic_name, 0, 0), TopicPartition(other, 0, 0)], asynchronous=False)
    admin_consumer.close()
    judy.grant(ResourceType.GROUP, group, AclOperation.READ)
    judy.grant(ResourceType.TOPIC, topic_name, AclOperation.READ)
    c = Consumer(judy.confluent(**{"group.id": group}))
    try:
        shown, refused = c.committed([TopicPartition(topic_name, 0), TopicPartition(other, 0)], timeout=10)
        assert shown.error is None and shown.offset == 0
        assert refused.error is not None and refused.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
        # Committing to the topic it may not read: refused for that partition only.
        with pytest.raises(KafkaException) as failed:
            c.commit(offsets=[TopicPartition(other, 0, 0)], asynchronous=False)
        assert failed.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    finally:
        c.close()


