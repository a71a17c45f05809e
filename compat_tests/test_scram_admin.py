"""SCRAM user administration with real clients, against kafkalite and Apache Kafka alike.

DescribeUserScramCredentials / AlterUserScramCredentials through confluent-kafka's and kafka-python's
admin clients, the ``kafkalite users`` CLI (run against both brokers), credentials surviving a
restart, and initial users from ``serve --add-scram``.
"""

from __future__ import annotations

import gc
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from kafkalite.cli import main
from kafkalite.conformance.reference import ReferenceKafka

SHA256 = ScramMechanism.SCRAM_SHA_256
SHA512 = ScramMechanism.SCRAM_SHA_512


@pytest.fixture(autouse=True)
def _free_clients() -> Iterator[None]:
    """Collect the CLI's admin clients while their broker still runs (no reconnect noise at exit)."""
    yield
    gc.collect()


@pytest.fixture(params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest) -> Iterator[str]:
    """The bootstrap address of the shared kafkalite, or of Apache Kafka 4.4 (skipped without a JVM)."""
    if request.param == "kafkalite":
        yield request.getfixturevalue("broker").bootstrap
    else:
        kafka: ReferenceKafka = request.getfixturevalue("reference_kafka")
        yield kafka.bootstrap


def user_name() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def alter(admin: AdminClient, *alterations: Any) -> dict[str, KafkaError | None]:
    """user -> None or the KafkaError Kafka answered for that user."""
    out: dict[str, KafkaError | None] = {}
    for user, future in admin.alter_user_scram_credentials(list(alterations), request_timeout=15).items():
        try:
            future.result(15)
            out[user] = None
        except KafkaException as exc:
            out[user] = exc.args[0]
    return out


def described(admin: AdminClient, user: str) -> dict[str, int] | KafkaError:
    """mechanism name -> iterations for ``user``, or the KafkaError for it."""
    try:
        desc = admin.describe_user_scram_credentials([user], request_timeout=15)[user].result(15)
    except KafkaException as exc:
        return exc.args[0]  # type: ignore[no-any-return]
    return {info.mechanism.name: info.iterations for info in desc.scram_credential_infos}


def test_confluent_admin_upsert_describe_delete(target: str) -> None:
    admin = AdminClient({"bootstrap.servers": target})
    alice, bob = user_name(), user_name()
    assert alter(
        admin,
        UserScramCredentialUpsertion(alice, ScramCredentialInfo(SHA256, 4096), b"alice-secret"),
        UserScramCredentialUpsertion(bob, ScramCredentialInfo(SHA512, 8192), b"bob-secret", b"some-salt"),
    ) == {alice: None, bob: None}
    assert alter(admin, UserScramCredentialUpsertion(alice, ScramCredentialInfo(SHA512, 10000), b"x")) == {alice: None}
    # Kafka publishes the change through its metadata log: poll until the broker sees it.
    wait_for(lambda: described(admin, alice) == {"SCRAM_SHA_256": 4096, "SCRAM_SHA_512": 10000}, what="alice")
    assert described(admin, bob) == {"SCRAM_SHA_512": 8192}
    everyone = admin.describe_user_scram_credentials(request_timeout=15).result(15)
    assert {alice, bob} <= set(everyone)

    missing = described(admin, user_name())
    assert isinstance(missing, KafkaError) and missing.code() == KafkaError.RESOURCE_NOT_FOUND

    results = alter(
        admin,
        UserScramCredentialDeletion(bob, SHA256),  # bob has no SHA-256 credential
        UserScramCredentialUpsertion(user_name(), ScramCredentialInfo(SHA256, 100), b"x"),
    )
    errors = {e.code(): e.str() for e in results.values() if e is not None}
    assert errors == {
        KafkaError.RESOURCE_NOT_FOUND: "Attempt to delete a user credential that does not exist",
        KafkaError.UNACCEPTABLE_CREDENTIAL: "Too few iterations",
    }
    assert alter(admin, UserScramCredentialDeletion(bob, SHA512)) == {bob: None}
    wait_for(lambda: isinstance(described(admin, bob), KafkaError), what="bob deleted")


