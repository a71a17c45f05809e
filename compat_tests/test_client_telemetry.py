"""Client telemetry (KIP-714) on the wire and end to end.

Without a receiver (no ``--metrics-port``) Kafka 4.4 leaves GetTelemetrySubscriptions and
PushTelemetry out of ApiVersions (so the Java client never asks), yet answers them when sent;
with one (a receiver plugin; kafkalite's is its Prometheus endpoint) it lists both at v0. Every
wire expectation here was observed from Kafka 4.4.0 with the same requests
(``telemetry_exchange`` / ``client_metrics_exchange`` against ``ReferenceKafka().start().bootstrap``).
End to end: the Java producer and consumer push their metrics under a CLIENT_METRICS
subscription, and they appear on /metrics with the clients' labels.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse

from compat_tests.brokerproc import BrokerProcess, free_port
from compat_tests.conftest import wait_for
from compat_tests.javaclient import JavaClient
from compat_tests.rawclient import RawClient
from compat_tests.test_metrics import Samples, scrape
from kafkalite.broker.client_telemetry import subscription_id
from kafkalite.protocol import codec
from kafkalite.protocol.messages import (
    GetTelemetrySubscriptionsRequest,
    GetTelemetrySubscriptionsResponse,
    PushTelemetryRequest,
    PushTelemetryResponse,
)

ZERO = uuid.UUID(int=0)


def telemetry_exchange(bootstrap: str) -> dict[str, Any]:
    """The answers to one client's first Get, an early second Get, and a few pushes."""
    with RawClient(bootstrap) as client:
        versions = client.call(ApiVersionsRequest(version=3, client_software_name="t", client_software_version="1"),
                               ApiVersionsResponse)
        first = client.call(GetTelemetrySubscriptionsRequest(version=0, client_instance_id=ZERO),
                            GetTelemetrySubscriptionsResponse)
        again = client.call(GetTelemetrySubscriptionsRequest(version=0, client_instance_id=first.client_instance_id),
                            GetTelemetrySubscriptionsResponse)

        def push(instance: uuid.UUID, subscription: int, terminating: bool = False, codec: int = 0) -> int:
            request = PushTelemetryRequest(version=0, client_instance_id=instance, subscription_id=subscription,
                                           terminating=terminating, compression_type=codec, metrics=b"")
            return int(client.call(request, PushTelemetryResponse).error_code)

        return {
            "advertised": sorted({k.api_key for k in versions.api_keys} & {71, 72}),
            "first": first,
            "again": again,
            "push_zero_id": push(ZERO, first.subscription_id),
            "push": push(first.client_instance_id, first.subscription_id),
            "push_early": push(first.client_instance_id, first.subscription_id),
            "push_terminating_wrong_subscription": push(first.client_instance_id, first.subscription_id + 1, True),
            "push_after_terminating": push(first.client_instance_id, first.subscription_id, True),
        }


def test_telemetry_is_answered_but_not_advertised(broker: BrokerProcess) -> None:
    result = telemetry_exchange(broker.bootstrap)
    assert result["advertised"] == []
    first = result["first"]
    assert first.error_code == 0 and first.throttle_time_ms == 0
    assert first.client_instance_id not in (None, ZERO)
    assert first.subscription_id == subscription_id([], 300_000, first.client_instance_id)
    assert first.accepted_compression_types == [4, 3, 1, 2]  # zstd, lz4, gzip, snappy
    assert first.push_interval_ms == 300_000
    assert first.telemetry_max_bytes == 1_048_576
    assert first.delta_temporality is True
    assert first.requested_metrics == []  # no subscription: push nothing
    # A second Get within the push interval is throttled, with an empty body.
    assert result["again"].error_code == 89  # THROTTLING_QUOTA_EXCEEDED
    assert result["again"].client_instance_id in (None, ZERO)
    assert result["push_zero_id"] == 42  # INVALID_REQUEST
    assert result["push"] == 0  # right after a Get: accepted (and dropped: no receiver)
    assert result["push_early"] == 89
    assert result["push_terminating_wrong_subscription"] == 117  # UNKNOWN_SUBSCRIPTION_ID
    assert result["push_after_terminating"] == 42  # nothing is accepted after a terminating push


# ---- CLIENT_METRICS subscriptions (config resources of type 16) ------------------------------------


def _call(raw: RawClient, key: int, version: int, **fields: Any) -> Any:
    request_class, response_class = codec.message_classes(key)  # type: ignore[misc]
    return raw.call(request_class(version=version, **fields), response_class)


