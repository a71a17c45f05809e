"""Bounded resources: file handles, partition counts, request memory and idle connections.

- 10,000 partitions start and serve under ``ulimit -n 1024`` (segment files are opened lazily
  and held in a bounded cache), and the figures (time to ready, RSS, open files) are printed.
- CreateTopics / CreatePartitions past Kafka's per-request limits answer POLICY_VIOLATION with
  Kafka's messages, and past ``max.broker.partitions`` with kafkalite's, creating nothing.
- ``queued.max.request.bytes`` stops reading from a flooding connection while other clients
  are served; ``connections.max.idle.ms`` closes silent connections.
"""

from __future__ import annotations

import os
import resource
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from kafka.protocol.consumer import FetchRequest
from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse
from kafka.protocol.producer import ProduceRequest
from kafka.record.memory_records import MemoryRecordsBuilder

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient

FD_LIMIT = 1024


def _few_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def _proc_stats(pid: int) -> tuple[int, int]:
    """(RSS in MiB, open file descriptors) of a process, from /proc."""
    with open(f"/proc/{pid}/status") as fh:
        rss_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))
    return rss_kb // 1024, len(os.listdir(f"/proc/{pid}/fd"))


def _create_all(admin: AdminClient, topics: list[NewTopic]) -> None:
    for future in admin.create_topics(topics, request_timeout=120).values():
        future.result()


def _error(future: object) -> KafkaError:
    with pytest.raises(KafkaException) as info:
        future.result()  # type: ignore[attr-defined]
    return info.value.args[0]


class _Pinger:
    """Sends ApiVersions in a loop from a thread; ``stop`` returns the slowest answer's time."""

    def __init__(self, bootstrap: str) -> None:
        self._client = RawClient(bootstrap)
        self._slowest = 0.0
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            started = time.monotonic()
            assert self._client.call(ApiVersionsRequest(version=0), ApiVersionsResponse).error_code == 0
            self._slowest = max(self._slowest, time.monotonic() - started)
            time.sleep(0.01)

    def stop(self) -> float:
        self._running = False
        self._thread.join(30)
        self._client.close()
        return self._slowest


# ---- 10,000 partitions under ulimit -n 1024 --------------------------------------------------------


def test_ten_thousand_partitions_under_ulimit_1024(tmp_path: Path) -> None:
    topics, per_topic, per_request = 100, 100, 25  # 2,500 partitions (2,525 records) per request
    broker = BrokerProcess(tmp_path / "data", preexec_fn=_few_files)
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        create_seconds = []
        pinger = _Pinger(broker.bootstrap)  # how long other clients wait while partitions are created
        for first in range(0, topics, per_request):
            started = time.monotonic()
            _create_all(admin, [NewTopic(f"p{i:03d}", per_topic, 1) for i in range(first, first + per_request)])
            create_seconds.append(round(time.monotonic() - started, 2))
        slowest_answer = pinger.stop()
        created_rss, created_fds = _proc_stats(broker.proc.pid)  # type: ignore[union-attr]
        assert created_fds < FD_LIMIT
        broker.stop(timeout=120)

        started = time.monotonic()
        broker.start(timeout=120)
        ready = time.monotonic() - started
        rss, fds = _proc_stats(broker.proc.pid)  # type: ignore[union-attr]
        print(
            f"\n10,000 partitions: CreateTopics of 2,500 partitions took {create_seconds} s "
            f"(meanwhile another client's slowest ApiVersions answer took {slowest_answer:.3f} s; "
            f"after: {created_rss} MiB RSS, {created_fds} fds); restart ready in {ready:.2f} s, "
            f"{rss} MiB RSS, {fds} open fds (limit {FD_LIMIT})"
        )
        metadata = admin.list_topics(timeout=30)
        assert sum(len(metadata.topics[f"p{i:03d}"].partitions) for i in range(topics)) == 10_000

        # One record into each of 1,000 partitions spread over every topic: more partitions than
        # the open-file cache holds (half of 1024), so files are closed and reopened as they go.
        targets = [(f"p{i:03d}", (i * 7 + j * 10) % per_topic) for i in range(topics) for j in range(10)]
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
        for topic, partition in targets:
            producer.produce(topic, value=f"{topic}/{partition}".encode(), partition=partition)
        assert producer.flush(60) == 0
        assert _proc_stats(broker.proc.pid)[1] < FD_LIMIT  # type: ignore[union-attr]

        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "reader", "enable.auto.commit": False})
        consumer.assign([TopicPartition(t, p, 0) for t, p in targets])
        seen: set[bytes] = set()
        deadline = time.monotonic() + 90
        while len(seen) < len(targets):
            assert time.monotonic() < deadline, f"read {len(seen)} of {len(targets)} records"
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                seen.add(msg.value())
        consumer.close()
        assert seen == {f"{t}/{p}".encode() for t, p in targets}
        assert broker.alive()
        assert _proc_stats(broker.proc.pid)[1] < FD_LIMIT  # type: ignore[union-attr]
    finally:
        if broker.alive():
            broker.stop(timeout=120)