def test_kafka_python_admin(target: str) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import ScramMechanism as KpMechanism
    from kafka.admin import UserScramCredentialDeletion as KpDeletion
    from kafka.admin import UserScramCredentialUpsertion as KpUpsertion

    admin = KafkaAdminClient(bootstrap_servers=target)
    try:
        carol = user_name()
        assert admin.alter_user_scram_credentials([
            KpUpsertion(carol, KpMechanism.SCRAM_SHA_512, "carol-secret", iterations=9000),
        ]) == {carol: None}
        got = wait_for(lambda: admin.describe_user_scram_credentials([carol])[carol]["credential_infos"],
                       what="carol")
        assert got == [{"mechanism": KpMechanism.SCRAM_SHA_512, "iterations": 9000}]
        twice = admin.alter_user_scram_credentials([
            KpDeletion(carol, KpMechanism.SCRAM_SHA_512),
            KpUpsertion(carol, KpMechanism.SCRAM_SHA_256, "x"),
        ])
        assert twice == {carol: "A user credential cannot be altered twice in the same request"}
        nobody = user_name()
        assert admin.describe_user_scram_credentials([nobody])[nobody] == {
            "error": f"Attempt to describe a user credential that does not exist: {nobody}",
            "credential_infos": [],
        }
    finally:
        admin.close()


def users_cli(target: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["users", *args, "-b", target], catch_exceptions=False)


def test_users_cli(target: str) -> None:
    dave = user_name()
    added = users_cli(target, "add", dave, "--password", "dave-secret", "--iterations", "8192")
    assert added.exit_code == 0, added.output
    assert "SCRAM-SHA-512 credential of " + dave in added.output

    def listed() -> list[dict[str, Any]]:
        out = users_cli(target, "list", dave, "-o", "json")
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    assert wait_for(lambda: listed() == [
        {"user": dave, "mechanism": "SCRAM-SHA-256", "iterations": 8192},
        {"user": dave, "mechanism": "SCRAM-SHA-512", "iterations": 8192},
    ], what="dave listed")
    everyone = json.loads(users_cli(target, "list", "-o", "json").stdout)
    assert {"user": dave, "mechanism": "SCRAM-SHA-256", "iterations": 8192} in everyone

    too_few = users_cli(target, "add", user_name(), "--password", "x", "--iterations", "100")
    assert too_few.exit_code == 1 and "UNACCEPTABLE_CREDENTIAL: Too few iterations" in too_few.output

    deleted = users_cli(target, "delete", dave, "--mechanism", "SCRAM-SHA-256")
    assert deleted.exit_code == 0, deleted.output
    assert wait_for(lambda: listed() == [{"user": dave, "mechanism": "SCRAM-SHA-512", "iterations": 8192}])
    assert users_cli(target, "delete", dave).exit_code == 0
    assert wait_for(lambda: listed() == [], what="dave gone")
    gone = users_cli(target, "delete", dave)
    assert gone.exit_code == 1 and "has no SCRAM credentials" in gone.output


def test_credentials_and_initial_users_survive_restart(own_broker: BrokerProcess) -> None:
    own_broker.extra_args = ["--add-scram", "SCRAM-SHA-256=[name=init,password=first,iterations=5000]",
                             "--fsync", "always"]
    own_broker.start()
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap})
    assert described(admin, "init") == {"SCRAM_SHA_256": 5000}
    # Changed at runtime: the restart with the same --add-scram keeps the new credential.
    assert alter(
        admin,
        UserScramCredentialUpsertion("init", ScramCredentialInfo(SHA256, 6000), b"second"),
    ) == {"init": None}
    assert alter(
        admin, UserScramCredentialUpsertion("eve", ScramCredentialInfo(SHA512, 4096), b"eve-secret"),
    ) == {"eve": None}
    own_broker.kill9()  # no clean shutdown: what was acknowledged is on disk
    own_broker.start()
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap})
    assert described(admin, "init") == {"SCRAM_SHA_256": 6000}
    assert described(admin, "eve") == {"SCRAM_SHA_512": 4096}
    own_broker.stop()


def test_bad_add_scram_stops_the_broker(own_broker: BrokerProcess) -> None:
    own_broker.extra_args = ["--add-scram", "SCRAM-SHA-256=[name=x]"]
    with pytest.raises(RuntimeError) as info:
        own_broker.start()
    assert "You must supply one of 'password' or 'saltedpassword' to add-scram" in own_broker.log_text() + str(
        info.value
    )
