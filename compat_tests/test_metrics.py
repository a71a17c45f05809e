"""The Prometheus endpoint (``serve --metrics-port`` / KAFKALITE_METRICS_PORT), scraped while real
clients produce and consume."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from compat_tests.brokerproc import BrokerProcess, free_port
from compat_tests.conftest import wait_for
from kafkalite import Broker

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: Samples = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    matching = [v for lbl, v in samples.get(name, []) if all(lbl.get(k) == x for k, x in labels.items())]
    assert matching, f"no sample {name}{labels}"
    return sum(matching)


@pytest.fixture
def metrics_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BrokerProcess, int]]:
    port = free_port()
    monkeypatch.setenv("KAFKALITE_METRICS_PORT", str(port))  # the env var, as in a container
    proc = BrokerProcess(tmp_path / "data")
    proc.start()
    yield proc, port
    if proc.alive():
        proc.stop()


def test_scrape_during_produce_and_consume(metrics_broker: tuple[BrokerProcess, int], topic_name: str) -> None:
    broker, port = metrics_broker
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(10)
    value_size = 100
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(20):
        producer.produce(topic_name, b"x" * value_size, partition=i % 2)
    assert producer.flush(10) == 0

    group = "metrics-group"
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic_name])
    received: list[object] = []

    def consumed_all() -> bool:
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            received.append(msg)
        return len(received) >= 20

    wait_for(consumed_all, what="20 records")
    consumer.commit(offsets=[TopicPartition(topic_name, 0, 7), TopicPartition(topic_name, 1, 10)], asynchronous=False)

    # Scrape repeatedly while a producer keeps writing to another topic: counters only grow.
    stop = threading.Event()

    def keep_producing() -> None:
        busy = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
        while not stop.is_set():
            busy.produce(f"{topic_name}-busy", b"y")
            busy.flush(5)
        busy.flush(5)

    background = threading.Thread(target=keep_producing)
    background.start()
    try:
        produced = [value(scrape(port), "kafkalite_requests_total", api="Produce")]
        wait_for(lambda: produced.append(value(scrape(port), "kafkalite_requests_total", api="Produce"))
                 or produced[-1] > produced[0], what="Produce requests counted while scraping")
        assert produced == sorted(produced)
        samples = scrape(port)
    finally:
        stop.set()
        background.join(20)
        consumer.close()

    assert value(samples, "kafkalite_requests_total", api="Produce", api_key="0") > 0
    assert value(samples, "kafkalite_requests_total", api="Fetch", api_key="1") > 0
    assert value(samples, "kafkalite_request_duration_seconds_count", api="Produce") > 0
    assert value(samples, "kafkalite_request_duration_seconds_bucket", api="Fetch", le="+Inf") > 0
    assert value(samples, "kafkalite_bytes_in_total", api="Produce") > 20 * value_size
    assert value(samples, "kafkalite_bytes_out_total", api="Fetch") > 20 * value_size
    assert value(samples, "kafkalite_connections") >= 1
    assert value(samples, "kafkalite_connections_accepted_total") >= 3
    assert value(samples, "kafkalite_log_end_offset", topic=topic_name, partition="0") == 10
    assert value(samples, "kafkalite_log_end_offset", topic=topic_name, partition="1") == 10
    assert value(samples, "kafkalite_consumer_group_committed_offset", group=group, topic=topic_name,
                 partition="0") == 7
    assert value(samples, "kafkalite_consumer_group_lag", group=group, topic=topic_name, partition="0") == 3
    assert value(samples, "kafkalite_consumer_group_lag", group=group, topic=topic_name, partition="1") == 0
    assert value(samples, "kafkalite_consumer_group_members", group=group, state="Stable") == 1
    assert value(samples, "process_cpu_seconds_total") > 0  # serve adds the process collector

    with pytest.raises(urllib.error.HTTPError) as not_found:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
    assert not_found.value.code == 404


def test_metrics_are_off_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKALITE_METRICS_PORT", raising=False)
    proc = BrokerProcess(tmp_path / "data")
    proc.start()
    try:
        with Broker() as embedded:
            assert embedded.metrics_port is None
    finally:
        proc.stop()
    assert "metrics" not in proc.log_text()


def test_embedded_broker_metrics_port() -> None:
    from kafka import KafkaProducer

    with Broker(metrics_port=0) as broker:
        assert broker.metrics_port
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        producer.send("embedded-metrics", b"v").get(10)
        producer.close()
        samples = scrape(broker.metrics_port)
        assert value(samples, "kafkalite_requests_total", api="Produce") >= 1
        assert value(samples, "kafkalite_log_end_offset", topic="embedded-metrics", partition="0") == 1
        assert "process_cpu_seconds_total" not in samples  # the process is the caller's, not the broker's
