"""Fixtures that start real kafkalite processes; clients are real kafka-python,
confluent-kafka, aiokafka, kcat and KafkaJS."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from compat_tests.brokerproc import BrokerProcess
from compat_tests.javaclient import JavaClient, build
from kafkalite.conformance.reference import KAFKA_VERSION, ReferenceKafka, java_available

T = TypeVar("T")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """One broker shared by the tests that do not restart it."""
    proc = BrokerProcess(tmp_path_factory.mktemp("shared") / "data")
    proc.start()
    yield proc
    if proc.alive():
        proc.stop()


@pytest.fixture(scope="session")
def reference_kafka() -> Iterator[ReferenceKafka]:
    """Apache Kafka itself (one KRaft node), for live differential checks; skipped without a JVM."""
    if not java_available():
        pytest.skip(f"Apache Kafka {KAFKA_VERSION} needs java and mvn on PATH")
    kafka = ReferenceKafka().start()
    yield kafka
    kafka.stop()


@pytest.fixture(scope="session")
def java_client() -> JavaClient:
    """compat_tests/java built once (Maven) at the reference Kafka version; skipped without a JVM."""
    if not java_available():
        pytest.skip("the Java client tests need java and mvn on PATH")
    return build()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker of the test's own, for tests that restart, kill or configure it."""
    proc = BrokerProcess(tmp_path / "data")
    yield proc
    if proc.alive():
        proc.kill9()


@pytest.fixture
def topic_name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, interval: float = 0.05, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(interval)


def poll_values(consumer: Any, count: int, timeout: float, what: str, poll_s: float = 0.5) -> list[bytes]:
    """Poll a subscribed confluent-kafka ``consumer`` until ``count`` values came (errored messages
    skipped); the values in the order they came. Fails after ``timeout`` seconds, naming ``what``."""
    values: list[bytes] = []

    def enough() -> bool:
        msg = consumer.poll(poll_s)
        if msg is not None and msg.error() is None:
            values.append(msg.value())
        return len(values) >= count

    wait_for(enough, timeout=timeout, what=what)
    return values


@contextlib.contextmanager
def kafkalite_or_kafka(which: str, data_dir: Path, overrides: dict[str, str] | None = None) -> Iterator[str]:
    """A kafkalite broker process, or (``which == "kafka"``) Apache Kafka, with the same
    ``overrides``; yields its bootstrap address and stops it after. Kafka without a JVM: skipped."""
    server: BrokerProcess | ReferenceKafka
    if which == "kafka":
        if not java_available():
            pytest.skip(f"Apache Kafka {KAFKA_VERSION} needs java and mvn on PATH")
        server = ReferenceKafka(overrides=overrides).start()
    else:
        args = [arg for key, value in (overrides or {}).items() for arg in ("--override", f"{key}={value}")]
        server = BrokerProcess(data_dir, extra_args=args)
        server.start()
    try:
        yield server.bootstrap
    finally:
        server.stop()
