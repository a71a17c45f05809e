"""Faults on demand (kafkalite/broker/faults.py), seen by real clients, and their three controls.

Injected retriable errors must be retried as clients retry them on Kafka (an idempotent producer
then writes each record once), non-retriable ones must reach the application as the right
exception, a delay must be observed, a dropped connection reconnected, a throttle reported.
The HTTP control endpoint and the ``kafkalite faults`` CLI are driven end to end, and control
requests naming unknown APIs, error codes or nodes are refused with a message.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaProducer
from kafka.errors import (
    KafkaStorageError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
    TopicAuthorizationFailedError,
)

from compat_tests.brokerproc import BrokerProcess, free_port
from compat_tests.conftest import poll_values, wait_for
from kafkalite.broker.faults import FaultError, FaultRegistry
from kafkalite.cli import main as cli_main
from kafkalite.embedded import Broker


@pytest.fixture(scope="module")
def fault_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = Broker(data_dir=tmp_path_factory.mktemp("faults") / "data", control_port=0).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def faults(fault_broker: Broker) -> Iterator[FaultRegistry]:
    registry = fault_broker.faults
    try:
        yield registry
    finally:
        registry.clear()


@pytest.fixture
def topic(fault_broker: Broker) -> str:
    name = f"faults-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": fault_broker.bootstrap_servers})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(15)
    return name


def http(broker: Broker, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{broker.control_port}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 15.0) -> list[bytes]:
    """Every value in the topic (reads until ``expected`` arrived, then a little more for extras)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                if len(values) >= expected:
                    break
                continue
            if msg.error() is None:
                values.append(msg.value())
    finally:
        consumer.close()
    return values


def deliver(producer: Producer, topic: str, value: bytes, timeout: float = 20.0) -> KafkaError | None:
    reports: list[KafkaError | None] = []
    producer.produce(topic, value, on_delivery=lambda err, _msg: reports.append(err))
    producer.flush(timeout)
    assert reports, "no delivery report"
    return reports[0]


# ---- retriable errors are retried --------------------------------------------------------------------


def test_confluent_idempotent_producer_retries_not_leader(fault_broker: Broker, faults: FaultRegistry,
                                                          topic: str) -> None:
    fault = faults.fail("Produce", "NOT_LEADER_OR_FOLLOWER", count=3, topic=topic)
    producer = Producer({"bootstrap.servers": fault_broker.bootstrap_servers, "enable.idempotence": True,
                         "retry.backoff.ms": 20, "linger.ms": 0})
    assert deliver(producer, topic, b"once") is None
    assert fault.hits == 3 and fault.remaining == 0
    assert faults.list() == []  # used up
    assert consume_all(fault_broker.bootstrap_servers, topic, 1) == [b"once"]


def test_kafka_python_producer_retries_not_leader(fault_broker: Broker, faults: FaultRegistry, topic: str) -> None:
    fault = faults.fail("Produce", "NOT_LEADER_OR_FOLLOWER", count=3)
    producer = KafkaProducer(bootstrap_servers=fault_broker.bootstrap_servers, enable_idempotence=True, acks="all",
                             retries=10, retry_backoff_ms=20)
    try:
        metadata = producer.send(topic, b"kp-once").get(timeout=20)
    finally:
        producer.close()
    assert metadata.offset == 0
    assert fault.hits == 3
    assert consume_all(fault_broker.bootstrap_servers, topic, 1) == [b"kp-once"]


# ---- non-retriable errors reach the application --------------------------------------------------------


def test_non_retriable_error_reaches_the_application(fault_broker: Broker, faults: FaultRegistry,
                                                     topic: str) -> None:
    faults.fail("Produce", "TOPIC_AUTHORIZATION_FAILED", count=1)
    producer = Producer({"bootstrap.servers": fault_broker.bootstrap_servers, "retry.backoff.ms": 20})
    err = deliver(producer, topic, b"denied")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    faults.fail(0, 29, count=1)  # by key number and code number: the same fault
    kp = KafkaProducer(bootstrap_servers=fault_broker.bootstrap_servers, retries=5)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            kp.send(topic, b"denied").get(timeout=20)
    finally:
        kp.close()  # kafka-python holds an authorization failure fatal for the producer
    kp = KafkaProducer(bootstrap_servers=fault_broker.bootstrap_servers, retries=5)
    try:
        assert kp.send(topic, b"allowed").get(timeout=20).offset == 0  # the fault is used up
    finally:
        kp.close()