def client_metrics_exchange(bootstrap: str, prefix: str) -> dict[str, Any]:
    """CLIENT_METRICS resources through the config APIs, and what a client they match is then told.

    Subscription names start with ``prefix`` and match only this client's id, so the exchange can
    run on a shared broker; it deletes what it created.
    """
    client_id = f"{prefix}-probe"
    with RawClient(bootstrap, client_id=client_id) as raw:
        _call(raw, 18, 3, client_software_name="probe", client_software_version="1.0")

        def describe(name: str, keys: list[str] | None = None) -> Any:
            (result,) = _call(raw, 32, 4, resources=[(16, name, keys)], include_synonyms=True,
                              include_documentation=keys is not None).results
            return [result.error_code, result.error_message,
                    [(c.name, c.value, c.config_source, [(s.name, s.value, s.source) for s in c.synonyms],
                      c.config_type, c.documentation) for c in result.configs]]

        def alter(name: str, ops: list[tuple[str, int, str | None]], validate_only: bool = False) -> Any:
            (result,) = _call(raw, 44, 1, resources=[(16, name, ops)], validate_only=validate_only).responses
            return [result.error_code, result.error_message]

        def listed(version: int = 1) -> list[str]:
            fields = {"resource_types": [16]} if version else {}
            answer = _call(raw, 74, version, **fields)
            # sorted: Kafka lists subscriptions in its hash map's order, kafkalite by name
            return sorted(c.resource_name for c in answer.config_resources if c.resource_name.startswith(prefix))

        def settled(names: list[str]) -> list[str]:
            # Kafka applies a config change once its broker replays the controller's record, a moment
            # after answering the alter; kafkalite at once. Both must get there.
            return wait_for(lambda: (got := listed()) == names and [got], what=f"subscriptions {names}")[0]

        first, second = f"{prefix}-s1", f"{prefix}-s2"
        out: dict[str, Any] = {
            "describe_missing": describe(f"{prefix}-nosuch"),
            "describe_empty_name": describe(""),
            "alter_empty_name": alter("", [("metrics", 0, "a")]),
            "interval_low": alter(first, [("interval.ms", 0, "50")]),
            "interval_not_int": alter(first, [("interval.ms", 0, "abc")]),
            "unknown_config": alter(first, [("foo", 0, "1")]),
            "bad_match_key": alter(first, [("match", 0, "foo=bar")]),
            "bad_match_regex": alter(first, [("match", 0, "client_id=[")]),
            "validate_only": alter(first, [("metrics", 0, "x")], validate_only=True),
            "listed_after_validate_only": listed(),
            "set": alter(first, [("metrics", 0, "org.apache.kafka.producer., org.apache.kafka.consumer."),
                                 ("interval.ms", 0, "1000"), ("match", 0, f"client_id={prefix}-pro.*")]),
            "append": alter(first, [("metrics", 2, "m3")]),
            "alter_configs": [[r.error_code, r.error_message] for r in _call(
                raw, 33, 2, resources=[(16, second, [("metrics", "a"), ("match", f"client_id={client_id}")])],
                validate_only=False).responses],
            "listed_v1": settled([first, second]),
            "listed_v0": listed(0),
            "describe_set": describe(first),
            "describe_keys": describe(first, ["interval.ms", "nope"]),
        }
        get = _call(raw, 71, 0, client_instance_id=ZERO)
        out["get"] = [get.error_code, get.push_interval_ms, get.requested_metrics,
                      get.subscription_id == subscription_id(get.requested_metrics, 1000, get.client_instance_id)]
        out["delete_all"] = alter(first, [("metrics", 1, None), ("interval.ms", 1, None), ("match", 1, None)])
        out["listed_after_delete"] = settled([second])
        out["describe_deleted"] = describe(first)
        alter(second, [("metrics", 1, None), ("match", 1, None)])
        out["listed_end"] = settled([])
        return out


#: What Apache Kafka 4.4.0 answered (test_client_metrics_configs_on_kafka checks it live).
_DEFAULTS = [("interval.ms", "300000", 5, [], 3, None), ("match", "", 5, [], 7, None), ("metrics", "", 5, [], 7, None)]


