"""Client quotas with real clients: throttling shows up in client metrics and the data still arrives.

Each test has a broker of its own (a quota on the shared broker would throttle other tests), with
``quota.window.num=2`` so the rate window is 1-2 s and a throttle lasts a second or two instead of
Kafka's ten-second minimum window. Nothing here is timed: the assertions are on the throttle
times the clients report and on the totals delivered. AlterClientQuotas / DescribeClientQuotas
answers are compared with Apache Kafka 4.4's own (``reference_kafka``), and ``kafkalite quotas``
runs against both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from kafkalite.cli import main
from kafkalite.conformance.reference import ReferenceKafka
from kafkalite.tools.quotas import admin, alter, describe

SHORT_WINDOWS = ["--override", "quota.window.num=2", "--override", "quota.window.size.seconds=1"]


@pytest.fixture
def quota_broker(own_broker: BrokerProcess) -> Iterator[BrokerProcess]:
    own_broker.extra_args = SHORT_WINDOWS
    own_broker.start()
    yield own_broker


def set_quota(bootstrap: str, entity: dict[str, str | None], ops: dict[str, float | None]) -> None:
    client = admin(bootstrap)
    try:
        [(_, code, message)] = alter(client, [(entity, ops)])
    finally:
        client.close()
    assert code == 0, message


def produce_confluent(bootstrap: str, topic: str, client_id: str, count: int, size: int) -> list[dict[str, Any]]:
    """Produce ``count`` records with confluent-kafka; every delivery must succeed; the stats seen.

    Batches stay small (16 KB): a fetch answers at least one whole batch, and an answer larger than
    a window's fetch quota is throttled and answered empty every time (in Kafka too).
    """
    from confluent_kafka import Producer

    stats: list[dict[str, Any]] = []
    delivered: list[Any] = []
    producer = Producer({
        "bootstrap.servers": bootstrap, "client.id": client_id, "linger.ms": 5, "batch.size": 16384,
        "statistics.interval.ms": 100, "stats_cb": lambda s: stats.append(json.loads(s)),
    })
    for i in range(count):
        producer.produce(topic, b"%06d" % i + b"x" * (size - 6), on_delivery=lambda err, msg: delivered.append(err))
        producer.poll(0)
    assert producer.flush(60) == 0
    assert delivered == [None] * count
    producer.poll(0.3)  # one more statistics interval after the last response
    return stats


def librdkafka_throttle_max(stats: list[dict[str, Any]]) -> int:
    """The largest throttle time librdkafka saw from any broker (its ``throttle`` window, ms)."""
    return max(
        (b["throttle"]["max"] for s in stats for b in s["brokers"].values() if b["nodeid"] >= 0), default=0
    )


def canonical(items: list[Any]) -> list[str]:
    """Answers without order: Kafka lists entities, their types and their values in Java HashMap order."""
    return sorted(json.dumps(item, sort_keys=True) for item in items)


def test_producer_byte_rate_throttles_confluent_producer(quota_broker: BrokerProcess, topic_name: str) -> None:
    # 300 KB at once against 100 KB/s over a 1 s window: Kafka's formula asks about 2 s of throttle.
    set_quota(quota_broker.bootstrap, {"client-id": "q-prod"}, {"producer_byte_rate": 100_000.0})
    stats = produce_confluent(quota_broker.bootstrap, topic_name, "q-prod", 300, 1000)
    assert librdkafka_throttle_max(stats) > 0
    # Another client id has no quota and is not throttled.
    stats = produce_confluent(quota_broker.bootstrap, topic_name, "q-free", 300, 1000)
    assert librdkafka_throttle_max(stats) == 0
    assert count_records(quota_broker.bootstrap, topic_name) == 600


def count_records(bootstrap: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partition = TopicPartition(topic, 0)
        return int(consumer.end_offsets([partition])[partition])
    finally:
        consumer.close()


def kafka_python_metric(metrics: dict[str, dict[str, float]], name: str) -> float:
    """A client-wide metric of kafka-python 3 (its connections' ``throttle-time-avg`` / ``-max``: kafka-python
    3 has one throttle sensor for every response kind, not the Java client's produce-/fetch-throttle-time)."""
    return max((values[name] for values in metrics.values() if name in values), default=0.0)


def test_producer_byte_rate_throttles_kafka_python(quota_broker: BrokerProcess, topic_name: str) -> None:
    from kafka import KafkaProducer

    # A user quota: plaintext clients are User:ANONYMOUS, whose name is ANONYMOUS.
    set_quota(quota_broker.bootstrap, {"user": "ANONYMOUS"}, {"producer_byte_rate": 100_000.0})
    producer = KafkaProducer(bootstrap_servers=quota_broker.bootstrap, client_id="q-kp", linger_ms=5)
    try:
        futures = [producer.send(topic_name, b"%06d" % i + b"x" * 994) for i in range(300)]
        producer.flush(60)
        offsets = sorted(f.get(timeout=30).offset for f in futures)
        assert offsets == list(range(300))
        assert kafka_python_metric(producer.metrics(), "throttle-time-max") > 0
        assert kafka_python_metric(producer.metrics(), "throttle-time-avg") > 0
    finally:
        producer.close()


def test_consumer_byte_rate_throttles_fetches_and_data_arrives(quota_broker: BrokerProcess, topic_name: str) -> None:
    from kafka import KafkaConsumer

    produce_confluent(quota_broker.bootstrap, topic_name, "q-loader", 400, 1000)
    set_quota(quota_broker.bootstrap, {"client-id": "q-cons"}, {"consumer_byte_rate": 100_000.0})
    # Each fetch answer must fit in one window's quota (100 KB here): a larger one is throttled and
    # answered empty every time, in Kafka as here (the rate without it is always under the quota).
    consumer = KafkaConsumer(topic_name, bootstrap_servers=quota_broker.bootstrap, client_id="q-cons",
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             max_partition_fetch_bytes=40_000, fetch_max_bytes=40_000)
    seen: set[int] = set()
    try:
        def all_read() -> bool:
            for records in consumer.poll(timeout_ms=500).values():
                seen.update(int(r.value[:6]) for r in records)
            return len(seen) == 400

        wait_for(all_read, timeout=60, what="every record consumed under the fetch quota")
        assert kafka_python_metric(consumer.metrics(), "throttle-time-max") > 0
    finally:
        consumer.close()


def test_consumer_byte_rate_in_librdkafka_stats(quota_broker: BrokerProcess, topic_name: str) -> None:
    from confluent_kafka import Consumer

    produce_confluent(quota_broker.bootstrap, topic_name, "q-loader", 400, 1000)
    set_quota(quota_broker.bootstrap, {"user": None}, {"consumer_byte_rate": 100_000.0})  # the default user
    stats: list[dict[str, Any]] = []
    consumer = Consumer({
        "bootstrap.servers": quota_broker.bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest", "statistics.interval.ms": 100,
        "fetch.max.bytes": 40_000, "max.partition.fetch.bytes": 40_000, "message.max.bytes": 20_000,
        "stats_cb": lambda s: stats.append(json.loads(s)),
    })
    consumer.subscribe([topic_name])
    seen: set[bytes] = set()
    try:
        def all_read() -> bool:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                seen.add(message.value()[:6])
            return len(seen) == 400

        wait_for(all_read, timeout=60, what="every record consumed under the fetch quota")

        def throttle_seen() -> bool:
            consumer.poll(0.1)  # statistics are delivered from poll
            return librdkafka_throttle_max(stats) > 0

        wait_for(throttle_seen, timeout=10, what="a throttle time in librdkafka's statistics")
    finally:
        consumer.close()


def test_request_percentage_throttles(quota_broker: BrokerProcess, topic_name: str) -> None:
    from kafka import KafkaProducer

    # A tiny share of a handler thread: any produce request goes over and is throttled (at most one window).
    set_quota(quota_broker.bootstrap, {"client-id": "q-req"}, {"request_percentage": 0.0001})
    producer = KafkaProducer(bootstrap_servers=quota_broker.bootstrap, client_id="q-req")
    try:
        for i in range(5):
            producer.send(topic_name, b"r%d" % i).get(timeout=30)
        throttle = kafka_python_metric(producer.metrics(), "throttle-time-max")
        assert 0 < throttle <= 1000  # capped at quota.window.size.seconds, as ClientRequestQuotaManager
    finally:
        producer.close()


def test_quotas_survive_a_restart(quota_broker: BrokerProcess, topic_name: str) -> None:
    set_quota(quota_broker.bootstrap, {"user": "alice", "client-id": "app"}, {"producer_byte_rate": 1024.0})
    set_quota(quota_broker.bootstrap, {"client-id": "q-prod"}, {"producer_byte_rate": 100_000.0})
    set_quota(quota_broker.bootstrap, {"ip": None}, {"connection_creation_rate": 10.0})
    set_quota(quota_broker.bootstrap, {"client-id": "q-prod"}, {"consumer_byte_rate": 5.0})
    set_quota(quota_broker.bootstrap, {"client-id": "q-prod"}, {"consumer_byte_rate": None})
    quota_broker.stop()
    quota_broker.start()
    client = admin(quota_broker.bootstrap)
    try:
        found = canonical(describe(client))
    finally:
        client.close()
    assert found == canonical([
        ({"user": "alice", "client-id": "app"}, {"producer_byte_rate": 1024.0}),
        ({"client-id": "q-prod"}, {"producer_byte_rate": 100_000.0}),
        ({"ip": None}, {"connection_creation_rate": 10.0}),
    ])
    # ...and they are enforced again.
    assert librdkafka_throttle_max(produce_confluent(quota_broker.bootstrap, topic_name, "q-prod", 300, 1000)) > 0


def test_quota_apis_need_cluster_configs_permissions(own_broker: BrokerProcess) -> None:
    own_broker.extra_args = [
        "--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "--override", "super.users=User:admin",
    ]
    own_broker.start()
    client = admin(own_broker.bootstrap)
    try:
        from kafka.errors import ClusterAuthorizationFailedError

        with pytest.raises(ClusterAuthorizationFailedError):
            describe(client)
        [(_, code, message)] = alter(client, [({"user": "x"}, {"producer_byte_rate": 1.0})])
        assert (code, message) == (31, "Cluster authorization failed.")
    finally:
        client.close()


# ---- the same answers as Apache Kafka ---------------------------------------------------------


def _answers(bootstrap: str, tag: str) -> dict[str, Any]:
    """AlterClientQuotas and DescribeClientQuotas answers for a fixed script, names made unique by ``tag``."""
    u = f"u-{tag}"
    c = f"c-{tag}"
    cases: list[tuple[dict[str, str | None], dict[str, float | None]]] = [
        ({"user": u}, {"producer_byte_rate": 1024.0, "request_percentage": 50.5}),
        ({"user": u, "client-id": None}, {"consumer_byte_rate": 2048.0}),
        ({"user": u, "client-id": c}, {"controller_mutation_rate": 3.5}),
        ({"client-id": c}, {"producer_byte_rate": 1.5}),
        ({"client-id": c}, {"producer_byte_rate": 0.0}),
        ({"client-id": c}, {"producer_byte_rate": 1e30}),
        ({"client-id": c}, {"nope": 1.0}),
        ({"client-id": c}, {"connection_creation_rate": 1.0}),
        ({"ip": "127.0.0.9"}, {"producer_byte_rate": 1.0}),
        ({"ip": "127.0.0.9"}, {"connection_creation_rate": 3e9}),
        ({"ip": "127.0.0.9", "user": u}, {"connection_creation_rate": 1.0}),
        ({}, {"producer_byte_rate": 1.0}),
        ({"user": ""}, {"producer_byte_rate": 1.0}),
        ({"group": "g"}, {"producer_byte_rate": 1.0}),
        ({"user": f"nobody-{tag}"}, {"producer_byte_rate": None}),
    ]
    client = admin(bootstrap)
    try:
        out: dict[str, Any] = {"alter": [canonical(alter(client, [case])) for case in cases]}
        out["validate_only"] = alter(client, [({"user": f"vo-{tag}"}, {"producer_byte_rate": 5.0})], True)
        filters: list[tuple[list[tuple[str, int, str | None]], bool]] = [
            ([("user", 0, u)], False), ([("user", 0, u)], True), ([("user", 0, u), ("client-id", 1, None)], False),
            ([("user", 0, u), ("client-id", 2, None)], True), ([("user", 0, f"vo-{tag}")], False),
        ]

        def described() -> list[Any]:
            return [canonical(describe(client, components, strict)) for components, strict in filters]

        # Kafka answers describes from its metadata image, a moment after the controller committed.
        expected_first = canonical([({"user": u}, {"producer_byte_rate": 1024.0, "request_percentage": 50.5})])
        wait_for(lambda: described()[1] == expected_first, what="the quotas in Kafka's metadata image")
        out["describe"] = described()
        errors = []
        for components in ([("user", 0, None)], [("user", 1, "x")], [("user", 5, None)], [("", 0, "x")],
                           [("group", 0, "x")], [("user", 0, "a"), ("user", 0, "b")],
                           [("ip", 2, None), ("user", 2, None)]):
            try:
                describe(client, components)
                errors.append(None)
            except Exception as exc:
                errors.append((type(exc).__name__, str(exc)))
        out["describe_errors"] = errors
        # Leave the reference as it was: remove what was set.
        for entity, ops in cases[:3]:
            alter(client, [(entity, dict.fromkeys(ops))])
    finally:
        client.close()
    return out


def test_quota_api_answers_match_kafka(own_broker: BrokerProcess, reference_kafka: ReferenceKafka) -> None:
    own_broker.start()
    tag = uuid.uuid4().hex[:8]
    ours = _answers(own_broker.bootstrap, tag)
    theirs = _answers(reference_kafka.bootstrap, tag)
    assert ours == theirs


@pytest.mark.parametrize("target", ["kafkalite", "kafka"])
def test_cli_sets_lists_and_removes(target: str, own_broker: BrokerProcess, request: pytest.FixtureRequest) -> None:
    if target == "kafka":
        bootstrap = request.getfixturevalue("reference_kafka").bootstrap
    else:
        own_broker.start()
        bootstrap = own_broker.bootstrap
    user = f"cli-{uuid.uuid4().hex[:8]}"
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["quotas", *args, "-b", bootstrap])
        assert result.exit_code == 0, result.output
        return result.output

    assert "altered" in run("set", "--user", user, "producer_byte_rate=1048576", "request_percentage=25")

    def listed() -> list[dict[str, Any]]:
        return json.loads(run("list", "--user", user, "-o", "json"))

    rows = wait_for(lambda: listed() if len(listed()) == 2 else None, what="both quotas listed")
    assert sorted((r["entity"], r["quota"], r["value"]) for r in rows) == [
        (f"user={user}", "producer_byte_rate", 1048576.0), (f"user={user}", "request_percentage", 25.0)
    ]
    run("remove", "--user", user, "producer_byte_rate", "request_percentage")
    wait_for(lambda: listed() == [], what="the quotas removed")
    refused = runner.invoke(main, ["quotas", "set", "--user", user, "producer_byte_rate=1.5", "-b", bootstrap])
    assert refused.exit_code != 0
    assert "producer_byte_rate cannot be a fractional value." in refused.output
