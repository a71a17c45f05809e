"""kafka-python's own ACL integration test (test/integration/test_admin_integration.py,
test_create_describe_delete_acls), ported check for check, against a broker configured as
kafka-python's test fixture configures Kafka 4: ``authorizer.class.name`` StandardAuthorizer and
``allow.everyone.if.no.acl.found=true``, no super user. The admin APIs then pass their cluster
checks (ALTER / DESCRIBE on kafka-cluster) only because no ACL names the cluster: the last test
shows the same client refused once one denies it. Runs on kafkalite and, with a JVM, on Apache Kafka.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kafka.admin import ACL, ACLFilter, ACLOperation, ACLPermissionType, KafkaAdminClient, ResourcePattern, ResourceType
from kafka.errors import ClusterAuthorizationFailedError, NoError

from compat_tests.authz_tls import STANDARD_AUTHORIZER
from compat_tests.conftest import kafkalite_or_kafka, wait_for

pytestmark = pytest.mark.timeout(180)

SETTINGS = {"authorizer.class.name": STANDARD_AUTHORIZER, "allow.everyone.if.no.acl.found": "true"}


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def bootstrap(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with kafkalite_or_kafka(request.param, tmp_path_factory.mktemp("kp-acls") / "data", SETTINGS) as address:
        yield address


@pytest.fixture
def kafka_admin_client(bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield client
    client.close()


def test_create_describe_delete_acls(kafka_admin_client: KafkaAdminClient) -> None:
    """Tests that we can add, list and remove ACLs (kafka-python's test, same resource, filters and checks)."""
    # Check that we don't have any ACLs in the cluster
    acls, error = kafka_admin_client.describe_acls(
        ACLFilter(principal=None, host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                  resource_pattern=ResourcePattern(ResourceType.TOPIC, "topic"))
    )
    assert error is NoError
    assert len(acls) == 0

    # Try to add an ACL
    acl = ACL(principal="User:test", host="*", operation=ACLOperation.READ, permission_type=ACLPermissionType.ALLOW,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, "topic"))
    result = kafka_admin_client.create_acls([acl])
    assert len(result["failed"]) == 0
    assert len(result["succeeded"]) == 1

    # Check that we can list the ACL we created
    acl_filter = ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                           permission_type=ACLPermissionType.ANY,
                           resource_pattern=ResourcePattern(ResourceType.TOPIC, "topic"))
    acls, error = kafka_admin_client.describe_acls(acl_filter)
    assert error is NoError
    assert len(acls) == 1

    # Remove the ACL
    delete_results = kafka_admin_client.delete_acls([
        ACLFilter(principal="User:test", host="*", operation=ACLOperation.READ,
                  permission_type=ACLPermissionType.ALLOW,
                  resource_pattern=ResourcePattern(ResourceType.TOPIC, "topic"))
    ])
    assert len(delete_results) == 1
    assert len(delete_results[0][1]) == 1  # Check number of affected ACLs

    # Make sure the ACL does not exist in the cluster anymore
    acls, error = kafka_admin_client.describe_acls(
        ACLFilter(principal="*", host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                  resource_pattern=ResourcePattern(ResourceType.TOPIC, "topic"))
    )
    assert error is NoError
    assert len(acls) == 0


def test_deny_on_the_cluster_refuses_describe_acls(kafka_admin_client: KafkaAdminClient) -> None:
    """Once an ACL names the cluster, allow.everyone.if.no.acl.found no longer applies to it, and DENY wins.

    User:ANONYMOUS (this listener, and on Kafka the broker's own principal too) keeps ALL on the
    cluster but is denied DESCRIBE: DescribeAcls is refused while CreateAcls / DeleteAcls (ALTER) work.
    """
    cluster = ResourcePattern(ResourceType.CLUSTER, "kafka-cluster")
    allow = ACL("User:ANONYMOUS", "*", ACLOperation.ALL, ACLPermissionType.ALLOW, cluster)
    deny = ACL("User:ANONYMOUS", "*", ACLOperation.DESCRIBE, ACLPermissionType.DENY, cluster)
    assert len(kafka_admin_client.create_acls([allow, deny])["succeeded"]) == 2
    every = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY, ResourcePattern(ResourceType.TOPIC, "t"))
    with pytest.raises(ClusterAuthorizationFailedError, match="needs DESCRIBE permission"):
        _wait_refused(kafka_admin_client, every)
    deny_filter = ACLFilter("User:ANONYMOUS", "*", ACLOperation.DESCRIBE, ACLPermissionType.DENY, cluster)
    [(_, removed, error)] = kafka_admin_client.delete_acls([deny_filter])
    assert error is NoError and len(removed) == 1
    wait_for(lambda: kafka_admin_client.describe_acls(every)[1] is NoError, timeout=20)


def _wait_refused(client: KafkaAdminClient, flt: ACLFilter) -> None:
    """Kafka's broker applies a new ACL from the metadata log a moment after CreateAcls answers."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        client.describe_acls(flt)
        time.sleep(0.1)