# ---- partition-count limits ----------------------------------------------------------------------------


def test_create_topics_past_kafkas_per_request_limits(broker: BrokerProcess, topic_name: str) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    # More than 10,000 partitions asked for: every topic of the request fails, before any check.
    futures = admin.create_topics([NewTopic(f"{topic_name}-{i}", 1_000, 1) for i in range(11)], request_timeout=30)
    for future in futures.values():
        error = _error(future)
        assert error.code() == KafkaError.POLICY_VIOLATION
        assert error.str() == "Excessively large number of partitions per request."
    # 10,000 partitions fit, but with the topic record they are 10,001 records of one operation.
    error = _error(admin.create_topics([NewTopic(topic_name, 10_000, 1)], request_timeout=30)[topic_name])
    assert (error.code(), error.str()) == (
        KafkaError.POLICY_VIOLATION,
        "Unable to perform excessively large batch operation.",
    )
    assert not any(name.startswith(topic_name) for name in admin.list_topics(timeout=10).topics)


def test_create_partitions_past_kafkas_per_request_limit(tmp_path: Path, topic_name: str) -> None:
    """As Apache Kafka 4.4.0 answers: more than 10,000 added over the request's existing topics."""
    broker = BrokerProcess(tmp_path / "data", extra_args=["--override", "max.broker.partitions=-1"])
    broker.start()
    try:
        _check_create_partitions_limit(broker, topic_name)
    finally:
        broker.stop()


