"""Per-broker dynamic configs through confluent-kafka's AdminClient, as librdkafka's admin test sends them.

``test_kafka_rules`` runs the same assertions against kafkalite and Apache Kafka 4.4
(``ReferenceKafka(extra_listeners={"SSL": "SSL"})``, skipped without a JVM):
``sasl.kerberos.*`` accepted per broker with AlterConfigs and IncrementalAlterConfigs, an SSL
store refused without its listener prefix, a bad keystore refused with Kafka's INVALID_REQUEST
text, a good one serving the next TLS connection while established ones carry on.
"""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from compat_tests.brokerproc import BrokerProcess, free_port
from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient
from kafkalite.server.tls import SelfSigned, write_self_signed

pytestmark = pytest.mark.timeout(120)
KS = "listener.name.ssl.ssl.keystore.location"


def _fingerprint(port: int) -> bytes:
    """The certificate a new TLS connection to ``port`` is served (DER)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der
    return der


def _incremental(admin: AdminClient, name: str, ops: list[tuple[str, AlterConfigOpType, str]],
                 validate_only: bool = False) -> KafkaError | None:
    res = ConfigResource(ConfigResource.Type.BROKER, name)
    for key, op, value in ops:
        res.add_incremental_config(ConfigEntry(key, value, incremental_operation=op))
    try:
        admin.incremental_alter_configs([res], validate_only=validate_only, request_timeout=15)[res].result(20)
    except KafkaException as exc:
        return exc.args[0]
    return None


def test_keystore_reload_and_kafka_rules(tmp_path: Path, topic_name: str) -> None:
    a, b = write_self_signed(tmp_path / "a"), write_self_signed(tmp_path / "b")
    ssl_port = free_port()
    proc = BrokerProcess(tmp_path / "data", extra_args=[
        "--override", f"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:{ssl_port}",
        "--override", f"{KS}={a.keystore}",
    ])
    proc.start()
    try:
        admin = AdminClient({"bootstrap.servers": proc.bootstrap})
        # librdkafka's 0081-admin: a Kerberos setting on the broker resource, legacy and incremental
        relogin = {"sasl.kerberos.min.time.before.relogin": "58000"}
        res = ConfigResource(ConfigResource.Type.BROKER, "1", set_config=relogin)
        with pytest.warns(DeprecationWarning):  # confluent-kafka deprecates it; librdkafka's test still sends it
            futures = admin.alter_configs([res], request_timeout=15)
        futures[res].result(20)
        assert _incremental(admin, "1", [("sasl.kerberos.min.time.before.relogin", AlterConfigOpType.SET, "58000")]) \
            is None
        ops = [("background.threads", AlterConfigOpType.SET, "9"), ("log.cleanup.policy", AlterConfigOpType.APPEND,
                                                                    "compact")]
        assert _incremental(admin, "1", ops) is None
        ops = [("background.threads", AlterConfigOpType.DELETE, ""),
               ("log.cleanup.policy", AlterConfigOpType.SUBTRACT, "compact")]
        assert _incremental(admin, "1", ops) is None

        err = _incremental(admin, "1", [("ssl.keystore.location", AlterConfigOpType.SET, str(b.keystore))])
        assert err is not None and err.code() == KafkaError.INVALID_REQUEST
        assert "only per-listener using the listener prefix: [ssl.keystore.location]" in err.str()

        # an established TLS client keeps working across the reload
        conf = {"bootstrap.servers": f"127.0.0.1:{ssl_port}", "security.protocol": "SSL",
                "ssl.ca.location": str(a.ca)}
        producer = Producer(conf)
        producer.produce(topic_name, b"before")
        assert producer.flush(20) == 0
        first = _fingerprint(ssl_port)

        bad = tmp_path / "bad.pem"
        bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        err = _incremental(admin, "1", [(KS, AlterConfigOpType.SET, str(bad))])
        assert err is not None and err.code() == KafkaError.INVALID_REQUEST
        assert f"Failed to load PEM SSL keystore {bad} for configuration Invalid dynamic configuration" in err.str()
        assert _incremental(admin, "1", [(KS, AlterConfigOpType.SET, str(b.keystore))], validate_only=True) is None
        assert _fingerprint(ssl_port) == first

        assert _incremental(admin, "1", [(KS, AlterConfigOpType.SET, str(b.keystore))]) is None
        assert _fingerprint(ssl_port) != first
        producer.produce(topic_name, b"after")  # the old connection, the old certificate
        assert producer.flush(20) == 0
        # a new client must trust the new CA now; one trusting only the old CA is refused
        new_conf = {**conf, "ssl.ca.location": str(b.ca)}
        consumer = Consumer({**new_conf, "group.id": f"g-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic_name, 0, 0)])
        got: list[bytes] = []
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
        consumer.close()
        assert got == [b"before", b"after"]
        old_ca_admin = AdminClient(conf)
        with pytest.raises(KafkaException):
            old_ca_admin.list_topics(timeout=3)

        described = admin.describe_configs([ConfigResource(ConfigResource.Type.BROKER, "1")])
        entry = next(iter(described.values())).result(20)[KS]
        assert entry.value == str(b.keystore) and entry.source == 2  # DYNAMIC_BROKER_CONFIG
        producer.flush(5)
    finally:
        assert proc.stop() == 0
    # the saved keystore serves from the next start
    proc = BrokerProcess(tmp_path / "data", extra_args=[
        "--override", f"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:{ssl_port}",
        "--override", f"{KS}={a.keystore}",
    ])
    proc.start()
    try:
        wait_for(lambda: _fingerprint(ssl_port) != first, timeout=10, what="saved keystore served after restart")
    finally:
        assert proc.stop() == 0


@dataclass
class Target:
    bootstrap: str  # PLAINTEXT, for the admin client
    ssl_port: int
    a: SelfSigned  # the keystore it starts with
    b: SelfSigned  # another one


@pytest.fixture(scope="module", params=["kafkalite", "kafka"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    base = tmp_path_factory.mktemp(f"dyn-{request.param}")
    a, b = write_self_signed(base / "a"), write_self_signed(base / "b")
    settings = {"listener.name.ssl.ssl.keystore.type": "PEM", KS: str(a.keystore)}
    if request.param == "kafkalite":
        ssl_port = free_port()
        proc = BrokerProcess(base / "data", extra_args=[
            "--override", f"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:{ssl_port}",
            *[arg for k, v in settings.items() for arg in ("--override", f"{k}={v}")],
        ])
        proc.start()
        try:
            yield Target(proc.bootstrap, ssl_port, a, b)
        finally:
            assert proc.stop() == 0
        return
    from kafkalite.conformance.reference import ReferenceKafka, java_available

    if not java_available():
        pytest.skip("Apache Kafka needs java and mvn on PATH")
    kafka = ReferenceKafka(extra_listeners={"SSL": "SSL"}, overrides=settings).start()
    try:
        yield Target(kafka.bootstrap, int(kafka.listener_bootstrap("SSL").rsplit(":", 1)[1]), a, b)
    finally:
        kafka.stop()


def _raw_incremental(bootstrap: str, name: str, configs: list[tuple[str, int, str]]) -> tuple[int, str | None]:
    """IncrementalAlterConfigs on a broker resource, raw: confluent-kafka refuses the empty (default) name."""
    from kafka.protocol.admin import IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse

    with RawClient(bootstrap) as raw:
        req = IncrementalAlterConfigsRequest(version=1, resources=[(4, name, configs)], validate_only=False)
        answer = raw.call(req, IncrementalAlterConfigsResponse).responses[0]
    return answer.error_code, answer.error_message


def test_kafka_rules(target: Target, tmp_path: Path) -> None:
    """The broker resource's rules as Apache Kafka 4.4 applies them, asserted on both brokers."""
    admin = AdminClient({"bootstrap.servers": target.bootstrap})
    set_ = AlterConfigOpType.SET
    assert _incremental(admin, "1", [("sasl.kerberos.min.time.before.relogin", set_, "58000")]) is None
    assert _incremental(admin, "1", [("sasl.kerberos.service.name", set_, "kafka"),
                                     ("background.threads", set_, "9")]) is None
    err = _incremental(admin, "1", [("sasl.kerberos.min.time.before.relogin", set_, "abc")])
    assert err is not None and err.code() == KafkaError.INVALID_REQUEST
    assert err.str() == "Invalid value abc for configuration sasl.kerberos.min.time.before.relogin: " \
        "Not a number of type LONG"
    err = _incremental(admin, "1", [("ssl.keystore.location", set_, str(target.b.keystore))])
    assert err is not None and err.code() == KafkaError.INVALID_REQUEST
    assert err.str() == "These security configs can be dynamically updated only per-listener using the listener " \
        "prefix: [ssl.keystore.location]"
    err = _incremental(admin, "1", [("log.dirs", set_, "/tmp/x")])
    assert err is not None and err.str() == "Cannot update these configs dynamically: [log.dirs]"
    err = _incremental(admin, "1", [("listener.name.ssl.ssl.client.auth", set_, "maybe")])
    assert err is not None and err.str() == "Invalid value maybe for configuration ssl.client.auth: " \
        "String must be one of: required, requested, none"
    assert _raw_incremental(target.bootstrap, "", [(KS, 0, str(target.b.keystore))]) == (
        KafkaError.INVALID_REQUEST,
        f"Cannot update these configs at default cluster level, broker id must be specified: [{KS}]",
    )
    assert _raw_incremental(target.bootstrap, "7", [("sasl.kerberos.service.name", 0, "x")]) == (
        KafkaError.INVALID_REQUEST, "Unexpected broker id, expected 1, but received 7"
    )
    assert _raw_incremental(target.bootstrap, "", [("listener.name.ssl.max.connections", 0, "1000"),
                                                   ("some.unknown.name", 0, "1")]) == (0, None)

    first = _fingerprint(target.ssl_port)
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    for path in (str(bad), "/nonexistent/keystore.pem"):
        err = _incremental(admin, "1", [(KS, set_, path)])
        assert err is not None and err.code() == KafkaError.INVALID_REQUEST
        assert err.str() == (
            "Invalid value org.apache.kafka.common.config.ConfigException: Validation of dynamic config update of "
            "SSLFactory failed: org.apache.kafka.common.errors.InvalidConfigurationException: Failed to load PEM "
            f"SSL keystore {path} for configuration Invalid dynamic configuration"
        )
    assert _incremental(admin, "1", [(KS, set_, str(target.b.keystore))], validate_only=True) is None
    assert _fingerprint(target.ssl_port) == first
    assert _incremental(admin, "1", [(KS, set_, str(target.b.keystore))]) is None
    wait_for(lambda: _fingerprint(target.ssl_port) != first, timeout=10, what="the new keystore served")

    # a password under a listener prefix is stored and never described
    assert _incremental(admin, "1", [("listener.name.ssl.plain.sasl.jaas.config", set_, "secret")]) is None
    res = ConfigResource(ConfigResource.Type.BROKER, "1")

    def described() -> dict | None:  # Kafka applies a change a moment after answering (metadata log)
        entries = admin.describe_configs([res])[res].result(20)
        return entries if "listener.name.ssl.plain.sasl.jaas.config" in entries else None

    entries = wait_for(described, timeout=10, what="the change described")
    jaas = entries["listener.name.ssl.plain.sasl.jaas.config"]
    assert jaas.value is None and jaas.is_sensitive and jaas.source == 2 and jaas.is_read_only
    relogin = entries["sasl.kerberos.min.time.before.relogin"]
    assert (relogin.value, relogin.source, relogin.is_read_only) == ("58000", 2, False)
    assert entries[KS].value == str(target.b.keystore) and entries[KS].source == 2