def expected_exchange(prefix: str) -> dict[str, Any]:
    metrics = "org.apache.kafka.producer.,org.apache.kafka.consumer."
    match = f"client_id={prefix}-pro.*"
    return {
        "describe_missing": [0, "", _DEFAULTS],
        "describe_empty_name": [42, "Client metrics subscription name must not be empty", []],
        "alter_empty_name": [42, "Subscription name can't be empty"],
        "interval_low": [42, "Invalid value 50 for interval.ms, interval must be between 100 and 3600000 (1 hour)"],
        "interval_not_int": [40, "Invalid value abc for configuration interval.ms: Not a number of type INT"],
        "unknown_config": [42, "Unknown client metrics configuration: foo"],
        "bad_match_key": [40, "Illegal client matching pattern: foo=bar"],
        "bad_match_regex": [40, "Illegal client matching pattern: client_id=["],
        "validate_only": [0, None],
        "listed_after_validate_only": [],
        "set": [0, None],
        "append": [40, "Can't APPEND to key metrics because its type is not LIST."],
        "alter_configs": [[0, None]],
        "describe_set": [0, "", [
            ("interval.ms", "1000", 7, [("interval.ms", "1000", 7)], 3, None),
            ("match", match, 7, [("match", match, 7)], 7, None),
            ("metrics", metrics, 7, [("metrics", metrics, 7)], 7, None),
        ]],
        "describe_keys": [0, "", [("interval.ms", "1000", 7, [("interval.ms", "1000", 7)], 3,
                                   "Metrics push interval in milliseconds")]],
        "listed_v0": [f"{prefix}-s1", f"{prefix}-s2"],
        "listed_v1": [f"{prefix}-s1", f"{prefix}-s2"],
        # Both subscriptions match: the union of their metrics in Kafka's (HashSet) order, the shorter interval.
        "get": [0, 1000, ["org.apache.kafka.producer.", "a", "org.apache.kafka.consumer."], True],
        "delete_all": [0, None],
        "listed_after_delete": [f"{prefix}-s2"],
        "describe_deleted": [0, "", _DEFAULTS],
        "listed_end": [],
    }


def test_client_metrics_configs_as_kafka(own_broker: BrokerProcess) -> None:
    own_broker.start()
    assert client_metrics_exchange(own_broker.bootstrap, "cm") == expected_exchange("cm")


def test_client_metrics_configs_on_kafka(reference_kafka: Any) -> None:
    prefix = f"cm{uuid.uuid4().hex[:6]}"
    assert client_metrics_exchange(reference_kafka.bootstrap, prefix) == expected_exchange(prefix)


def test_client_metrics_subscriptions_survive_a_restart(own_broker: BrokerProcess) -> None:
    own_broker.start()
    with RawClient(own_broker.bootstrap) as raw:
        answer = _call(raw, 44, 1, resources=[(16, "kept", [("metrics", 0, "org.apache.kafka."),
                                                            ("interval.ms", 0, "2000")])], validate_only=False)
        assert answer.responses[0].error_code == 0
    own_broker.stop()
    own_broker.start()
    with RawClient(own_broker.bootstrap) as raw:
        assert [(c.resource_name, c.resource_type) for c in _call(raw, 74, 1, resource_types=[]).config_resources
                if c.resource_type == 16] == [("kept", 16)]
        (result,) = _call(raw, 32, 4, resources=[(16, "kept", ["interval.ms"])], include_synonyms=False,
                          include_documentation=False).results
        assert [(c.name, c.value, c.config_source) for c in result.configs] == [("interval.ms", "2000", 7)]
        get = _call(raw, 71, 0, client_instance_id=ZERO)
        assert (get.requested_metrics, get.push_interval_ms) == (["org.apache.kafka."], 2000)


# ---- the Java client's metrics on /metrics ------------------------------------------------------------


