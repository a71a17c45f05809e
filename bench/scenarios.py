"""The load scenarios, each a bounded confluent-kafka workload against one broker.

Every function takes a bootstrap address and returns plain numbers; none of them
knows which broker it is talking to.
"""

from __future__ import annotations

import logging
import math
import random
import struct
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from brokers import check_interrupted
from config import (
    CONSUMER_CONFIG,
    LATENCY_CONSUMER_CONFIG,
    LATENCY_PRODUCER_CONFIG,
    PRODUCER_CONFIG,
    ThroughputCase,
)

#: A consume phase gives up after this long without a new message...
CONSUME_IDLE_S = 3.0
#: ...or, before the first message, after this long.
CONSUME_FIRST_MESSAGE_S = 10.0
#: A latency probe message counts as lost after this long.
LATENCY_MSG_TIMEOUT_S = 5.0


@dataclass
class PhaseResult:
    """Outcome of one produce or consume phase."""

    messages: int
    bytes: int
    seconds: float
    errors: int = 0
    #: Fewer messages than asked for (time cap, idle timeout or errors).
    incomplete: bool = False
    first_error: str | None = None
    #: Consume only: seconds from assign() to the first message.
    first_message_s: float | None = None
    #: Warnings/errors librdkafka reported during the phase.
    client_log: list[str] | None = None

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "msgs_per_s": self.msgs_per_s, "mb_per_s": self.mb_per_s}


@dataclass
class LatencyResult:
    """End-to-end produce->consume latency samples, in milliseconds."""

    samples_ms: list[float]
    lost: int
    sent: int
    client_log: list[str]

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.samples_ms, 99)

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": len(self.samples_ms),
            "lost": self.lost,
            "sent": self.sent,
            "p50_ms": self.p50,
            "p99_ms": self.p99,
            "max_ms": max(self.samples_ms, default=math.nan),
            "client_log": self.client_log,
        }


class ClientDiagnostics:
    """Collects librdkafka warnings/errors instead of letting them spam stderr.

    Pass ``diag.config`` into a client's configuration; ``first`` then holds
    the first few distinct problems the client reported.
    """

    def __init__(self, keep: int = 3) -> None:
        self.keep = keep
        self.first: list[str] = []
        self.logger = logging.getLogger(f"bench.client.{id(self)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.WARNING)
        self.logger.addHandler(_ListHandler(self._add))

    @property
    def config(self) -> dict[str, Any]:
        return {"logger": self.logger, "error_cb": self._on_error}

    def _on_error(self, err: KafkaError) -> None:
        self._add(str(err))

    def _add(self, text: str) -> None:
        if len(self.first) < self.keep and text not in self.first:
            self.first.append(text)


class _ListHandler(logging.Handler):
    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self._sink(record.getMessage())


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def make_payloads(size: int, *, compressible: bool, pool: int = 256) -> list[bytes]:
    """A deterministic pool of message values of exactly ``size`` bytes.

    Compressible payloads are random sequences of a few dozen words (lz4 gets
    roughly 2-3x on them); the others are random bytes.
    """
    rng = random.Random(size * 2 + compressible)
    words = [bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(48)]
    out = []
    for _ in range(pool):
        if compressible:
            buf = bytearray()
            while len(buf) < size:
                buf += rng.choice(words) + b" "
            out.append(bytes(buf[:size]))
        else:
            out.append(rng.randbytes(size))
    return out


def ensure_topic(bootstrap: str, topic: str, timeout: float = 15.0) -> str | None:
    """Create a 1-partition topic, falling back to broker auto-creation.

    Returns a note if CreateTopics did not work, None otherwise. Raises
    RuntimeError if the topic has no partition leader within ``timeout``.
    """
    note = None
    diag = ClientDiagnostics()
    admin = AdminClient({**diag.config, "bootstrap.servers": bootstrap})
    try:
        futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)], operation_timeout=5)
        futures[topic].result(timeout=10)
    except KafkaException as exc:
        err = exc.args[0]
        if not (isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS):
            note = f"CreateTopics failed ({err}); relied on auto-create"
    except Exception as exc:
        note = f"CreateTopics failed ({exc!r}); relied on auto-create"

    # A producer's metadata request for the topic triggers auto-creation on
    # brokers that support it; it is also how we wait for a leader.
    probe = Producer({**diag.config, "bootstrap.servers": bootstrap, "allow.auto.create.topics": True})
    deadline = time.perf_counter() + timeout
    last = "no metadata"
    while time.perf_counter() < deadline:
        try:
            md = probe.list_topics(topic, timeout=2).topics.get(topic)
        except KafkaException as exc:
            last = str(exc)
            time.sleep(0.1)
            continue
        ok = md is not None and md.error is None and 0 in md.partitions
        if ok and md.partitions[0].leader >= 0:
            if len(md.partitions) != 1 and note is None:
                note = f"topic {topic} has {len(md.partitions)} partitions (only 0 is used)"
            return note
        last = str(md.error) if md is not None else "topic missing"
        time.sleep(0.1)
    raise RuntimeError(f"topic {topic} not usable after {timeout:.0f}s: {last}")


