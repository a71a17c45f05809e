"""``kafkalite acls list|add|remove`` against kafkalite and Apache Kafka (authorizer on, TLS principals).

The commands run as the super user (the PLAINTEXT listener); what they add is then shown to take
effect for a TLS client-certificate principal, and ``remove`` to take it away again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from compat_tests.authz_tls import Secured, start_secured
from compat_tests.conftest import wait_for
from kafkalite.cli import main
from kafkalite.conformance.reference import java_available

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    if request.param == "kafka" and not java_available():
        pytest.skip("Apache Kafka needs java and mvn on PATH")
    secured = start_secured(request.param, tmp_path_factory.mktemp(f"acl-cli-{request.param}"), ["carol", "dave"])
    yield secured
    secured.stop()


def acls(target: Secured, *args: str) -> Result:
    return CliRunner().invoke(main, ["acls", *args, "-b", target.plain], catch_exceptions=False)


def acls_json(target: Secured, *args: str) -> Any:
    result = acls(target, *args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def row(principal: str, operation: str, resource_type: str, name: str, permission: str = "ALLOW",
        pattern: str = "LITERAL", host: str = "*") -> dict[str, str]:
    return {"principal": principal, "host": host, "operation": operation, "permission": permission,
            "resource_type": resource_type, "resource_name": name, "pattern_type": pattern}


def test_add_list_remove(target: Secured) -> None:
    topic, group = f"cli-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    carol = target.principal("carol")
    added = acls_json(target, "add", "--allow-principal", carol, "--operation", "Read", "--operation",
                      "describe-configs", "--topic", topic, "--group", group)
    expected = [row(carol, "READ", "GROUP", group), row(carol, "DESCRIBE_CONFIGS", "GROUP", group),
                row(carol, "READ", "TOPIC", topic), row(carol, "DESCRIBE_CONFIGS", "TOPIC", topic)]
    assert sorted(added, key=str) == sorted(expected, key=str)
    denied = acls_json(target, "add", "--deny-principal", carol, "--deny-host", "10.0.0.1", "--operation", "Write",
                       "--topic", topic[:6], "--resource-pattern-type", "prefixed")
    assert denied == [row(carol, "WRITE", "TOPIC", topic[:6], "DENY", "PREFIXED", "10.0.0.1")]
    cluster = acls_json(target, "add", "--allow-principal", carol, "--operation", "Describe", "--cluster")
    assert cluster == [row(carol, "DESCRIBE", "CLUSTER", "kafka-cluster")]

    wait_for(lambda: len(acls_json(target, "list", "--principal", carol)) == 6, timeout=20)
    on_topic = acls_json(target, "list", "--topic", topic)
    assert sorted(on_topic, key=str) == sorted(expected[2:], key=str)
    matching = acls_json(target, "list", "--topic", topic, "--resource-pattern-type", "match")
    assert len(matching) == 3  # the literal two and the prefixed deny
    table = acls(target, "list", "--cluster")
    assert table.exit_code == 0 and "kafka-cluster" in table.stdout and "DESCRIBE" in table.stdout

    removed = acls_json(target, "remove", "--topic", topic)  # no principal or operation: everything on it
    assert sorted(removed, key=str) == sorted(expected[2:], key=str)
    removed = acls_json(target, "remove", "--deny-principal", carol, "--operation", "Write", "--topic", topic[:6],
                        "--resource-pattern-type", "prefixed")
    assert len(removed) == 1
    acls_json(target, "remove", "--group", group, "--cluster")
    wait_for(lambda: acls_json(target, "list", "--principal", carol) == [], timeout=20)


def test_an_added_acl_takes_effect(target: Secured) -> None:
    topic = f"cli-eff-{uuid.uuid4().hex[:8]}"
    sup = AdminClient({"bootstrap.servers": target.plain})
    sup.create_topics([NewTopic(topic, 1, 1)])[topic].result(20)
    dave = AdminClient(target.pki.confluent("dave", target.tls))
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    with pytest.raises(KafkaException) as denied:
        dave.describe_configs([resource])[resource].result(20)
    assert denied.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    assert acls(target, "add", "--allow-principal", target.principal("dave"), "--operation", "DescribeConfigs",
                "--topic", topic).exit_code == 0

    def allowed() -> bool:
        try:
            return "retention.ms" in dave.describe_configs([resource])[resource].result(20)
        except KafkaException:
            return False

    wait_for(allowed, timeout=20)
    assert acls(target, "remove", "--topic", topic).exit_code == 0
    wait_for(lambda: not allowed(), timeout=20)


def test_errors(target: Secured) -> None:
    no_resource = acls(target, "add", "--allow-principal", "User:x")
    assert no_resource.exit_code == 2 and "name a resource" in no_resource.output
    bad_op = acls(target, "add", "--allow-principal", "User:x", "--operation", "Fly", "--topic", "t")
    assert bad_op.exit_code == 2 and "'Fly' is not one of" in bad_op.output
    bad_principal = acls(target, "add", "--allow-principal", "x", "--topic", "t")
    assert bad_principal.exit_code == 2 and "TYPE:NAME" in bad_principal.output


def test_security_disabled(broker: Any) -> None:
    """Without an authorizer the broker answers SECURITY_DISABLED, and the tool says so.

    (librdkafka's describe_acls does not surface that error: ``list`` shows an empty table.)
    """
    for args in (["add", "--allow-principal", "User:x", "--topic", "t"], ["remove", "--topic", "t"]):
        result = CliRunner().invoke(main, ["acls", *args, "-b", broker.bootstrap], catch_exceptions=False)
        assert result.exit_code == 1
        assert "SECURITY_DISABLED: No Authorizer is configured." in result.output  # Kafka 4.4's words


def test_producer_and_consumer_sets(target: Secured) -> None:
    """kafka-acls.sh's --producer / --consumer shorthands: the same bindings it would add."""
    topic, group, txn = f"pc-{uuid.uuid4().hex[:8]}", f"pcg-{uuid.uuid4().hex[:8]}", f"pct-{uuid.uuid4().hex[:8]}"
    who = "User:pc-" + uuid.uuid4().hex[:6]
    produced = acls_json(target, "add", "--allow-principal", who, "--producer", "--idempotent", "--topic", topic,
                         "--transactional-id", txn)
    assert sorted((r["resource_type"], r["resource_name"], r["operation"]) for r in produced) == sorted([
        ("TOPIC", topic, "WRITE"), ("TOPIC", topic, "DESCRIBE"), ("TOPIC", topic, "CREATE"),
        ("TRANSACTIONAL_ID", txn, "WRITE"), ("TRANSACTIONAL_ID", txn, "DESCRIBE"),
        ("CLUSTER", "kafka-cluster", "IDEMPOTENT_WRITE")])
    consumed = acls_json(target, "add", "--allow-principal", who, "--consumer", "--topic", topic, "--group", group)
    assert sorted((r["resource_type"], r["operation"]) for r in consumed) == [
        ("GROUP", "READ"), ("TOPIC", "DESCRIBE"), ("TOPIC", "READ")]
    # DESCRIBE on the topic is in both sets: one binding.
    wait_for(lambda: len(acls_json(target, "list", "--principal", who)) == 8, timeout=20)
    removed = acls_json(target, "remove", "--allow-principal", who, "--consumer", "--topic", topic, "--group", group)
    assert len(removed) == 3
    no_group = acls(target, "add", "--allow-principal", who, "--consumer", "--topic", topic)
    assert no_group.exit_code == 2 and "--consumer needs --group" in no_group.output
    acls_json(target, "remove", "--allow-principal", who, "--topic", topic, "--transactional-id", txn, "--cluster")
    wait_for(lambda: acls_json(target, "list", "--principal", who) == [], timeout=20)