def test_storage_fault_surfaces_as_kafka_storage_error(fault_broker: Broker, faults: FaultRegistry,
                                                        topic: str) -> None:
    status, answer = http(fault_broker, "POST", "/storage", {"action": "full"})
    assert status == 201 and answer["fault"]["kind"] == "full"
    kp = KafkaProducer(bootstrap_servers=fault_broker.bootstrap_servers, retries=0)
    try:
        with pytest.raises(KafkaStorageError):
            kp.send(topic, b"no room").get(timeout=20)
        assert http(fault_broker, "DELETE", "/storage")[0] == 200
        assert kp.send(topic, b"room again").get(timeout=20).offset == 0
    finally:
        kp.close()


# ---- delays, drops, throttles ----------------------------------------------------------------------------


def test_delay_is_observed(fault_broker: Broker, faults: FaultRegistry, topic: str) -> None:
    kp = KafkaProducer(bootstrap_servers=fault_broker.bootstrap_servers)
    try:
        kp.send(topic, b"warm").get(timeout=20)
        faults.delay("Produce", 600, count=1)
        started = time.monotonic()
        kp.send(topic, b"slow").get(timeout=20)
        slow = time.monotonic() - started
        started = time.monotonic()
        kp.send(topic, b"fast").get(timeout=20)
        fast = time.monotonic() - started
    finally:
        kp.close()
    assert slow >= 0.6 > fast


def test_dropped_connection_is_reconnected(fault_broker: Broker, faults: FaultRegistry, topic: str) -> None:
    fault = faults.drop("Produce", count=1)
    producer = Producer({"bootstrap.servers": fault_broker.bootstrap_servers, "enable.idempotence": True,
                         "retry.backoff.ms": 20, "reconnect.backoff.ms": 20})
    assert deliver(producer, topic, b"after-drop") is None
    assert fault.hits == 1
    assert consume_all(fault_broker.bootstrap_servers, topic, 1) == [b"after-drop"]


def test_throttle_is_reported(fault_broker: Broker, faults: FaultRegistry, topic: str) -> None:
    events: list[Any] = []
    producer = Producer({"bootstrap.servers": fault_broker.bootstrap_servers, "throttle_cb": events.append})
    assert deliver(producer, topic, b"warm") is None
    faults.throttle("Produce", 400, count=1)
    started = time.monotonic()
    assert deliver(producer, topic, b"throttled") is None
    assert deliver(producer, topic, b"after") is None  # muted for the throttle time first (KIP-219)
    elapsed = time.monotonic() - started
    wait_for(lambda: producer.poll(0.05) is not None or events, what="a throttle event")
    assert any(abs(e.throttle_time - 0.4) < 0.01 for e in events), events
    assert elapsed >= 0.4


# ---- coordinator faults -----------------------------------------------------------------------------------


