"""SCRAM-SHA-256 / SCRAM-SHA-512 logins end to end over SASL_PLAINTEXT, with real clients.

confluent-kafka and kafka-python produce and consume as a user from ``serve --add-scram``; a wrong
password gets Kafka's SASL_AUTHENTICATION_FAILED text (checked against Apache Kafka 4.4 set up the
same way); a user added at runtime through AlterUserScramCredentials logs in at once; credentials
survive a restart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from compat_tests.conftest import poll_values, wait_for
from compat_tests.secure import (
    SecureBroker,
    confluent_conf,
    kafka_python_conf,
    reference_kafka_kwargs,
    start_secure_broker,
)
from kafkalite.conformance.reference import KAFKA_VERSION, ReferenceKafka, java_available

MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
INITIAL = [
    "SCRAM-SHA-256=[name=alice,password=alice-secret]",
    "SCRAM-SHA-512=[name=alice,password=alice-secret,iterations=8192]",
]
NO_PLAIN_USERS: dict[str, str] = {}


def add_scram_args(entries: list[str]) -> list[str]:
    return [arg for entry in entries for arg in ("--add-scram", entry)]


def start(tmp_path: Path, data_dir: Path | None = None) -> SecureBroker:
    return start_secure_broker(tmp_path, mechanisms=MECHANISMS, users=NO_PLAIN_USERS,
                               extra_args=add_scram_args(INITIAL), data_dir=data_dir)


@pytest.fixture(scope="module")
def scram_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    broker = start(tmp_path_factory.mktemp("scram"))
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def scram_kafka() -> Iterator[ReferenceKafka]:
    """Apache Kafka with the same SASL_PLAINTEXT listener and initial users; skipped without a JVM."""
    if not java_available():
        pytest.skip(f"Apache Kafka {KAFKA_VERSION} needs java and mvn on PATH")
    kafka = ReferenceKafka(**reference_kafka_kwargs(mechanisms=MECHANISMS, users=NO_PLAIN_USERS),
                           add_scram=INITIAL).start()
    yield kafka
    kafka.stop()


@pytest.fixture(params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(SASL_PLAINTEXT bootstrap, PLAINTEXT bootstrap) of kafkalite or of Apache Kafka."""
    if request.param == "kafkalite":
        broker: SecureBroker = request.getfixturevalue("scram_broker")
        return broker.bootstrap("SASL_PLAINTEXT"), broker.plaintext
    kafka: ReferenceKafka = request.getfixturevalue("scram_kafka")
    return kafka.listener_bootstrap("SASL_PLAINTEXT"), kafka.bootstrap


def topic() -> str:
    return f"scram-{uuid.uuid4().hex[:8]}"


