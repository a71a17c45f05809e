"""CreateAcls / DescribeAcls / DeleteAcls through kafka-python and confluent-kafka, authorizer on.

The kafka-python half is the equivalent of kafka-python's own integration test
(test_admin_integration's create/describe/delete ACLs). The broker runs with Kafka's
StandardAuthorizer class name and ``super.users=User:ANONYMOUS`` so the plaintext client may
administer, as a Kafka broker would be configured for that test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
)
from confluent_kafka.admin import ResourceType as CResourceType
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import NoError, SecurityDisabledError

from compat_tests.brokerproc import BrokerProcess

AUTHORIZER = ["--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
              "--override", "super.users=User:ANONYMOUS"]


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("acls") / "data", extra_args=AUTHORIZER)
    proc.start()
    yield proc
    if proc.alive():
        proc.stop()


def _topic_filter(name: str, principal: str | None = None) -> ACLFilter:
    return ACLFilter(principal=principal, host="*", operation=ACLOperation.ANY,
                     permission_type=ACLPermissionType.ANY,
                     resource_pattern=ResourcePattern(ResourceType.TOPIC, name))


def test_kafka_python_create_describe_delete_acls(acl_broker: BrokerProcess) -> None:
    """kafka-python's test_create_describe_delete_acls, step for step."""
    topic = f"topic-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=acl_broker.bootstrap)
    try:
        acls, error = admin.describe_acls(_topic_filter(topic))
        assert error is NoError
        assert len(acls) == 0

        acl = ACL(principal="User:test", host="*", operation=ACLOperation.READ,
                  permission_type=ACLPermissionType.ALLOW, resource_pattern=ResourcePattern(ResourceType.TOPIC, topic))
        result = admin.create_acls([acl])
        assert len(result["failed"]) == 0
        assert len(result["succeeded"]) == 1

        acls, error = admin.describe_acls(_topic_filter(topic))
        assert error is NoError
        assert len(acls) == 1
        [found] = acls
        assert (found.principal, found.host, found.operation, found.permission_type) == (
            "User:test", "*", ACLOperation.READ, ACLPermissionType.ALLOW)

        delete_results = admin.delete_acls([
            ACLFilter(principal="User:test", host="*", operation=ACLOperation.READ,
                      permission_type=ACLPermissionType.ALLOW,
                      resource_pattern=ResourcePattern(ResourceType.TOPIC, topic))
        ])
        assert len(delete_results) == 1
        assert len(delete_results[0][1]) == 1  # the ACLs it removed

        acls, error = admin.describe_acls(_topic_filter(topic, principal="*"))
        assert error is NoError
        assert len(acls) == 0
    finally:
        admin.close()


def test_kafka_python_match_and_prefixed_filters(acl_broker: BrokerProcess) -> None:
    prefix = f"p{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=acl_broker.bootstrap)
    try:
        literal = ACL("User:alice", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                      ResourcePattern(ResourceType.TOPIC, f"{prefix}-orders"))
        prefixed = ACL("User:bob", "*", ACLOperation.READ, ACLPermissionType.DENY,
                       ResourcePattern(ResourceType.TOPIC, prefix, ACLResourcePatternType.PREFIXED))
        result = admin.create_acls([literal, prefixed])
        assert len(result["succeeded"]) == 2, result
        match = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                          ResourcePatternFilter(ResourceType.TOPIC, f"{prefix}-orders", ACLResourcePatternType.MATCH))
        acls, error = admin.describe_acls(match)
        assert error is NoError
        assert {a.principal for a in acls} == {"User:alice", "User:bob"}
        deleted = admin.delete_acls([ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                               ResourcePatternFilter(ResourceType.TOPIC, prefix,
                                                                     ACLResourcePatternType.PREFIXED))])
        assert [a.principal for a in deleted[0][1]] == ["User:bob"]
        acls, _ = admin.describe_acls(match)
        assert [a.principal for a in acls] == ["User:alice"]
    finally:
        admin.close()


def test_confluent_create_describe_delete_acls(acl_broker: BrokerProcess) -> None:
    topic = f"topic-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": acl_broker.bootstrap})
    binding = AclBinding(CResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:carol", "*",
                         AclOperation.WRITE, AclPermissionType.ALLOW)
    group_binding = AclBinding(CResourceType.GROUP, topic, ResourcePatternType.PREFIXED, "User:carol", "*",
                               AclOperation.READ, AclPermissionType.ALLOW)
    for fut in admin.create_acls([binding, group_binding], request_timeout=10).values():
        assert fut.result(timeout=15) is None
    flt = AclBindingFilter(CResourceType.ANY, topic, ResourcePatternType.ANY, "User:carol", None,
                           AclOperation.ANY, AclPermissionType.ANY)
    found = admin.describe_acls(flt, request_timeout=10).result(timeout=15)
    assert sorted(found, key=str) == sorted([binding, group_binding], key=str)
    deleted = admin.delete_acls([flt], request_timeout=10)[flt].result(timeout=15)
    assert sorted(deleted, key=str) == sorted([binding, group_binding], key=str)
    assert admin.describe_acls(flt, request_timeout=10).result(timeout=15) == []


def test_confluent_invalid_binding(acl_broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": acl_broker.bootstrap})
    bad = AclBinding(CResourceType.BROKER,  # librdkafka calls resource type 4 (CLUSTER) BROKER
                      "not-the-cluster", ResourcePatternType.LITERAL, "User:dave", "*",
                     AclOperation.ALTER, AclPermissionType.ALLOW)
    with pytest.raises(KafkaException) as excinfo:
        admin.create_acls([bad], request_timeout=10)[bad].result(timeout=15)
    assert "kafka-cluster" in str(excinfo.value)


def test_security_disabled_without_authorizer(broker: BrokerProcess) -> None:
    """As Kafka with an empty authorizer.class.name: every ACL API answers SECURITY_DISABLED."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        with pytest.raises(SecurityDisabledError, match="No Authorizer is configured on the broker"):
            admin.describe_acls(_topic_filter("t"))
        result = admin.create_acls([ACL("User:x", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                                        ResourcePattern(ResourceType.TOPIC, "t"))])
        assert result["failed"] and not result["succeeded"]
    finally:
        admin.close()


def test_acls_survive_restart(own_broker: BrokerProcess, tmp_path: Path) -> None:
    own_broker.extra_args = AUTHORIZER
    own_broker.start()
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap)
    keep = ACL("User:erin", "*", ACLOperation.DESCRIBE, ACLPermissionType.ALLOW,
               ResourcePattern(ResourceType.GROUP, "g", ACLResourcePatternType.PREFIXED))
    drop = ACL("User:erin", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
               ResourcePattern(ResourceType.TOPIC, "t"))
    assert len(admin.create_acls([keep, drop])["succeeded"]) == 2
    assert len(admin.delete_acls([_topic_filter("t")])[0][1]) == 1
    admin.close()
    own_broker.stop()
    own_broker.start()
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap)
    try:
        every = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                          ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        acls, error = admin.describe_acls(every)
        assert error is NoError
        assert [(a.principal, a.operation, a.resource_pattern.resource_type, a.resource_pattern.pattern_type)
                for a in acls] == [("User:erin", ACLOperation.DESCRIBE, ResourceType.GROUP,
                                    ACLResourcePatternType.PREFIXED)]
    finally:
        admin.close()