def _client_samples(samples: Samples, prefix: str, instance: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {name: [(labels, v) for labels, v in rows if labels.get("client_instance_id") == instance]
            for name, rows in samples.items() if name.startswith(prefix)
            and any(labels.get("client_instance_id") == instance for labels, _ in rows)}


def test_java_client_metrics_appear_on_the_metrics_endpoint(java_client: JavaClient, tmp_path: Path) -> None:
    metrics_port = free_port()
    broker = BrokerProcess(tmp_path / "data", extra_args=["--metrics-port", str(metrics_port)])
    broker.start()
    proc = None
    try:
        with RawClient(broker.bootstrap) as raw:  # with a receiver, 71 and 72 are advertised at v0 as Kafka does
            versions = raw.call(ApiVersionsRequest(version=3, client_software_name="t", client_software_version="1"),
                                ApiVersionsResponse)
            assert sorted((k.api_key, k.min_version, k.max_version) for k in versions.api_keys
                          if k.api_key in (71, 72)) == [(71, 0, 0), (72, 0, 0)]
        proc = java_client.popen("telemetry-producer", broker.bootstrap, "telemetry-topic", "java-clients",
                                 "org.apache.kafka.producer.,org.apache.kafka.consumer.", "1000",
                                 "client_software_name=apache-kafka-java,client_software_version=4\\..*",
                                 stderr=tmp_path / "java.err")
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, (tmp_path / "java.err").read_text()[-3000:]
        started = json.loads(line)
        assert started["listed"] == ["java-clients"]
        assert started["described"]["interval.ms"] == {"value": "1000", "source": "DYNAMIC_CLIENT_METRICS_CONFIG"}
        producer, consumer = started["instance_id"], started["consumer_instance_id"]
        assert "null" not in (producer, consumer)

        def pushed() -> tuple[Samples, Samples] | None:
            samples = scrape(metrics_port)
            produced = _client_samples(samples, "org_apache_kafka_producer_", producer)
            consumed = _client_samples(samples, "org_apache_kafka_consumer_", consumer)
            sent = produced.get("org_apache_kafka_producer_record_send_total")
            return (produced, consumed) if sent and sent[0][1] > 0 and consumed else None

        produced, consumed = wait_for(pushed, timeout=30, interval=0.5, what="the Java clients' pushed metrics")
        (labels, _), *_ = produced["org_apache_kafka_producer_record_send_total"]
        assert labels == {"client_instance_id": producer, "client_id": "telemetry-producer",
                          "client_software_name": "apache-kafka-java", "client_software_version": "4.4.0"}
        assert any(labels.get("client_id") == "telemetry-consumer" for rows in consumed.values() for labels, _ in rows)
        # Only what the subscription asked for: no admin or other metrics of these clients.
        assert all(name.startswith(("org_apache_kafka_producer_", "org_apache_kafka_consumer_"))
                   for name, rows in scrape(metrics_port).items()
                   if any(lbl.get("client_instance_id") in (producer, consumer) for lbl, _ in rows))

        out, _ = proc.communicate(timeout=60)  # closes stdin: the clients close
        assert proc.returncode == 0, (tmp_path / "java.err").read_text()[-3000:]
        assert json.loads(out.strip().splitlines()[-1])["sent"] > 1
        # The clients are gone: their series are dropped after three push intervals without a push.
        wait_for(lambda: not _client_samples(scrape(metrics_port), "org_apache_kafka_", producer), timeout=30,
                 interval=0.5, what="the closed producer's series to go")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        broker.stop()


def test_client_metrics_cli(own_broker: BrokerProcess) -> None:
    # kafka-client-metrics.sh's verbs: alter (create or change), list, describe, delete.
    from click.testing import CliRunner

    from kafkalite.cli import main

    own_broker.start()

    def cli(*args: str) -> Any:
        return CliRunner().invoke(main, ["client-metrics", *args, "-b", own_broker.bootstrap])

    made = cli("alter", "--name", "java", "--metrics", "org.apache.kafka.producer.", "--interval", "1000",
               "--match", "client_software_name=apache-kafka-java", "--match", "client_id=app-.*")
    assert made.exit_code == 0, made.output
    assert cli("list").output.split() == ["java"]
    described = json.loads(cli("describe", "-o", "json").output)
    assert described == [{"name": "java", "interval.ms": "1000", "metrics": "org.apache.kafka.producer.",
                          "match": "client_software_name=apache-kafka-java,client_id=app-.*"}]
    refused = cli("alter", "--name", "java", "--interval", "5")
    assert refused.exit_code == 1 and "interval must be between 100 and 3600000" in refused.output
    assert cli("delete", "--name", "java").exit_code == 0
    assert cli("list").output.split() == []


def test_librdkafka_client_metrics_appear_on_the_metrics_endpoint(tmp_path: Path) -> None:
    # librdkafka (confluent-kafka 2.16) implements KIP-714 too: its producer pushes under a subscription.
    from confluent_kafka import Producer

    metrics_port = free_port()
    broker = BrokerProcess(tmp_path / "data", extra_args=["--metrics-port", str(metrics_port)])
    broker.start()
    try:
        with RawClient(broker.bootstrap) as raw:
            answer = _call(raw, 44, 1, validate_only=False, resources=[(16, "librdkafka", [
                ("metrics", 0, "org.apache.kafka.producer."), ("interval.ms", 0, "1000"),
                ("match", 0, "client_software_name=confluent-kafka-python")])])
            assert answer.responses[0].error_code == 0
        producer = Producer({"bootstrap.servers": broker.bootstrap, "client.id": "ck-telemetry"})

        def pushed() -> list[tuple[dict[str, str], float]] | None:
            producer.produce("ck-telemetry-topic", b"v")
            producer.poll(0.1)
            rows = scrape(metrics_port).get("org_apache_kafka_producer_node_request_latency_avg", [])
            return [row for row in rows if row[0].get("client_id") == "ck-telemetry"]

        (labels, _), *_ = wait_for(pushed, timeout=30, interval=0.2, what="librdkafka's pushed metrics")
        assert labels["client_software_name"] == "confluent-kafka-python"
        assert "rdkafka" in labels["client_software_version"]
        assert "node_id" in labels and labels["client_instance_id"]
        producer.flush(10)
    finally:
        broker.stop()
