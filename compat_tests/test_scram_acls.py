"""The CLUSTER checks of DescribeUserScramCredentials / AlterUserScramCredentials, end to end.

A SCRAM user without ACLs, then with DESCRIBE / ALTER on the cluster, drives confluent-kafka's admin
client over SASL_PLAINTEXT against kafkalite and against Apache Kafka 4.4 with the StandardAuthorizer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from compat_tests.conftest import wait_for
from compat_tests.secure import (
    SecureBroker,
    confluent_conf,
    kafka_python_conf,
    reference_kafka_kwargs,
    start_secure_broker,
)
from kafkalite.conformance.reference import KAFKA_VERSION, ReferenceKafka, java_available

MECHANISMS = ("SCRAM-SHA-256",)
INITIAL = ["SCRAM-SHA-256=[name=alice,password=alice-secret]", "SCRAM-SHA-256=[name=admin,password=admin-secret]"]
SETTINGS = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    # ANONYMOUS: the PLAINTEXT listener, used to set up (and by Kafka between its broker and controller).
    "super.users": "User:admin;User:ANONYMOUS",
}


@pytest.fixture(scope="module")
def scram_acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    broker = start_secure_broker(
        tmp_path_factory.mktemp("scram-acl"), mechanisms=MECHANISMS, users={}, overrides=SETTINGS,
        extra_args=[arg for entry in INITIAL for arg in ("--add-scram", entry)],
    )
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def scram_acl_kafka() -> Iterator[ReferenceKafka]:
    if not java_available():
        pytest.skip(f"Apache Kafka {KAFKA_VERSION} needs java and mvn on PATH")
    kafka = ReferenceKafka(**reference_kafka_kwargs(mechanisms=MECHANISMS, users={}, overrides=SETTINGS),
                           add_scram=INITIAL).start()
    yield kafka
    kafka.stop()


@pytest.fixture(params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """(name, SASL_PLAINTEXT bootstrap, PLAINTEXT bootstrap)."""
    if request.param == "kafkalite":
        broker: SecureBroker = request.getfixturevalue("scram_acl_broker")
        return "kafkalite", broker.bootstrap("SASL_PLAINTEXT"), broker.plaintext
    kafka: ReferenceKafka = request.getfixturevalue("scram_acl_kafka")
    return "kafka", kafka.listener_bootstrap("SASL_PLAINTEXT"), kafka.bootstrap


def admin_as(bootstrap: str, user: str) -> AdminClient:
    return AdminClient(confluent_conf(bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-256", user, f"{user}-secret"))


def error_of(future: object) -> KafkaError | None:
    try:
        future.result(15)  # type: ignore[attr-defined]
    except KafkaException as exc:
        return exc.args[0]  # type: ignore[no-any-return]
    return None


def cluster_acl(operation: AclOperation) -> AclBinding:
    return AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:alice", "*",
                      operation, AclPermissionType.ALLOW)


def test_cluster_describe_and_alter_are_checked(target: tuple[str, str, str]) -> None:
    from kafka import KafkaAdminClient
    from kafka.errors import ClusterAuthorizationFailedError, RequestTimedOutError

    name, sasl, plain = target
    setup = AdminClient({"bootstrap.servers": plain})
    alice = admin_as(sasl, "alice")
    upsert = UserScramCredentialUpsertion("carol", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"pw")

    altered = error_of(alice.alter_user_scram_credentials([upsert], request_timeout=15)["carol"])
    assert altered is not None and altered.code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    assert altered.str().startswith("Request ")  # Kafka prints its request object (cut by librdkafka)

    # Refused describes through kafka-python: confluent-kafka 2.16 crashes (invalid free) on Kafka's
    # CLUSTER_AUTHORIZATION_FAILED answer to DescribeUserScramCredentials, with both brokers.
    kp_admin = KafkaAdminClient(**kafka_python_conf(sasl, "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice",
                                                    "alice-secret"), request_timeout_ms=3000)
    try:
        with pytest.raises(ClusterAuthorizationFailedError):
            kp_admin.describe_user_scram_credentials(["admin"])
        # Kafka never answers a refused describe of all users (its error response walks a null
        # list); kafkalite answers CLUSTER_AUTHORIZATION_FAILED.
        with pytest.raises(ClusterAuthorizationFailedError if name == "kafkalite" else RequestTimedOutError):
            kp_admin.describe_user_scram_credentials()
    finally:
        kp_admin.close()

    for future in setup.create_acls([cluster_acl(AclOperation.DESCRIBE), cluster_acl(AclOperation.ALTER)],
                                    request_timeout=15).values():
        future.result(15)

    def allowed() -> bool:
        return error_of(alice.alter_user_scram_credentials([upsert], request_timeout=15)["carol"]) is None

    wait_for(allowed, timeout=20, what="ALTER allowed")
    desc = alice.describe_user_scram_credentials(["carol"], request_timeout=15)["carol"].result(15)
    assert [(i.mechanism, i.iterations) for i in desc.scram_credential_infos] == [(ScramMechanism.SCRAM_SHA_256, 4096)]