def produce(bootstrap: str, topic: str, case: ThroughputCase, timeout: float) -> PhaseResult:
    """Produce ``case.count`` messages as fast as possible (time-capped)."""
    payloads = make_payloads(case.size, compressible=case.compression != "none")
    diag = ClientDiagnostics()
    producer = Producer(
        {
            **PRODUCER_CONFIG,
            **diag.config,
            "bootstrap.servers": bootstrap,
            "compression.type": case.compression,
        }
    )
    state = {"ok": 0, "err": 0}
    first_error: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: object) -> None:
        if err is None:
            state["ok"] += 1
        else:
            state["err"] += 1
            if not first_error:
                first_error.append(str(err))

    start = time.perf_counter()
    deadline = start + timeout
    sent = 0
    npay = len(payloads)
    while sent < case.count and time.perf_counter() < deadline:
        try:
            producer.produce(topic, payloads[sent % npay], on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.005)
            continue
        sent += 1
        if sent % 512 == 0:
            producer.poll(0)
            check_interrupted()
    remaining = producer.flush(max(1.0, deadline - time.perf_counter()))
    elapsed = time.perf_counter() - start
    if remaining:
        producer.purge()
        producer.flush(1)
    return PhaseResult(
        messages=state["ok"],
        bytes=state["ok"] * case.size,
        seconds=elapsed,
        errors=state["err"],
        incomplete=state["ok"] < case.count,
        first_error=first_error[0] if first_error else None,
        client_log=diag.first,
    )


def consume(bootstrap: str, topic: str, expected: int, timeout: float) -> PhaseResult:
    """Read partition 0 from the beginning until ``expected`` messages arrived."""
    diag = ClientDiagnostics()
    consumer = Consumer({**CONSUMER_CONFIG, **diag.config, "bootstrap.servers": bootstrap})
    got = nbytes = errors = 0
    first_error = None
    first_message_s = None
    try:
        # Fetch metadata first: assigning a partition whose leader the client
        # does not know yet makes librdkafka retry the offset lookup on a
        # fixed 500 ms timer, which would swamp small runs.
        consumer.list_topics(topic, timeout=5)
        start = time.perf_counter()
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = start + timeout
        last_progress = start
        while got < expected:
            now = time.perf_counter()
            patience = CONSUME_IDLE_S if got else CONSUME_FIRST_MESSAGE_S
            if now >= deadline or now - last_progress > patience:
                break
            check_interrupted()
            before = got
            for msg in consumer.consume(num_messages=10_000, timeout=0.2):
                err = msg.error()
                if err is None:
                    got += 1
                    nbytes += len(msg.value() or b"")
                elif err.code() != KafkaError._PARTITION_EOF:
                    errors += 1
                    first_error = first_error or str(err)
            if got > before:
                last_progress = time.perf_counter()
                if first_message_s is None:
                    first_message_s = last_progress - start
        elapsed = time.perf_counter() - start
    finally:
        consumer.close()
    return PhaseResult(
        messages=got,
        bytes=nbytes,
        seconds=elapsed,
        errors=errors,
        incomplete=got < expected,
        first_error=first_error,
        first_message_s=first_message_s,
        client_log=diag.first,
    )


def _seq(value: bytes | None) -> int:
    """The sequence number a latency probe message starts with (-1 if none)."""
    return struct.unpack(">Q", value[:8])[0] if value and len(value) >= 8 else -1


def latency(bootstrap: str, topic: str, count: int, warmup: int, timeout: float) -> LatencyResult:
    """Send one 100-byte message at a time and time it until the consumer sees it."""
    diag = ClientDiagnostics()
    producer = Producer({**LATENCY_PRODUCER_CONFIG, **diag.config, "bootstrap.servers": bootstrap})
    consumer = Consumer({**LATENCY_CONSUMER_CONFIG, **diag.config, "bootstrap.servers": bootstrap})
    samples: list[float] = []
    lost = sent = 0
    pad = bytes(92)
    try:
        consumer.list_topics(topic, timeout=5)  # see consume()
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.perf_counter() + timeout
        for seq in range(warmup + count):
            if time.perf_counter() >= deadline:
                break
            t0 = time.perf_counter()
            producer.produce(topic, struct.pack(">Q", seq) + pad)
            producer.poll(0)
            sent += 1
            while True:
                check_interrupted()
                msg = consumer.poll(0.5)
                now = time.perf_counter()
                if msg is not None and msg.error() is None and _seq(msg.value()) == seq:
                    if seq >= warmup:
                        samples.append((now - t0) * 1000)
                    break
                if now - t0 > LATENCY_MSG_TIMEOUT_S or now >= deadline:
                    lost += 1
                    break
        producer.flush(5)
    finally:
        consumer.close()
    return LatencyResult(samples_ms=samples, lost=lost, sent=sent, client_log=diag.first)
