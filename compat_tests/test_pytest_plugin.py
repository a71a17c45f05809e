"""The pytest plugin (kafkalite.testing), used the way a project would: a test file of its own,
run by a separate pytest, once serially and once over two pytest-xdist workers."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USER_TESTS = '''
import os
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition, TIMESTAMP_LOG_APPEND_TIME
from confluent_kafka.admin import AdminClient


def record(kafka_bootstrap):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(os.environ["RECORD_DIR"], f"{worker}-{os.getpid()}"), "a") as out:
        out.write(kafka_bootstrap + "\\n")


def consume(bootstrap, topic, partitions, count):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "plugin-test", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out, deadline = [], time.monotonic() + 20
    while len(out) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            out.append(msg)
    consumer.close()
    return out


def test_bootstrap_is_the_session_broker(kafka_bootstrap, kafkalite_broker):
    record(kafka_bootstrap)
    assert kafka_bootstrap == kafkalite_broker.bootstrap_servers
    assert kafka_bootstrap.startswith("127.0.0.1:")


def test_topic_factory_makes_fresh_topics(kafka_topic_factory, kafka_bootstrap):
    record(kafka_bootstrap)
    first = kafka_topic_factory(partitions=3)
    second = kafka_topic_factory()
    assert first != second
    assert "test_topic_factory_makes_fresh_topics" in first
    topics = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
    assert len(topics[first].partitions) == 3
    assert len(topics[second].partitions) == 1


def test_topic_configs_apply(kafka_topic_factory, kafka_bootstrap):
    record(kafka_bootstrap)
    topic = kafka_topic_factory(configs={"message.timestamp.type": "LogAppendTime"})
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, b"x", timestamp=1000)
    assert producer.flush(10) == 0
    (msg,) = consume(kafka_bootstrap, topic, 1, 1)
    kind, ts = msg.timestamp()
    assert kind == TIMESTAMP_LOG_APPEND_TIME and ts > 1000


def test_bad_config_is_an_error(kafka_topic_factory):
    with pytest.raises(Exception, match="no.such.config"):
        kafka_topic_factory(configs={"no.such.config": "1"})


@pytest.mark.parametrize("n", range(6))
def test_round_trip(n, kafka_topic_factory, kafka_bootstrap):
    record(kafka_bootstrap)
    topic = kafka_topic_factory(partitions=2)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(10):
        producer.produce(topic, f"{n}-{i}".encode(), partition=i % 2)
    assert producer.flush(10) == 0
    got = consume(kafka_bootstrap, topic, 2, 10)
    assert sorted(m.value().decode() for m in got) == sorted(f"{n}-{i}" for i in range(10))


def test_kafka_faults_injects_errors_clients_retry(kafka_faults, kafka_topic_factory, kafka_bootstrap):
    record(kafka_bootstrap)
    topic = kafka_topic_factory()
    fault = kafka_faults.fail("Produce", "NOT_LEADER_OR_FOLLOWER", count=2)
    kafka_faults.delay("Metadata", 1)  # left set: the fixture clears it after the test
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "retry.backoff.ms": 20})
    producer.produce(topic, b"retried")
    assert producer.flush(20) == 0
    assert fault.hits == 2
    assert len(consume(kafka_bootstrap, topic, 1, 1)) == 1


def test_kafka_faults_are_cleared_between_tests(kafka_faults, kafka_bootstrap):
    record(kafka_bootstrap)
    assert kafka_faults.list() == []
'''

USER_TEST_COUNT = 12


def plugin_registered() -> bool:
    """Is the installed kafkalite's pytest11 entry point there? (Not in a venv installed before it existed.)"""
    return any(ep.value == "kafkalite.testing" for ep in importlib.metadata.entry_points(group="pytest11"))


def run_user_tests(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, set[str]]]:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    record_dir = tmp_path / "records"
    record_dir.mkdir()
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py", *extra]
    if not plugin_registered():
        args[3:3] = ["-p", "kafkalite.testing"]
    env = {**os.environ, "RECORD_DIR": str(record_dir), "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    seen: dict[str, set[str]] = {}
    for path in record_dir.iterdir():
        seen[path.name] = set(path.read_text().split())
    return result, seen


def test_entry_point_is_declared() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["entry-points"]["pytest11"] == {"kafkalite": "kafkalite.testing"}
    assert importlib.util.find_spec("kafkalite.testing") is not None


def test_plugin_fixtures_in_a_user_test_session(tmp_path: Path) -> None:
    result, seen = run_user_tests(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"\b{USER_TEST_COUNT} passed\b", result.stdout), result.stdout
    bootstraps = set().union(*seen.values())
    assert len(seen) == 1 and len(bootstraps) == 1, seen  # one process, one session broker


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist is not installed")
def test_plugin_with_xdist_gives_each_worker_its_own_broker(tmp_path: Path) -> None:
    result, seen = run_user_tests(tmp_path, "-n", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"\b{USER_TEST_COUNT} passed\b", result.stdout), result.stdout
    workers = {name.split("-")[0] for name in seen}
    assert workers == {"gw0", "gw1"}, seen
    assert all(len(b) == 1 for b in seen.values()), seen  # each worker: one broker all session
    all_bootstraps = [next(iter(b)) for b in seen.values()]
    assert len(set(all_bootstraps)) == len(all_bootstraps), seen  # and no two workers share one
