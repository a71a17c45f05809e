"""KIP-714 subscriptions, matching, OTLP decoding and the series kept for /metrics.

The config answers and the subscription id / metric order below were observed from Apache
Kafka 4.4.0 (compat_tests/test_client_telemetry.py drives both brokers the same way).
"""

from __future__ import annotations

import gzip
import struct
import uuid
from pathlib import Path

import cramjam
import lz4.frame
import pytest
import zstandard
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from kafkalite.broker.client_metrics_configs import ClientMetricsConfigs, ClientMetricsError, java_hash_set_order
from kafkalite.broker.client_telemetry import ClientTelemetry, kafka_uuid, subscription_id
from kafkalite.broker.telemetry_metrics import (
    BadPayload,
    PayloadTooLarge,
    TelemetryMetrics,
    decode,
    decompress,
)
from kafkalite.errors import ErrorCode
from kafkalite.metrics import client_telemetry_families

NOW = 1_800_000_000_000


def configs(tmp_path: Path | None = None) -> ClientMetricsConfigs:
    store = ClientMetricsConfigs(tmp_path)
    store.open()
    return store


# ---- configs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "settings", "code", "message"), [
    ("", {"metrics": "a"}, ErrorCode.INVALID_REQUEST, "Subscription name can't be empty"),
    ("s", {"interval.ms": "50"}, ErrorCode.INVALID_REQUEST,
     "Invalid value 50 for interval.ms, interval must be between 100 and 3600000 (1 hour)"),
    ("s", {"interval.ms": "3600001"}, ErrorCode.INVALID_REQUEST,
     "Invalid value 3600001 for interval.ms, interval must be between 100 and 3600000 (1 hour)"),
    ("s", {"interval.ms": "abc"}, ErrorCode.INVALID_CONFIG,
     "Invalid value abc for configuration interval.ms: Not a number of type INT"),
    ("s", {"foo": "1"}, ErrorCode.INVALID_REQUEST, "Unknown client metrics configuration: foo"),
    ("s", {"match": "foo=bar"}, ErrorCode.INVALID_CONFIG, "Illegal client matching pattern: foo=bar"),
    ("s", {"match": "client_id=["}, ErrorCode.INVALID_CONFIG, "Illegal client matching pattern: client_id=["),
    ("s", {"match": "client_id=a=b"}, ErrorCode.INVALID_CONFIG, "Illegal client matching pattern: client_id=a=b"),
    ("s", {"match": "client_id"}, ErrorCode.INVALID_CONFIG, "Illegal client matching pattern: client_id"),
])
def test_invalid_subscriptions_answer_as_kafka(name: str, settings: dict[str, str], code: ErrorCode,
                                               message: str) -> None:
    store = configs()
    with pytest.raises(ClientMetricsError) as failure:
        store.replace(name, settings, validate_only=False)
    assert (failure.value.code, failure.value.message) == (code, message)
    assert store.names() == []


def test_describe_set_default_and_list_normalized() -> None:
    store = configs()
    defaults = store.describe("nosuch", None, True, False)
    assert [(e["name"], e["value"], e["config_source"], e["synonyms"]) for e in defaults] == [
        ("interval.ms", "300000", 5, []), ("match", "", 5, []), ("metrics", "", 5, [])]
    store.incremental("s1", [("metrics", 0, "org.apache.kafka.producer., org.apache.kafka.consumer."),
                             ("interval.ms", 0, "1000")], validate_only=False)
    described = {e["name"]: e for e in store.describe("s1", None, True, False)}
    assert described["metrics"]["value"] == "org.apache.kafka.producer.,org.apache.kafka.consumer."
    assert described["metrics"]["config_source"] == 7
    assert described["metrics"]["synonyms"] == [{"name": "metrics", "value": described["metrics"]["value"],
                                                  "source": 7}]
    assert described["match"]["config_source"] == 5
    only = store.describe("s1", ["interval.ms", "nope"], False, True)
    assert [(e["name"], e["documentation"]) for e in only] == [("interval.ms", "Metrics push interval in milliseconds")]
    with pytest.raises(ClientMetricsError, match="must not be empty"):
        store.describe("", None, False, False)


def test_append_refused_validate_only_and_delete_all_removes() -> None:
    store = configs()
    with pytest.raises(ClientMetricsError) as failure:
        store.incremental("s1", [("metrics", 2, "m")], validate_only=False)
    assert failure.value.message == "Can't APPEND to key metrics because its type is not LIST."
    store.incremental("s0", [("metrics", 0, "x")], validate_only=True)
    assert store.names() == []
    store.incremental("s1", [("metrics", 0, "x"), ("interval.ms", 0, "1000")], validate_only=False)
    store.incremental("s1", [("metrics", 1, None)], validate_only=False)
    assert store.names() == ["s1"]
    store.incremental("s1", [("interval.ms", 1, None)], validate_only=False)
    assert store.names() == []


