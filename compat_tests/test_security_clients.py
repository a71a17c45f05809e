"""Real clients over every secured combination: SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-256,
SCRAM-SHA-512 and OAUTHBEARER, and SSL with a client certificate; wrong passwords, expired tokens and
untrusted certificates get the errors each client reports for Apache Kafka.

One broker for the module (compat_tests/security_clients.py: its settings are Kafka's own names, so
``KAFKALITE_SECURITY_REFERENCE=1`` runs the very same tests against Apache Kafka too, which is how the
expectations here were checked). Python clients run in-process; the Java client, franz-go and KafkaJS
each run the whole case list in one process invocation (a module fixture), and a test per case then
asserts on its part of the result; kcat runs once per case.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    NewTopic,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from compat_tests.conftest import wait_for
from compat_tests.javaclient import JavaClient
from compat_tests.security_clients import (
    COUNT,
    NO_ACL_PASSWORD,
    NO_ACL_USER,
    PASSWORD,
    USER,
    Case,
    Certs,
    Running,
    cases,
    for_client,
    start_kafkalite,
    start_reference,
    write_certs,
)
from compat_tests.test_go_clients import go_binary, run_go  # noqa: F401 - go_binary is a fixture

pytestmark = pytest.mark.timeout(300)

#: ``KAFKALITE_SECURITY_REFERENCE=1``: Apache Kafka as well; ``=only``: Apache Kafka alone.
_REFERENCE = os.environ.get("KAFKALITE_SECURITY_REFERENCE", "")
TARGETS = (["kafkalite"] if _REFERENCE != "only" else []) + (["kafka"] if _REFERENCE else [])
PY_CLIENTS = ["confluent", "kafka-python", "aiokafka"]
JS = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return write_certs(tmp_path_factory.mktemp("sec-certs"))


ALL_CASES = cases()
CASE_IDS = [c.id for c in ALL_CASES]


@pytest.fixture(scope="module", params=TARGETS)
def secured(request: pytest.FixtureRequest, certs: Certs,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The secured broker, with SCRAM users made over its PLAINTEXT listener as an operator would."""
    if request.param == "kafka":
        starting = start_reference(certs)
    else:
        starting = start_kafkalite(tmp_path_factory.mktemp("sec-broker"), certs)
    with starting as running:
        admin = AdminClient({"bootstrap.servers": running.plaintext})
        # One mechanism per request: Kafka refuses two changes of one user in a request.
        for mech in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512):
            upserts = [UserScramCredentialUpsertion(user, ScramCredentialInfo(mech, 4096), password.encode())
                       for user, password in ((USER, PASSWORD), (NO_ACL_USER, NO_ACL_PASSWORD))]
            for future in admin.alter_user_scram_credentials(upserts).values():
                future.result(20)
        for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):  # usable once the broker's cache has them
            wait_for(lambda m=mech: _logs_in(running, m), timeout=30, what=f"a {mech} login")  # type: ignore[misc]
        yield running


def _logs_in(running: Running, mechanism: str) -> bool:
    conf = {"bootstrap.servers": running.bootstrap("SASL_PLAINTEXT"), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mechanism, "sasl.username": USER, "sasl.password": PASSWORD}
    try:
        AdminClient(conf).list_topics(timeout=3)
    except KafkaException:
        return False
    return True


#: Topics already made, by (broker address, topic): a broker started again gets its own.
_made: dict[tuple[str, str], None] = {}


def prepared(secured: Running, client: str, certs: Certs) -> dict[str, Case]:
    """The client's cases, with their topics created once per broker (over PLAINTEXT)."""
    mine = for_client(ALL_CASES, client, certs)  # fresh tokens each time
    wanted = [c.topic for c in mine if (secured.plaintext, c.topic) not in _made]
    if wanted:
        admin = AdminClient({"bootstrap.servers": secured.plaintext})
        for future in admin.create_topics([NewTopic(t, 1, 1) for t in wanted]).values():
            future.result(30)
        for t in wanted:
            _made[(secured.plaintext, t)] = None
    return {c.id: c for c in mine}