def _check_create_partitions_limit(broker: BrokerProcess, topic_name: str) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    _create_all(admin, [NewTopic(topic_name, 1, 1), NewTopic(f"{topic_name}-2", 1, 1)])
    message = "Excessively large number of additional partitions per request."
    started = time.monotonic()
    error = _error(admin.create_partitions([NewPartitions(topic_name, 10_002)], request_timeout=30)[topic_name])
    assert (error.code(), error.str()) == (KafkaError.POLICY_VIOLATION, message)
    futures = admin.create_partitions(
        [NewPartitions(topic_name, 6_000), NewPartitions(f"{topic_name}-2", 6_000)], request_timeout=30
    )
    for future in futures.values():
        error = _error(future)
        assert (error.code(), error.str()) == (KafkaError.POLICY_VIOLATION, message)
    # Unknown topics add nothing: 20,000 asked of one that does not exist is only unknown.
    futures = admin.create_partitions(
        [NewPartitions(f"{topic_name}-none", 20_000), NewPartitions(topic_name, 2)], validate_only=True
    )
    assert _error(futures[f"{topic_name}-none"]).code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    futures[topic_name].result()
    futures = admin.create_partitions([NewPartitions(topic_name, 10_001)], validate_only=True)  # +10,000 is fine
    futures[topic_name].result()
    assert time.monotonic() - started < 10  # refused or validated without creating anything
    assert len(admin.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == 1


def test_max_broker_partitions(tmp_path: Path, topic_name: str) -> None:
    broker = BrokerProcess(tmp_path / "data", extra_args=["--override", "max.broker.partitions=10"])
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        futures = admin.create_topics([NewTopic(f"{topic_name}-a", 6, 1), NewTopic(f"{topic_name}-b", 6, 1)])
        futures[f"{topic_name}-a"].result()
        error = _error(futures[f"{topic_name}-b"])
        assert error.code() == KafkaError.POLICY_VIOLATION
        assert "limit of 10 partitions (max.broker.partitions)" in error.str(), error.str()
        error = _error(admin.create_partitions([NewPartitions(f"{topic_name}-a", 11)])[f"{topic_name}-a"])
        assert error.code() == KafkaError.POLICY_VIOLATION
        admin.create_partitions([NewPartitions(f"{topic_name}-a", 10)])[f"{topic_name}-a"].result()
        # Auto-creation stops at the limit too: the topic stays unknown.
        producer = Producer({"bootstrap.servers": broker.bootstrap, "message.timeout.ms": 2000})
        reports: list = []
        producer.produce(f"{topic_name}-auto", b"v", on_delivery=lambda err, msg: reports.append(err))
        producer.flush(10)
        assert reports and reports[0] is not None
        assert f"{topic_name}-auto" not in admin.list_topics(timeout=10).topics
    finally:
        broker.stop()


# ---- queued.max.request.bytes ---------------------------------------------------------------------------


def _frame(request: object, correlation_id: int) -> bytes:
    request.with_header(correlation_id=correlation_id, client_id="flood")  # type: ignore[attr-defined]
    return bytes(request.encode(header=True, framed=True))  # type: ignore[attr-defined]


def _flood(bootstrap: str, topic: str, frames: int, frame_value: int) -> tuple[socket.socket, list[bytes], int]:
    """A parked fetch, then Produce frames sent without reading: bytes the socket accepted in 2 s."""
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=frame_value + 1024)
    builder.append(timestamp=None, key=None, value=b"x" * frame_value, headers=[])
    builder.close()
    batch = bytes(builder.buffer())
    fetch = FetchRequest(
        version=4, replica_id=-1, max_wait_ms=8000, min_bytes=1, max_bytes=1 << 20, isolation_level=0,
        topics=[(topic, [(0, 0, 1 << 20)])],
    )
    payload = [_frame(fetch, 1)] + [
        _frame(ProduceRequest(version=3, transactional_id=None, acks=1, timeout_ms=10000,
                              topic_data=[(topic, [(1, batch)])]), 2 + i)
        for i in range(frames)
    ]
    host, port = bootstrap.rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)  # keep the client's own buffer out of it
    sock.connect((host, int(port)))
    sock.setblocking(False)
    data = b"".join(payload)
    sent = 0
    last_progress = time.monotonic()
    while sent < len(data) and time.monotonic() - last_progress < 2:
        try:
            n = sock.send(data[sent : sent + (1 << 20)])
        except BlockingIOError:
            time.sleep(0.01)
            continue
        sent += n
        last_progress = time.monotonic()
    return sock, [data[sent:]], sent


def _read_responses(sock: socket.socket, count: int, timeout: float) -> list[int]:
    sock.settimeout(timeout)
    ids = []
    buf = b""
    while len(ids) < count:
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError(f"closed after {len(ids)} responses")
            buf += chunk
        size = struct.unpack(">i", buf[:4])[0]
        ids.append(struct.unpack(">i", buf[4:8])[0])
        buf = buf[4 + size :]
    return ids