def test_subscriptions_survive_a_restart(tmp_path: Path) -> None:
    store = configs(tmp_path)
    store.replace("s1", {"metrics": "a", "match": "client_id=x.*"}, validate_only=False)
    again = configs(tmp_path)
    assert again.names() == ["s1"]
    assert again.subscribed({"client_id": "xy"}) == (["a"], 300_000)


# ---- matching and subscription ids ------------------------------------------------------------------


def test_metric_order_and_subscription_id_as_kafka() -> None:
    # Kafka 4.4.0 answered these metrics, in this order, with this id, for two matching subscriptions.
    metrics = java_hash_set_order(["org.apache.kafka.producer.", "org.apache.kafka.consumer.", "a"])
    assert metrics == ["org.apache.kafka.producer.", "a", "org.apache.kafka.consumer."]
    assert subscription_id(metrics, 1000, uuid.UUID("b703f725-5678-4fab-96b0-3426629519da")) == 373486557


def test_matching_union_shortest_interval_and_all() -> None:
    store = configs()
    store.replace("java", {"metrics": "p.", "interval.ms": "1000",
                           "match": "client_software_name=apache-kafka-java,client_id=prod.*"}, False)
    store.replace("slow", {"metrics": "q.", "interval.ms": "5000"}, False)
    java = {"client_software_name": "apache-kafka-java", "client_id": "producer-1"}
    assert sorted(store.subscribed(java)[0]) == ["p.", "q."] and store.subscribed(java)[1] == 1000
    # regexes match the whole value; an attribute the client lacks matches nothing
    assert store.subscribed({**java, "client_id": "a-producer"}) == (["q."], 5000)
    assert store.subscribed({"client_id": "producer-1"}) == (["q."], 5000)
    store.replace("all", {"metrics": "*", "match": "client_source_port=\\d+"}, False)
    assert store.subscribed({"client_source_port": "4242"}) == (["*"], 5000)


def test_subscription_change_reaches_a_client_at_once() -> None:
    store = configs()
    telemetry = ClientTelemetry(store)
    telemetry.client_software("127.0.0.1:5000", "apache-kafka-java", "4.4.0")
    first = telemetry.get_subscriptions(None, NOW, "c1", "127.0.0.1:5000")
    instance, old = first["client_instance_id"], first["subscription_id"]
    assert first["requested_metrics"] == [] and first["push_interval_ms"] == 300_000
    store.replace("s", {"metrics": "org.apache.kafka.", "interval.ms": "1000",
                        "match": f"client_instance_id={kafka_uuid(instance)},client_software_version=4\\.4\\..*"},
                  False)
    # The old subscription id is refused, and the Get that follows is answered inside the interval.
    assert telemetry.push(instance, old, False, 0, b"", NOW + 1) == ErrorCode.UNKNOWN_SUBSCRIPTION_ID
    again = telemetry.get_subscriptions(instance, NOW + 2)
    assert again["error_code"] == 0
    assert again["requested_metrics"] == ["org.apache.kafka."] and again["push_interval_ms"] == 1000
    # As in Kafka, that Get does not restart the interval: the next push is due one interval on.
    assert telemetry.push(instance, again["subscription_id"], False, 0, b"", NOW + 3) == 89
    assert telemetry.push(instance, again["subscription_id"], False, 0, b"", NOW + 1001) == ErrorCode.NONE


# ---- OTLP payloads ----------------------------------------------------------------------------------


def otlp(send_total: float = 3.0, delta: bool = True) -> bytes:
    data = metrics_pb2.MetricsData()
    scope = data.resource_metrics.add().scope_metrics.add()
    gauge = scope.metrics.add(name="org.apache.kafka.producer.node.request.latency.avg", description="latency")
    point = gauge.gauge.data_points.add(as_double=1.5)
    point.attributes.add(key="node_id", value=common_pb2.AnyValue(string_value="node-1"))
    total = scope.metrics.add(name="org.apache.kafka.producer.record.send.total")
    total.sum.is_monotonic = True
    total.sum.aggregation_temporality = (metrics_pb2.AGGREGATION_TEMPORALITY_DELTA if delta
                                         else metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE)
    total.sum.data_points.add(as_int=int(send_total))
    scope.metrics.add(name="org.apache.kafka.producer.ignored").histogram.data_points.add(count=1)
    return data.SerializeToString()


def xerial(data: bytes) -> bytes:
    block = bytes(cramjam.snappy.compress_raw(data))
    return b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1) + struct.pack(">i", len(block)) + block