# ---- where kafkalite still differs from Apache Kafka ------------------------------------------
# Each entry is a test that fails on kafkalite today because the broker answers differently from
# Kafka 4.4 (checked with KAFKALITE_SECURITY_REFERENCE=1, where these pass). They run as strict
# xfails on kafkalite only: once the broker is fixed they XPASS and fail, and the entry must go.

#: None today: the last ones (the TLS alert for a refused client certificate, the answer to a request
#: during SASL authentication, the SCRAM nonce check) were fixed in the broker.
KAFKALITE_DIFFERS: dict[tuple[str, str], str] = {}


def mark_known_difference(request: pytest.FixtureRequest, secured: Running, client: str, case_id: str) -> None:
    reason = KAFKALITE_DIFFERS.get((client, case_id))
    if reason and secured.name == "kafkalite":
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# ---- confluent-kafka (librdkafka) ------------------------------------------------------------


def confluent_conf(case: Case, secured: Running, certs: Certs) -> dict[str, Any]:
    conf: dict[str, Any] = {"bootstrap.servers": secured.bootstrap(case.protocol),
                            "security.protocol": case.protocol}
    if case.tls:
        conf["ssl.ca.location"] = str(certs.ca)
    if case.protocol == "SSL":
        conf |= {"ssl.certificate.location": case.cert, "ssl.key.location": case.key}
    if case.mechanism == "OAUTHBEARER":
        token = case.token
        # librdkafka refuses a token whose lifetime it is told has passed, so it is told an hour: the
        # expired case's JWS itself says it expired, and the broker must see that.
        conf |= {"sasl.mechanism": "OAUTHBEARER", "oauth_cb": lambda _cfg: (token, time.time() + 3600)}
    elif case.mechanism:
        conf |= {"sasl.mechanism": case.mechanism, "sasl.username": case.user, "sasl.password": case.password}
    return conf


