"""ACL enforcement for SASL principals: PLAIN and OAUTHBEARER logins are the principals the ACLs name.

The broker (compat_tests/secure.py) has a PLAINTEXT listener, whose User:ANONYMOUS is the super
user that creates topics and ACLs, and a SASL_PLAINTEXT listener where each client logs in as
itself. Skipped until the SASL listeners (branch ``sasl``) are there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from compat_tests.authz_tls import STANDARD_AUTHORIZER
from compat_tests.test_authorization_data import _consume, _deliver, _refusal

secure = pytest.importorskip("compat_tests.secure", reason="SASL listeners (branch sasl) not merged yet")

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    broker = secure.start_secure_broker(
        tmp_path_factory.mktemp("authz-sasl"), listeners=("SASL_PLAINTEXT",), mechanisms=("PLAIN", "OAUTHBEARER"),
        overrides={"authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:ANONYMOUS"},
    )
    yield broker
    broker.stop()


def _setup(broker: Any, topic: str, grants: list[tuple[ResourceType, str, str, AclOperation]]) -> None:
    admin = AdminClient({"bootstrap.servers": broker.plaintext})
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result(15)
    bindings = [AclBinding(rt, name, ResourcePatternType.LITERAL, principal, "*", op, AclPermissionType.ALLOW)
                for rt, name, principal, op in grants]
    for future in (admin.create_acls(bindings).values() if bindings else ()):
        future.result(15)


def test_plain_user_is_the_principal(sasl_broker: Any, topic_name: str) -> None:
    alice = secure.confluent_conf(sasl_broker, "SASL_PLAINTEXT", "PLAIN", "alice")
    bob = secure.confluent_conf(sasl_broker, "SASL_PLAINTEXT", "PLAIN", "bob")
    _setup(sasl_broker, topic_name, [])
    refused = _deliver(alice, topic_name, 1)
    assert refused[0] is not None and refused[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    _setup(sasl_broker, f"{topic_name}-other", [(ResourceType.TOPIC, topic_name, "User:alice", AclOperation.WRITE)])
    assert _deliver(alice, topic_name, 2) == [None, None]
    still = _deliver(bob, topic_name, 1)  # the ACL names alice only
    assert still[0] is not None and still[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_oauthbearer_subject_is_the_principal(sasl_broker: Any, topic_name: str) -> None:
    carol = secure.confluent_conf(sasl_broker, "SASL_PLAINTEXT", "OAUTHBEARER", "carol")
    group = f"g-{topic_name}"
    _setup(sasl_broker, topic_name, [(ResourceType.TOPIC, topic_name, "User:carol", AclOperation.READ)])
    admin_producer = {"bootstrap.servers": sasl_broker.plaintext}
    assert _deliver(admin_producer, topic_name, 2) == [None, None]

    def consumer() -> Consumer:
        c = Consumer({**carol, "group.id": group, "auto.offset.reset": "earliest"})
        c.subscribe([topic_name])
        return c

    assert _refusal(consumer) == KafkaError.GROUP_AUTHORIZATION_FAILED
    _setup(sasl_broker, f"{topic_name}-other", [(ResourceType.GROUP, group, "User:carol", AclOperation.READ)])
    c = consumer()
    try:
        assert _consume(c, 2) == [b"r0", b"r1"]
    finally:
        c.close()