@pytest.mark.parametrize("queued_max", [2 << 20, -1])
def test_queued_max_request_bytes_mutes_a_flooding_connection(tmp_path: Path, topic_name: str, queued_max: int) -> None:
    """With the cap, the broker stops reading a connection whose requests wait; others are served.

    The flooding connection's first request is a fetch that waits 8 s on an empty partition;
    the 1 MiB Produce requests behind it cannot be handled before, so they are held in the
    broker's memory. Without the cap (-1, Kafka's default) the broker reads 16 of them before
    its per-connection queue stops it; with a 2 MiB cap it stops after about three (the rest
    waits in the kernel's socket buffers, not in the broker). When the fetch returns, memory
    frees and reading resumes: every request is answered.
    """
    frames, frame_value = 24, 1 << 20
    broker = BrokerProcess(tmp_path / "data", extra_args=["--override", f"queued.max.request.bytes={queued_max}"])
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        _create_all(admin, [NewTopic(topic_name, 2, 1, config={"max.message.bytes": str(2 << 20)})])
        wait_for(lambda: topic_name in admin.list_topics(timeout=5).topics)
        pid = broker.proc.pid  # type: ignore[union-attr]
        rss_before, _ = _proc_stats(pid)
        sock, rest, accepted = _flood(broker.bootstrap, topic_name, frames, frame_value)
        with RawClient(broker.bootstrap) as other:  # a second client is answered meanwhile
            started = time.monotonic()
            for _ in range(20):
                assert other.call(ApiVersionsRequest(version=0), ApiVersionsResponse).error_code == 0
            assert time.monotonic() - started < 5
        if queued_max > 0:  # the most the broker holds over a second, while the fetch is still parked
            held = max(_proc_stats(pid)[0] - rss_before for _ in range(10) if time.sleep(0.1) is None)
        else:  # the control: the broker goes on reading until its queue is full
            held = wait_for(lambda: max(_proc_stats(pid)[0] - rss_before, 0) >= 14 and _proc_stats(pid)[0] - rss_before,
                            timeout=5, what="16 frames held")
        print(f"\nqueued.max.request.bytes={queued_max}: sent {accepted >> 20} MiB while the fetch was parked; "
              f"broker RSS grew by {held} MiB")
        if queued_max > 0:
            assert held < 9, held  # the cap, one granted frame, a socket read or two
        else:
            assert held >= 14, held  # the control: without the cap, 16 frames are held
        sock.setblocking(True)
        sock.sendall(rest[0])  # reading resumed when the fetch finished and released memory
        assert _read_responses(sock, frames + 1, timeout=60) == list(range(1, frames + 2))
        sock.close()
        assert broker.alive()
    finally:
        broker.stop()


# ---- connections.max.idle.ms ------------------------------------------------------------------------------


def test_idle_connections_are_closed(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "data", extra_args=["--override", "connections.max.idle.ms=600"])
    broker.start()
    try:
        idle = RawClient(broker.bootstrap)
        busy = RawClient(broker.bootstrap)
        idle.call(ApiVersionsRequest(version=0), ApiVersionsResponse)
        started = time.monotonic()
        while time.monotonic() - started < 2:  # a connection in use stays open past the idle time
            assert busy.call(ApiVersionsRequest(version=0), ApiVersionsResponse).error_code == 0
            time.sleep(0.2)
        idle.sock.settimeout(5)
        assert idle.sock.recv(1) == b""  # closed by the broker, without an answer to anything
        busy.close()
        idle.close()
        assert wait_for(broker.alive)
    finally:
        broker.stop()


def test_open_segment_files_cap(tmp_path: Path, topic_name: str) -> None:
    """kafkalite.open.segment.files.max bounds the segment files a broker holds open."""
    broker = BrokerProcess(tmp_path / "data", extra_args=["--override", "kafkalite.open.segment.files.max=4"])
    broker.start()
    try:
        pid = broker.proc.pid  # type: ignore[union-attr]
        _, baseline = _proc_stats(pid)
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        _create_all(admin, [NewTopic(topic_name, 40, 1)])
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
        for partition in range(40):
            producer.produce(topic_name, value=str(partition).encode(), partition=partition)
        assert producer.flush(30) == 0
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "cap", "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic_name, p, 0) for p in range(40)])
        seen: set[bytes] = set()
        deadline = time.monotonic() + 30
        while len(seen) < 40:
            assert time.monotonic() < deadline, f"read {len(seen)} of 40"
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                seen.add(msg.value())
        consumer.close()
        _, fds = _proc_stats(pid)
        # the client connections (producer, consumer, admin) and at most 4 segment files
        assert fds - baseline <= 4 + 8, (baseline, fds)
    finally:
        broker.stop()