@pytest.mark.parametrize(("codec", "pack"), [
    (0, lambda b: b),
    (1, gzip.compress),
    (2, lambda b: bytes(cramjam.snappy.compress_raw(b))),
    (2, xerial),
    (3, lz4.frame.compress),
    (4, lambda b: zstandard.ZstdCompressor().compress(b)),
])
def test_every_codec_decodes(codec: int, pack: object) -> None:
    payload = pack(otlp())  # type: ignore[operator]
    points = decode(decompress(codec, payload, 1_048_576))
    assert [(p.name, p.kind, p.attributes, p.value) for p in points] == [
        ("org_apache_kafka_producer_node_request_latency_avg", "gauge", (("node_id", "node-1"),), 1.5),
        ("org_apache_kafka_producer_record_send_total", "counter", (), 3.0),
    ]


def test_bombs_and_garbage_are_refused() -> None:
    zeros = b"\0" * 2_000_000
    for codec, packed in [(1, gzip.compress(zeros)), (3, lz4.frame.compress(zeros)),
                          (4, zstandard.ZstdCompressor().compress(zeros)),
                          (2, bytes(cramjam.snappy.compress_raw(zeros)))]:
        with pytest.raises(PayloadTooLarge):
            decompress(codec, packed, 1_048_576)
    with pytest.raises(BadPayload):
        decompress(4, b"not zstd", 1_048_576)
    with pytest.raises(BadPayload):
        decode(b"\xff\xff\xff")


def pushing_client(store: ClientMetricsConfigs) -> tuple[ClientTelemetry, uuid.UUID, int]:
    store.replace("s", {"metrics": "org.apache.kafka.producer.", "interval.ms": "1000"}, False)
    telemetry = ClientTelemetry(store)
    telemetry.enable_receiver()
    telemetry.client_software("10.0.0.1:4000", "apache-kafka-java", "4.4.0")
    got = telemetry.get_subscriptions(None, NOW, "producer-1", "10.0.0.1:4000")
    return telemetry, got["client_instance_id"], got["subscription_id"]


def test_pushed_metrics_are_rendered_with_client_labels_and_go_stale() -> None:
    telemetry, instance, sub = pushing_client(configs())
    assert telemetry.push(instance, sub, False, 4, zstandard.ZstdCompressor().compress(otlp()), NOW + 1) == 0
    assert telemetry.push(instance, sub, False, 0, otlp(send_total=2), NOW + 1001) == 0
    assert telemetry.push(instance, sub, False, 0, b"\xff\xff", NOW + 2001) == ErrorCode.INVALID_RECORD
    receiver = telemetry.receiver
    assert receiver is not None

    class Families(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return client_telemetry_families(receiver, NOW + 2002)

    registry = CollectorRegistry()
    registry.register(Families())
    text = generate_latest(registry).decode()
    labels = (f'client_id="producer-1",client_instance_id="{kafka_uuid(instance)}",'
              'client_software_name="apache-kafka-java",client_software_version="4.4.0"')
    assert f"org_apache_kafka_producer_record_send_total{{{labels}}} 5.0" in text  # deltas added up
    assert f'org_apache_kafka_producer_node_request_latency_avg{{{labels},node_id="node-1"}} 1.5' in text
    assert "# TYPE org_apache_kafka_producer_record_send_total counter" in text
    assert "kafkalite_client_telemetry_series 2.0" in text
    # Three push intervals without a push: the client's series are gone.
    assert list(receiver.families(NOW + 1001 + 3000)) != []
    assert list(receiver.families(NOW + 1001 + 3001)) == []
    assert receiver.series == 0


def test_series_are_bounded() -> None:
    receiver = TelemetryMetrics(max_series=1)
    points = decode(otlp())
    receiver.record(("a", "", "", ""), points, 1000, NOW)
    assert receiver.series == 1 and receiver.dropped == 1
    receiver.record(("a", "", "", ""), decode(otlp(send_total=7, delta=False)), 1000, NOW + 1)
    (family,) = receiver.families(NOW + 2)
    assert family.samples[0][1] == 1.5  # the first point kept, the new series still dropped


def test_a_closed_connection_takes_its_instance() -> None:
    # As Kafka's disconnect listener: the instance created on the connection goes; a client that
    # comes back with its id is a new instance (asked again at once, not throttled).
    telemetry = ClientTelemetry(configs())
    first = telemetry.get_subscriptions(None, NOW, "c", "127.0.0.1:1")
    instance = first["client_instance_id"]
    assert telemetry.get_subscriptions(instance, NOW + 1, "c", "127.0.0.1:1")["error_code"] == 89
    telemetry.connection_closed("127.0.0.1:1")
    assert telemetry.get_subscriptions(instance, NOW + 2, "c", "127.0.0.1:2")["error_code"] == 0
    telemetry.connection_closed("127.0.0.1:9")  # a connection that made none
    assert instance in telemetry.instances