def confluent_round_trip(case: Case, secured: Running, certs: Certs) -> list[str]:
    conf = confluent_conf(case, secured, certs)
    producer = Producer(conf)
    for value in case.values:
        producer.produce(case.topic, value=value.encode())
    assert producer.flush(30) == 0
    consumer = Consumer({**conf, "group.id": f"g-{case.topic}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(case.topic, 0, 0)])
    out: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while len(out) < COUNT and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None:
                assert msg.error() is None, msg.error()
                out.append(msg.value().decode())
    finally:
        consumer.close()
    return out


def confluent_error(case: Case, secured: Running, certs: Certs) -> KafkaError:
    """The first error librdkafka reports through error_cb while a producer tries to connect."""
    errors: list[KafkaError] = []
    producer = Producer({**confluent_conf(case, secured, certs), "error_cb": errors.append})

    def first() -> KafkaError | None:
        producer.poll(0.2)
        return errors[0] if errors else None

    return wait_for(first, timeout=20, what=f"an error for {case.id}")


# ---- kafka-python ----------------------------------------------------------------------------


def kafka_python_kwargs(case: Case, secured: Running, certs: Certs) -> dict[str, Any]:
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class Token(AbstractTokenProvider):  # type: ignore[misc]
        def token(self) -> str:
            return str(case.token)

    kw: dict[str, Any] = {"bootstrap_servers": secured.bootstrap(case.protocol),
                          "security_protocol": case.protocol}
    if case.tls:
        kw["ssl_cafile"] = str(certs.ca)
    if case.protocol == "SSL":
        kw |= {"ssl_certfile": case.cert, "ssl_keyfile": case.key}
    if case.mechanism == "OAUTHBEARER":
        kw |= {"sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": Token()}
    elif case.mechanism:
        kw |= {"sasl_mechanism": case.mechanism, "sasl_plain_username": case.user,
               "sasl_plain_password": case.password}
    return kw


def kafka_python_round_trip(case: Case, secured: Running, certs: Certs) -> list[str]:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTopicPartition

    kw = kafka_python_kwargs(case, secured, certs)
    producer = KafkaProducer(**kw)
    try:
        for future in [producer.send(case.topic, value=v.encode(), partition=0) for v in case.values]:
            future.get(timeout=30)
    finally:
        producer.close()
    consumer = KafkaConsumer(**kw, enable_auto_commit=False, consumer_timeout_ms=1000)
    try:
        tp = KTopicPartition(case.topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        out: list[str] = []
        deadline = time.monotonic() + 30
        while len(out) < COUNT and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out += [r.value.decode() for r in records]
        return out
    finally:
        consumer.close()


def kafka_python_error(case: Case, secured: Running, certs: Certs) -> Exception:
    from kafka import KafkaAdminClient

    try:
        admin = KafkaAdminClient(**kafka_python_kwargs(case, secured, certs), bootstrap_timeout_ms=4000)
        admin.list_topics()
        admin.close()
    except Exception as e:
        return e
    raise AssertionError(f"{case.id}: kafka-python connected")


# ---- aiokafka --------------------------------------------------------------------------------


def aiokafka_kwargs(case: Case, secured: Running, certs: Certs) -> dict[str, Any]:
    from aiokafka.abc import AbstractTokenProvider
    from aiokafka.helpers import create_ssl_context

    class Token(AbstractTokenProvider):
        async def token(self) -> str:
            return str(case.token)

    kw: dict[str, Any] = {"bootstrap_servers": secured.bootstrap(case.protocol),
                          "security_protocol": case.protocol}
    if case.tls:
        kw["ssl_context"] = create_ssl_context(cafile=str(certs.ca), certfile=case.cert, keyfile=case.key)
    if case.mechanism == "OAUTHBEARER":
        kw |= {"sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": Token()}
    elif case.mechanism:
        kw |= {"sasl_mechanism": case.mechanism, "sasl_plain_username": case.user,
               "sasl_plain_password": case.password}
    return kw


async def _aiokafka_round_trip(case: Case, secured: Running, certs: Certs) -> list[str]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as ATopicPartition

    kw = aiokafka_kwargs(case, secured, certs)
    producer = AIOKafkaProducer(**kw)
    await producer.start()
    try:
        for value in case.values:
            await producer.send_and_wait(case.topic, value.encode(), partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(**kw, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = ATopicPartition(case.topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        out: list[str] = []
        deadline = time.monotonic() + 30
        while len(out) < COUNT and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out += [r.value.decode() for r in records]
        return out
    finally:
        await consumer.stop()


async def _aiokafka_error(case: Case, secured: Running, certs: Certs) -> Exception:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**aiokafka_kwargs(case, secured, certs), request_timeout_ms=5000)
    try:
        await producer.start()
        # aiokafka (0.14) takes OAUTHBEARER's error challenge for success ("Authenticated via
        # OAUTHBEARER", against Apache Kafka too); the broker then closes the connection at its next
        # request, so the first send to an existing topic fails.
        await asyncio.wait_for(producer.send_and_wait(case.topic, b"x", partition=0), 20)
    except Exception as e:
        return e
    finally:
        await producer.stop()
    raise AssertionError(f"{case.id}: aiokafka connected")


def aiokafka_round_trip(case: Case, secured: Running, certs: Certs) -> list[str]:
    return asyncio.run(_aiokafka_round_trip(case, secured, certs))


def aiokafka_error(case: Case, secured: Running, certs: Certs) -> Exception:
    return asyncio.run(_aiokafka_error(case, secured, certs))


def confluent_denied(case: Case, secured: Running, certs: Certs) -> Any:
    """One record as a principal without ACLs: the delivery report's error."""
    reports: list[Any] = []
    producer = Producer(confluent_conf(case, secured, certs))
    producer.produce(case.topic, value=b"x", partition=0, on_delivery=lambda err, _msg: reports.append(err))
    producer.flush(30)
    assert reports, "no delivery report"
    return reports[0]


def kafka_python_denied(case: Case, secured: Running, certs: Certs) -> Any:
    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka_python_kwargs(case, secured, certs), max_block_ms=15000)
    try:
        producer.send(case.topic, value=b"x", partition=0).get(timeout=30)
    except Exception as e:
        return e
    finally:
        producer.close()
    raise AssertionError("kafka-python produced without an ACL")


async def _aiokafka_denied(case: Case, secured: Running, certs: Certs) -> Any:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**aiokafka_kwargs(case, secured, certs), request_timeout_ms=10000)
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(case.topic, b"x", partition=0), 30)
    except Exception as e:
        return e
    finally:
        await producer.stop()
    raise AssertionError("aiokafka produced without an ACL")


DENIED = {"confluent": confluent_denied, "kafka-python": kafka_python_denied,
          "aiokafka": lambda case, secured, certs: asyncio.run(_aiokafka_denied(case, secured, certs))}
ROUND_TRIPS = {"confluent": confluent_round_trip, "kafka-python": kafka_python_round_trip,
               "aiokafka": aiokafka_round_trip}
ERRORS = {"confluent": confluent_error, "kafka-python": kafka_python_error, "aiokafka": aiokafka_error}


#: The broker's message for a failed login, as Apache Kafka words it per mechanism.
def kafka_message(case: Case) -> str:
    if case.mechanism == "PLAIN":
        return "Authentication failed: Invalid username or password"
    if case.mechanism == "OAUTHBEARER":
        # OAUTHBEARER fails with an error challenge (RFC 7628); librdkafka reports its text.
        return '{"status":"invalid_token"}'
    return ("Authentication failed during authentication due to invalid credentials with SASL mechanism "
            f"{case.mechanism}")


@pytest.mark.parametrize("case_id", CASE_IDS)
@pytest.mark.parametrize("client", PY_CLIENTS)
def test_python_client(client: str, case_id: str, secured: Running, certs: Certs,
                       caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> None:
    mark_known_difference(request, secured, client, case_id)
    case = prepared(secured, client, certs)[case_id]
    if case.expect == "ok":
        assert ROUND_TRIPS[client](case, secured, certs) == case.values
        return
    if case.expect == "authz":
        denied = DENIED[client](case, secured, certs)
        print(f"\n{secured.name} {client} {case_id}: {type(denied).__name__}: {denied!r}")
        if client == "confluent":
            assert denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, denied
        else:
            assert type(denied).__name__ == "TopicAuthorizationFailedError", repr(denied)
        return
    caplog.set_level(logging.WARNING)
    error = ERRORS[client](case, secured, certs)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    if client == "confluent":
        assert isinstance(error, KafkaError)
        if case.expect == "sasl":
            assert error.code() == KafkaError._AUTHENTICATION, error
            assert kafka_message(case) in error.str()
        else:  # the broker's TLS alert after the client's certificate failed verification
            assert error.code() == KafkaError._TRANSPORT, error
            assert "alert" in error.str(), error
    elif client == "kafka-python":
        # kafka-python's API only says it could not bootstrap; its log says why.
        assert type(error).__name__ == "KafkaTimeoutError", error
        if case.expect == "ssl":
            assert "alert" in logged
        else:
            # Kafka answers a failed login late and closes right after; kafka-python (3.0) often takes
            # the close first and logs only that (against Kafka: either, from one run to the next).
            assert f"SaslAuthenticationFailedError: {kafka_message(case)}" in logged or "socket disconnected" in logged
    elif case.mechanism == "OAUTHBEARER":  # see _aiokafka_error
        assert type(error).__name__ in ("UnknownTopicOrPartitionError", "KafkaTimeoutError"), error
    else:
        assert type(error).__name__ == "KafkaConnectionError", error
        assert "Unable to bootstrap" in str(error)
        if case.expect == "ssl":
            assert "closed" in logged
        else:
            assert f"SaslAuthenticationFailed: {kafka_message(case)}" in logged


# ---- programs that run every case in one process: the Java client, franz-go, KafkaJS ----------


def _dash(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def _program_result(client: str, case_id: str, results: dict[str, Any], secured: Running, certs: Certs,
                    request: pytest.FixtureRequest) -> tuple[Case, dict[str, Any]]:
    """The case as ``client`` (a program that ran every case) got it, and what it saw; a round trip
    ("ok") is checked here: every record back, in order."""
    mark_known_difference(request, secured, client, case_id)
    case = prepared(secured, client, certs)[case_id]
    got = results[case_id]
    if case.expect == "ok":
        assert got == {"values": case.values}
    return case, got


@pytest.fixture(scope="module")
def java_results(secured: Running, certs: Certs, java_client: JavaClient,
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case through the official Java client, in one JVM (SecurityScenarios.java)."""
    mine = prepared(secured, "java", certs).values()
    rows = [[c.id, c.protocol, c.mechanism, c.user, c.password, c.token, c.keystore, certs.ca,
             secured.bootstrap(c.protocol), c.topic, COUNT, c.expect] for c in mine]
    file = tmp_path_factory.mktemp("java-cases") / "cases.tsv"
    file.write_text("".join("\t".join(map(_dash, row)) + "\n" for row in rows))
    result: dict[str, Any] = java_client.run("security-matrix", "-", str(file), timeout=600)
    return result


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_java_client(case_id: str, java_results: dict[str, Any], secured: Running, certs: Certs,
                     request: pytest.FixtureRequest) -> None:
    case, got = _program_result("java", case_id, java_results, secured, certs, request)
    if case.expect == "authz":
        assert got["error"] == "TopicAuthorizationException", got
    elif case.expect == "sasl":
        assert got["error"] == "SaslAuthenticationException", got
        assert kafka_message(case) in got["message"], got
    elif case.expect == "ssl":
        assert got["error"] == "SslAuthenticationException", got


def _wire_file(secured: Running, certs: Certs, client: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    mine = prepared(secured, client, certs).values()
    file = tmp_path_factory.mktemp(f"{client}-cases") / "cases.json"
    file.write_text(json.dumps([c.wire(secured.bootstrap(c.protocol), certs.ca) for c in mine]))
    return file


@pytest.fixture(scope="module")
def go_results(secured: Running, certs: Certs, request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case through franz-go, in one process (compat_tests/go/security_scenarios.go)."""
    file = _wire_file(secured, certs, "go", tmp_path_factory)
    binary = request.getfixturevalue("go_binary")  # built once per session by test_go_clients
    result: dict[str, Any] = run_go(binary, "security-matrix", "-", file, timeout=600)
    return result


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_franz_go(case_id: str, go_results: dict[str, Any], secured: Running, certs: Certs,
                  request: pytest.FixtureRequest) -> None:
    case, got = _program_result("go", case_id, go_results, secured, certs, request)
    if case.expect == "authz":
        assert got["code"] == "TOPIC_AUTHORIZATION_FAILED", got
    elif case.expect == "sasl":
        assert got["code"] == "SASL_AUTHENTICATION_FAILED", got
        assert got["error"].endswith(f"SASL Authentication failed.: {kafka_message(case)}"), got
    elif case.expect == "ssl":
        # The broker's TLS alert; which one is the TLS stack's choice (Java's: bad_certificate).
        assert got["error"].startswith("remote error: tls: "), got


@pytest.fixture(scope="module")
def js_results(secured: Running, certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case through KafkaJS, in one node process (compat_tests/js/security_matrix.js)."""
    if shutil.which("node") is None or not (JS / "node_modules" / "kafkajs").exists():
        pytest.fail("KafkaJS is part of the matrix: install node and `npm install` in compat_tests/js (.ci/run does)")
    file = _wire_file(secured, certs, "js", tmp_path_factory)
    out = subprocess.run(["node", str(JS / "security_matrix.js"), str(file)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_kafkajs(case_id: str, js_results: dict[str, Any], secured: Running, certs: Certs,
                 request: pytest.FixtureRequest) -> None:
    case, got = _program_result("js", case_id, js_results, secured, certs, request)
    if case.expect == "authz":
        # KafkaJS wraps the broker's TOPIC_AUTHORIZATION_FAILED in a non-retriable error.
        assert got == {"error": "Not authorized to access topics: [Topic authorization failed]",
                       "type": "KafkaJSNonRetriableError", "code": None}
    elif case.expect == "sasl" and case.mechanism == "OAUTHBEARER":
        # KafkaJS (2.2) does not read OAUTHBEARER's error challenge and carries on as if logged in; the
        # broker closes the connection at its next request, and KafkaJS runs out of retries (the same
        # against Apache Kafka).
        assert got["type"] == "KafkaJSNumberOfRetriesExceeded", got
    elif case.expect == "sasl":
        assert got["type"] == "KafkaJSSASLAuthenticationError", got
        assert got["error"].endswith(f"authentication failed: {kafka_message(case)}"), got
    elif case.expect == "ssl":
        assert got["type"] == "KafkaJSNumberOfRetriesExceeded", got
        assert got["error"].startswith("Connection error: ") and "SSL alert number" in got["error"], got


# ---- kcat (librdkafka's command line) --------------------------------------------------------


def kcat_args(case: Case, secured: Running, certs: Certs) -> list[str]:
    conf = {"security.protocol": case.protocol}
    if case.tls:
        conf["ssl.ca.location"] = str(certs.ca)
    if case.cert:
        conf |= {"ssl.certificate.location": str(case.cert), "ssl.key.location": str(case.key)}
    if case.mechanism == "OAUTHBEARER":
        # kcat cannot hand librdkafka a token of its own: it uses librdkafka's unsecured JWS builder,
        # which only makes tokens that are still valid (so kcat has no expired-token case).
        conf |= {"sasl.mechanism": "OAUTHBEARER", "enable.sasl.oauthbearer.unsecure.jwt": "true",
                 "sasl.oauthbearer.config": f"principal={case.user}"}
    elif case.mechanism:
        conf |= {"sasl.mechanism": case.mechanism, "sasl.username": case.user, "sasl.password": str(case.password)}
    return ["kcat", "-b", secured.bootstrap(case.protocol), *[a for k, v in conf.items() for a in ("-X", f"{k}={v}")]]


def _kcat_librdkafka() -> tuple[int, ...]:
    out = subprocess.run(["kcat", "-V"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", out)
    assert match, out
    return tuple(int(g) for g in match.groups())


#: kcat cannot hand librdkafka a token of its own (there is no expired-token case for it; see kcat_args).
KCAT_CASE_IDS = [c for c in CASE_IDS if c != "expired-token-OAUTHBEARER"]


@pytest.mark.parametrize("case_id", KCAT_CASE_IDS)
def test_kcat(case_id: str, secured: Running, certs: Certs, request: pytest.FixtureRequest) -> None:
    if shutil.which("kcat") is None:
        pytest.fail("kcat is part of the matrix: install it (.ci/run does)")
    if case_id == "untrusted-client-cert" or _kcat_librdkafka() < (2, 6, 1):  # the SCRAM entries need the old one
        mark_known_difference(request, secured, "kcat", case_id)
    case = prepared(secured, "kcat", certs)[case_id]
    base = kcat_args(case, secured, certs)
    if case.expect == "ok" and case.mechanism and case.mechanism.startswith("SCRAM") and _kcat_librdkafka() < (2, 6, 1):
        # librdkafka before 2.6.1 repeats its own nonce in the SCRAM client-final-message
        # (confluentinc/librdkafka#4895); Kafka 4.x compares the nonce strictly as RFC 5802 says
        # (CVE-2024-56128) and refuses the login, and so must kafkalite. Debian 12's kcat has 2.0.2.
        case = Case(**{**asdict(case), "expect": "sasl"})
    if case.expect == "ok":
        sent = subprocess.run([*base, "-P", "-t", case.topic, "-p", "0"], input="".join(v + "\n" for v in case.values),
                              text=True, timeout=60, capture_output=True)
        assert sent.returncode == 0, sent.stderr
        out = subprocess.run([*base, "-C", "-t", case.topic, "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == case.values
        return
    if case.expect == "authz":
        out = subprocess.run([*base, "-P", "-t", case.topic, "-p", "0"], input="x\n", text=True, timeout=60,
                             capture_output=True)
        print(f"\n{secured.name} kcat {case_id}: {out.returncode} {out.stderr[-600:]}")
        assert "Broker: Topic authorization failed" in out.stderr, out.stderr
        return
    out = subprocess.run([*base, "-L", "-m", "5"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0, out.stdout
    if case.expect == "sasl":
        assert f"SASL authentication error: {kafka_message(case)} (after" in out.stderr, out.stderr
    else:
        assert "SSL alert number" in out.stderr, out.stderr


# ---- the broker differences above, at the protocol level ---------------------------------------


def test_request_during_sasl_authentication_is_answered_then_closed(secured: Running,
                                                                    request: pytest.FixtureRequest) -> None:
    """After OAUTHBEARER's error challenge the server waits for the client's final message; a Metadata
    request instead gets Metadata's error response, then the connection closes (Kafka 4.4)."""
    from kafka.protocol.metadata import MetadataRequest, MetadataResponse
    from kafka.protocol.sasl import (
        SaslAuthenticateRequest,
        SaslAuthenticateResponse,
        SaslHandshakeRequest,
        SaslHandshakeResponse,
    )

    from compat_tests.rawclient import RawClient
    from compat_tests.security_clients import unsecured_jws

    with RawClient(secured.bootstrap("SASL_PLAINTEXT")) as raw:
        assert raw.call(SaslHandshakeRequest(version=1, mechanism="OAUTHBEARER"), SaslHandshakeResponse).error_code == 0
        token = f"n,,\x01auth=Bearer {unsecured_jws(USER, -600)}\x01\x01".encode()
        challenge = raw.call(SaslAuthenticateRequest(version=1, auth_bytes=token), SaslAuthenticateResponse)
        assert (challenge.error_code, challenge.auth_bytes) == (0, b'{"status":"invalid_token"}')
        answer = raw.call(MetadataRequest(version=1, topics=["sec-any"]), MetadataResponse)
        # ILLEGAL_SASL_STATE (34) on the requested topic: Kafka's Metadata error response.
        assert [(t.error_code, t.name) for t in answer.topics] == [(34, "sec-any")]
        raw.sock.settimeout(10)
        assert raw.sock.recv(1) == b""  # then closed


def test_refused_client_certificate_gets_a_tls_alert(secured: Running, certs: Certs) -> None:
    """A client certificate from a CA the SSL listener does not trust: the broker's TLS stack says so
    with an alert (Java's: bad_certificate) before closing, which is what clients show their users."""
    import socket
    import ssl

    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(certs.rogue_cert, certs.rogue_key)
    host, port = secured.bootstrap("SSL").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock, \
            context.wrap_socket(sock, server_hostname=host) as tls:
        api_versions_v0 = bytes.fromhex("00000012" "0012" "0000" "00000001" "0008") + b"sec-test"
        with pytest.raises(ssl.SSLError, match="alert"):
            tls.sendall(api_versions_v0)
            tls.recv(4)  # TLS 1.3: the server checks the client certificate after the client's handshake