def test_group_survives_coordinator_loading(fault_broker: Broker, faults: FaultRegistry, topic: str) -> None:
    group = f"loading-{uuid.uuid4().hex[:8]}"
    fault = faults.coordinator_loading(group=group, count=3)
    producer = Producer({"bootstrap.servers": fault_broker.bootstrap_servers})
    assert deliver(producer, topic, b"for-the-group") is None
    consumer = Consumer({"bootstrap.servers": fault_broker.bootstrap_servers, "group.id": group,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        msg = wait_for(lambda: (m := consumer.poll(0.2)) is not None and m.error() is None and m, timeout=30,
                       what="a record through the loading coordinator")
        assert msg.value() == b"for-the-group"
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    assert fault.hits == 3
    other = faults.not_coordinator(group="some-other-group", count=1)
    assert other.hits == 0  # keyed by group: this group's requests did not match it


def test_coordinator_move_single_broker_stays(fault_broker: Broker, faults: FaultRegistry) -> None:
    node = fault_broker.node_ids[0]
    assert faults.move_coordinator(group="g") == node  # one node: nowhere else to go
    status, answer = http(fault_broker, "POST", "/coordinators", {"action": "move", "transactional_id": "t"})
    assert (status, answer) == (200, {"node": node})


# ---- the HTTP control endpoint ------------------------------------------------------------------------------


def test_http_endpoint_end_to_end(fault_broker: Broker, faults: FaultRegistry, topic: str) -> None:
    status, answer = http(fault_broker, "POST", "/faults",
                          {"api": "Produce", "error": "NOT_LEADER_OR_FOLLOWER", "count": 2, "topic": topic})
    assert status == 201, answer
    fault_id = answer["fault"]["id"]
    status, listed = http(fault_broker, "GET", "/faults")
    assert status == 200 and [f["id"] for f in listed["faults"]] == [fault_id]
    assert listed["faults"][0]["error_code"] == 6 and listed["faults"][0]["remaining"] == 2
    producer = Producer({"bootstrap.servers": fault_broker.bootstrap_servers, "enable.idempotence": True,
                         "retry.backoff.ms": 20})
    assert deliver(producer, topic, b"via-http") is None
    assert http(fault_broker, "GET", "/faults")[1]["faults"] == []

    status, answer = http(fault_broker, "POST", "/faults", {"api": "Fetch", "action": "delay", "delay_ms": 10})
    assert status == 201
    assert http(fault_broker, "DELETE", f"/faults/{answer['fault']['id']}") == (200, {"removed": answer["fault"]["id"]})
    assert http(fault_broker, "DELETE", f"/faults/{answer['fault']['id']}")[0] == 404
    http(fault_broker, "POST", "/faults", {"api": "Metadata", "action": "delay", "delay_ms": 10})
    assert http(fault_broker, "DELETE", "/faults") == (200, {"cleared": True})
    assert http(fault_broker, "GET", "/faults")[1]["faults"] == []


@pytest.mark.parametrize(("method", "path", "body", "message"), [
    ("POST", "/faults", {"api": "Prodooce", "error": "NOT_LEADER_OR_FOLLOWER"}, "unknown API 'Prodooce'"),
    ("POST", "/faults", {"api": 999, "error": 6}, "unknown API key 999"),
    ("POST", "/faults", {"api": "Produce", "error": "NOT_A_LEADER"}, "unknown error code 'NOT_A_LEADER'"),
    ("POST", "/faults", {"api": "Produce", "error": 4242}, "unknown error code 4242"),
    ("POST", "/faults", {"api": "Produce", "error": 6, "node": 7}, "unknown node 7"),
    ("POST", "/faults", {"api": "Produce", "action": "explode"}, "unknown action 'explode'"),
    ("POST", "/faults", {"api": "Produce", "error": 6, "count": 0}, "count must be a positive integer"),
    ("POST", "/faults", {"api": "Produce", "error": 6, "colour": "red"}, "unknown field(s) colour"),
    ("POST", "/nodes/7/stop", {}, "unknown node 7"),
    ("POST", "/nodes/1/explode", {}, "unknown node action 'explode'"),
    ("POST", "/storage", {"action": "full", "node": 5}, "unknown node 5"),
    ("POST", "/coordinators", {"action": "loading"}, "name exactly one of group or transactional_id"),
    ("POST", "/coordinators", {"action": "move", "group": "g", "node": 3}, "unknown node 3"),
])
def test_http_refuses_unknown_names(fault_broker: Broker, faults: FaultRegistry, method: str, path: str,
                                    body: dict[str, Any], message: str) -> None:
    status, answer = http(fault_broker, method, path, body)
    assert status == 400, answer
    assert message in answer["error"]
    assert faults.list() == []


def test_http_bad_json(fault_broker: Broker) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{fault_broker.control_port}/faults", data=b"{not json",
                                     method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=15)
    assert info.value.code == 400 and "not JSON" in json.loads(info.value.read())["error"]


def test_python_api_refuses_unknown_names(faults: FaultRegistry) -> None:
    with pytest.raises(FaultError, match="unknown API 'Nope'"):
        faults.fail("Nope", "NOT_LEADER_OR_FOLLOWER")
    with pytest.raises(FaultError, match="unknown error code 'NOPE'"):
        faults.fail("Produce", "NOPE")
    with pytest.raises(FaultError, match="unknown node 9"):
        faults.node_action(9, "stop")
    with pytest.raises(FaultError, match="unknown node 9"):
        faults.disk_full(node=9)


# ---- the CLI ---------------------------------------------------------------------------------------------------


def test_cli_against_the_endpoint(fault_broker: Broker, faults: FaultRegistry) -> None:
    url = f"http://127.0.0.1:{fault_broker.control_port}"
    runner = CliRunner()
    result = runner.invoke(cli_main, ["faults", "--url", url, "fail", "Produce", "NOT_LEADER_OR_FOLLOWER",
                                      "--count", "2", "--client-id", "app-1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["fault"]["client_id"] == "app-1"
    result = runner.invoke(cli_main, ["faults", "--url", url, "throttle", "Fetch", "100"])
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(cli_main, ["faults", "--url", url, "list"]).output)
    assert [(f["apis"], f["action"]) for f in listed["faults"]] == [(["Produce"], "error"), (["Fetch"], "throttle")]
    result = runner.invoke(cli_main, ["faults", "--url", url, "coordinator", "loading", "--group", "g1",
                                      "--count", "1"])
    assert result.exit_code == 0 and "COORDINATOR_LOAD_IN_PROGRESS" in result.output
    assert runner.invoke(cli_main, ["faults", "--url", url, "clear"]).exit_code == 0
    assert faults.list() == []

    result = runner.invoke(cli_main, ["faults", "--url", url, "fail", "Produce", "NOT_A_CODE"])
    assert result.exit_code == 2 and "unknown error code 'NOT_A_CODE'" in result.output
    result = runner.invoke(cli_main, ["faults", "--url", url, "node", "5", "stop"])
    assert result.exit_code == 2 and "unknown node 5" in result.output
    result = runner.invoke(cli_main, ["faults", "--url", url, "delay", "NoSuchApi", "10"])
    assert result.exit_code == 2 and "unknown API 'NoSuchApi'" in result.output


def test_serve_control_port_and_cli_processes(tmp_path: Path) -> None:
    """`kafkalite serve --control-port` and the `kafkalite faults` CLI, each its own process."""
    control = free_port()
    proc = BrokerProcess(tmp_path / "data", extra_args=["--control-port", str(control)])
    proc.start()
    try:
        url = f"http://127.0.0.1:{control}"
        cli = [sys.executable, "-m", "kafkalite", "faults", "--url", url]
        done = subprocess.run([*cli, "fail", "Produce", "NOT_LEADER_OR_FOLLOWER", "--count", "2"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        producer = Producer({"bootstrap.servers": proc.bootstrap, "enable.idempotence": True, "retry.backoff.ms": 20})
        assert deliver(producer, "cli-topic", b"x") is None
        listed = subprocess.run([*cli, "list"], capture_output=True, text=True, timeout=60)
        assert json.loads(listed.stdout)["faults"] == []
        bad = subprocess.run([*cli, "fail", "Produce", "NOPE"], capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "unknown error code 'NOPE'" in bad.stderr
    finally:
        proc.stop()
    unreachable = subprocess.run([sys.executable, "-m", "kafkalite", "faults", "--url", url, "list"],
                                 capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 1 and "cannot reach the control endpoint" in unreachable.stderr


# ---- node faults in a simulated cluster -------------------------------------------------------------------------


def test_cluster_node_stop_start_and_latency(tmp_path: Path) -> None:
    with Broker(data_dir=tmp_path / "data", brokers=3, control_port=0) as cluster:
        host, port = cluster.node_address(2)
        status, answer = http(cluster, "POST", "/nodes/2/stop", {})
        assert status == 200
        assert [n["alive"] for n in answer["nodes"]] == [True, False, True]
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=2).close()
        assert http(cluster, "POST", "/nodes/2/start", {})[0] == 200
        socket.create_connection((host, port), timeout=5).close()

        cluster.faults.set_latency(1, 400)
        assert cluster.faults.armed
        admin = AdminClient({"bootstrap.servers": f"{cluster.node_address(1)[0]}:{cluster.node_address(1)[1]}"})
        started = time.monotonic()
        admin.list_topics(timeout=10)
        assert time.monotonic() - started >= 0.4
        assert http(cluster, "POST", "/nodes/1/latency", {"ms": 0})[0] == 200
        assert not cluster.faults.armed
        cluster.set_latency(2, 50)  # the Broker's own node control arms the dispatcher too
        assert cluster.faults.armed and cluster.faults.nodes()[1]["latency_ms"] == 50
        cluster.faults.clear()
        assert not cluster.faults.armed

        node3 = cluster.faults.disk_full(node=3)
        assert node3["path"].endswith("/node-3/")
        cluster.faults.clear()


# ---- retriable errors on the consumer and transaction paths --------------------------------------------------


def test_consumer_rides_out_retriable_errors(fault_broker: Broker, faults: FaultRegistry, topic: str) -> None:
    producer = Producer({"bootstrap.servers": fault_broker.bootstrap_servers})
    for i in range(3):
        producer.produce(topic, f"r{i}".encode())
    producer.flush(15)
    group = f"riding-{uuid.uuid4().hex[:8]}"
    injected = [
        faults.fail("FindCoordinator", "COORDINATOR_NOT_AVAILABLE", count=2),
        faults.fail("OffsetFetch", "COORDINATOR_LOAD_IN_PROGRESS", count=1, key=group),
        faults.fail("ListOffsets", "NOT_LEADER_OR_FOLLOWER", count=1, topic=topic),
        faults.fail("Fetch", "NOT_LEADER_OR_FOLLOWER", count=2, topic=topic),
        faults.fail("OffsetCommit", "COORDINATOR_LOAD_IN_PROGRESS", count=1, key=group),
    ]
    consumer = Consumer({"bootstrap.servers": fault_broker.bootstrap_servers, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "topic.metadata.refresh.interval.ms": 1000})
    consumer.subscribe([topic])
    try:
        values = poll_values(consumer, 3, timeout=45, what="three records through the injected errors", poll_s=0.2)
        consumer.commit(asynchronous=False)  # retried through COORDINATOR_LOAD_IN_PROGRESS
    finally:
        consumer.close()
    assert values == [b"r0", b"r1", b"r2"]
    assert [f.hits for f in injected] == [2, 1, 1, 2, 1]


def test_transactional_producer_rides_out_coordinator_errors(fault_broker: Broker, faults: FaultRegistry,
                                                             topic: str) -> None:
    txn_id = f"txn-{uuid.uuid4().hex[:8]}"
    loading = faults.coordinator_loading(transactional_id=txn_id, count=2)
    producer = Producer({"bootstrap.servers": fault_broker.bootstrap_servers, "transactional.id": txn_id})
    producer.init_transactions(30)
    faults.fail("AddPartitionsToTxn", "CONCURRENT_TRANSACTIONS", count=1, key=txn_id)
    faults.fail("EndTxn", "COORDINATOR_LOAD_IN_PROGRESS", count=1, key=txn_id)
    producer.begin_transaction()
    producer.produce(topic, b"in-txn")
    producer.commit_transaction(30)
    assert loading.hits == 2
    assert faults.list() == []
    consumer = Consumer({"bootstrap.servers": fault_broker.bootstrap_servers, "group.id": f"g-{txn_id}",
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer.subscribe([topic])
    try:
        msg = wait_for(lambda: (m := consumer.poll(0.2)) is not None and m.error() is None and m, timeout=30,
                       what="the committed record")
        assert msg.value() == b"in-txn"
    finally:
        consumer.close()


def test_control_routes_on_the_metrics_port(tmp_path: Path) -> None:
    with Broker(data_dir=tmp_path / "data", metrics_port=0) as broker:
        base = f"http://127.0.0.1:{broker.metrics_port}"
        request = urllib.request.Request(f"{base}/faults", method="POST",
                                         data=json.dumps({"api": "Heartbeat", "error": 27}).encode())
        with urllib.request.urlopen(request, timeout=15) as response:
            assert response.status == 201
        assert broker.faults.list()[0]["error"] == "REBALANCE_IN_PROGRESS"
        with urllib.request.urlopen(f"{base}/metrics", timeout=15) as response:  # metrics as before
            assert b"kafkalite_requests" in response.read()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(urllib.request.Request(f"{base}/nodes/4/stop", method="POST"), timeout=15)
        assert info.value.code == 400 and "unknown node 4" in json.loads(info.value.read())["error"]


def test_error_sequence_as_librdkafka_error_stacks(fault_broker: Broker, faults: FaultRegistry, topic: str) -> None:
    """Errors one request each, in order, NONE letting one through; over HTTP and the CLI too."""
    sequence = faults.fail_sequence("Produce", ["NOT_LEADER_OR_FOLLOWER", "NONE", "REQUEST_TIMED_OUT"], topic=topic)
    assert [f.action for f in sequence] == ["error", "pass", "error"]
    kp = KafkaProducer(bootstrap_servers=fault_broker.bootstrap_servers, retries=0)
    try:
        with pytest.raises(NotLeaderForPartitionError):
            kp.send(topic, b"1").get(timeout=20)
        assert kp.send(topic, b"2").get(timeout=20).offset == 0
        with pytest.raises(RequestTimedOutError):
            kp.send(topic, b"3").get(timeout=20)
        assert kp.send(topic, b"4").get(timeout=20).offset == 1
    finally:
        kp.close()
    status, answer = http(fault_broker, "POST", "/faults", {"api": "Fetch", "errors": ["NOT_LEADER_OR_FOLLOWER", 7]})
    assert status == 201 and [f["error_code"] for f in answer["sequence"]] == [6, 7]
    status, answer = http(fault_broker, "POST", "/faults", {"api": "Fetch", "errors": ["NOT_LEADER_OR_FOLLOWER", "X"]})
    assert status == 400 and "unknown error code 'X'" in answer["error"]
    result = CliRunner().invoke(cli_main, ["faults", "--url", f"http://127.0.0.1:{fault_broker.control_port}", "fail",
                                           "Metadata", "LEADER_NOT_AVAILABLE,NONE"])
    assert result.exit_code == 0, result.output
    assert [f["action"] for f in faults.list()] == ["error", "error", "error", "pass"]


# ---- faults scoped to one node of a simulated cluster ----------------------------------------------------------


@pytest.fixture
def cluster3(tmp_path: Path) -> Iterator[Broker]:
    with Broker(data_dir=tmp_path / "data", brokers=3, control_port=0) as cluster:
        yield cluster


def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    meta = admin.list_topics(topic, timeout=10)
    return {p.id: p.leader for p in meta.topics[topic].partitions.values()}


@pytest.mark.parametrize("acks", [1, "all"])
def test_disk_full_on_one_node_fails_only_its_partitions(cluster3: Broker, acks: int | str) -> None:
    topic = f"per-node-disk-{acks}"
    admin = AdminClient({"bootstrap.servers": cluster3.bootstrap_servers})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(15)
    led = wait_for(lambda: (m := leaders(cluster3.bootstrap_servers, topic)) and all(v > 0 for v in m.values()) and m,
                   what="leaders")
    assert sorted(led.values()) == [1, 2, 3]
    full = next(p for p, node in led.items() if node == 2)
    status, _ = http(cluster3, "POST", "/storage", {"action": "full", "node": 2})
    assert status == 201
    # acks=all too: the refused leader write is answered KAFKA_STORAGE_ERROR at once, not
    # REQUEST_TIMED_OUT when the ISR wait ends (request_timeout_ms below the produce timeout shows it)
    kp = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers, retries=0, acks=acks, request_timeout_ms=20000)
    try:
        for partition in led:
            future = kp.send(topic, b"x", partition=partition)
            if partition == full:
                with pytest.raises(KafkaStorageError):
                    future.get(timeout=10)
            else:
                assert future.get(timeout=20).offset == 0
        assert http(cluster3, "DELETE", "/storage?node=2")[0] == 200
        assert kp.send(topic, b"y", partition=full).get(timeout=20).offset == 0
    finally:
        kp.close()


def test_coordinator_move_in_a_cluster(cluster3: Broker) -> None:
    group = "moving-group"

    def coordinator() -> int:
        # a fresh client each time: librdkafka's admin client keeps asking the coordinator it cached
        admin = AdminClient({"bootstrap.servers": cluster3.bootstrap_servers})
        return int(admin.describe_consumer_groups([group])[group].result(15).coordinator.id)

    before = coordinator()
    status, answer = http(cluster3, "POST", "/coordinators", {"action": "move", "group": group})
    assert status == 200 and answer["node"] != before
    assert wait_for(lambda: coordinator() == answer["node"], what="FindCoordinator naming the new node")
    assert cluster3.faults.move_coordinator(group=group, node=before) == before
    assert wait_for(lambda: coordinator() == before, what="the coordinator back")