def confluent_round_trip(bootstrap: str, mechanism: str, user: str, password: str) -> list[bytes]:
    conf = confluent_conf(bootstrap, "SASL_PLAINTEXT", mechanism, user, password)
    name = topic()
    producer = Producer(conf)
    for i in range(3):
        producer.produce(name, f"m{i}".encode())
    assert producer.flush(20) == 0
    consumer = Consumer({**conf, "group.id": f"g-{name}", "auto.offset.reset": "earliest"})
    consumer.subscribe([name])
    try:
        got = poll_values(consumer, 3, timeout=30, what="three records")
    finally:
        consumer.close()
    return got


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_produce_consume(scram_broker: SecureBroker, mechanism: str) -> None:
    got = confluent_round_trip(scram_broker.bootstrap("SASL_PLAINTEXT"), mechanism, "alice", "alice-secret")
    assert got == [b"m0", b"m1", b"m2"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_produce_consume(scram_broker: SecureBroker, mechanism: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    conf = kafka_python_conf(scram_broker.bootstrap("SASL_PLAINTEXT"), "SASL_PLAINTEXT", mechanism, "alice",
                             "alice-secret")
    name = topic()
    producer = KafkaProducer(**conf)
    try:
        offsets = [producer.send(name, f"k{i}".encode()).get(20).offset for i in range(3)]
    finally:
        producer.close()
    assert offsets == [0, 1, 2]
    consumer = KafkaConsumer(name, **conf, auto_offset_reset="earliest", consumer_timeout_ms=10000,
                             group_id=f"g-{name}")
    try:
        values = [m.value for _, m in zip(range(3), consumer, strict=False)]
    finally:
        consumer.close()
    assert values == [b"k0", b"k1", b"k2"]


def authentication_errors(bootstrap: str, mechanism: str, user: str, password: str) -> list[KafkaError]:
    """The errors librdkafka reports to error_cb while trying to log in."""
    errors: list[KafkaError] = []
    conf = confluent_conf(bootstrap, "SASL_PLAINTEXT", mechanism, user, password)
    producer = Producer({**conf, "error_cb": errors.append})

    def failed() -> bool:
        producer.poll(0.2)
        return any(e.code() == KafkaError._AUTHENTICATION for e in errors)

    wait_for(failed, timeout=20, what="an authentication error")
    return [e for e in errors if e.code() == KafkaError._AUTHENTICATION]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_and_unknown_user_get_kafkas_error(target: tuple[str, str], mechanism: str) -> None:
    sasl, _plain = target
    expected = f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"
    for user, password in (("alice", "wrong"), ("nobody", "x")):
        errors = authentication_errors(sasl, mechanism, user, password)
        assert expected in errors[0].str(), errors[0].str()


def test_kafka_python_wrong_password_cannot_connect(target: tuple[str, str]) -> None:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError as KpError

    conf = kafka_python_conf(target[0], "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice", "wrong")
    with pytest.raises(KpError):
        KafkaProducer(**conf, max_block_ms=3000, request_timeout_ms=3000).send(topic(), b"x").get(5)


def test_user_added_at_runtime_logs_in(target: tuple[str, str]) -> None:
    sasl, plain = target
    user = f"rt-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": plain})
    futures = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"rt-secret")]
    )
    futures[user].result(15)
    # Kafka applies the credential once its metadata log reaches the broker: retry the login briefly.
    got = wait_for(lambda: _try_round_trip(sasl, user), timeout=30, what="runtime user logged in")
    assert got == [b"m0", b"m1", b"m2"]


def _try_round_trip(bootstrap: str, user: str) -> list[bytes] | None:
    """The round trip, or None while the broker does not know the user yet (a failed metadata request)."""
    admin = AdminClient(confluent_conf(bootstrap, "SASL_PLAINTEXT", "SCRAM-SHA-512", user, "rt-secret"))
    try:
        admin.list_topics(timeout=3)
    except Exception:
        return None
    return confluent_round_trip(bootstrap, "SCRAM-SHA-512", user, "rt-secret")


def test_credentials_survive_restart(tmp_path: Path) -> None:
    broker = start(tmp_path)
    try:
        admin = AdminClient({"bootstrap.servers": broker.plaintext})
        admin.alter_user_scram_credentials([
            UserScramCredentialUpsertion("later", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"later-pw"),
        ])["later"].result(15)
    finally:
        assert broker.stop() == 0
    broker = start(tmp_path, data_dir=tmp_path / "data")
    try:
        sasl = broker.bootstrap("SASL_PLAINTEXT")
        assert confluent_round_trip(sasl, "SCRAM-SHA-256", "later", "later-pw") == [b"m0", b"m1", b"m2"]
        assert confluent_round_trip(sasl, "SCRAM-SHA-512", "alice", "alice-secret") == [b"m0", b"m1", b"m2"]
        assert authentication_errors(sasl, "SCRAM-SHA-256", "later", "wrong")
    finally:
        broker.stop()


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_over_sasl_ssl(tmp_path: Path, mechanism: str) -> None:
    broker = start_secure_broker(tmp_path, listeners=("SASL_SSL",), mechanisms=MECHANISMS, users=NO_PLAIN_USERS,
                                 extra_args=add_scram_args(INITIAL))
    try:
        conf = confluent_conf(broker, "SASL_SSL", mechanism, "alice", "alice-secret")
        producer = Producer(conf)
        producer.produce(topic(), b"over tls")
        assert producer.flush(20) == 0
        errors: list[KafkaError] = []
        bad = Producer({**confluent_conf(broker, "SASL_SSL", mechanism, "alice", "wrong"), "error_cb": errors.append})

        def failed() -> bool:
            bad.poll(0.2)
            return any(e.code() == KafkaError._AUTHENTICATION for e in errors)

        wait_for(failed, timeout=20, what="an authentication error over SASL_SSL")
    finally:
        broker.stop()
