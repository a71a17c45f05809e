"""The load scenarios, each a bounded confluent-kafka workload against one broker.

Every function takes a bootstrap address and returns plain numbers; none of them
knows which broker it is talking to.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import multiprocessing
import os
import queue
import random
import signal
import statistics
import struct
import sys
import threading
import time
import traceback
import uuid
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
    CONSUME_BATCH,
    CONSUMER_CONFIG,
    FAILOVER_CONSUMER_CONFIG,
    GROUP_CONSUMER_CONFIG,
    LATENCY_CONSUMER_CONFIG,
    LATENCY_PRODUCER_CONFIG,
    PRODUCER_CONFIG,
    MultiProduceCase,
    ThroughputCase,
)
from monitor import tree_cpu

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



class DeliveryTally:
    """Counts a producer's delivery reports and keeps the first error, for any produce phase."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.first_error: str | None = None

    def on_delivery(self, err: KafkaError | None, _msg: object) -> None:
        if err is None:
            self.ok += 1
            return
        self.failed += 1
        if self.first_error is None:
            self.first_error = str(err)

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


def ensure_topic(bootstrap: str, topic: str, timeout: float = 15.0, partitions: int = 1) -> str | None:
    """Create a topic with ``partitions`` partitions, falling back to broker auto-creation.

    Returns a note if CreateTopics did not work or the partition count is not
    the one asked for, None otherwise. Raises RuntimeError if some partition
    of the topic has no leader within ``timeout``.
    """
    note = None
    diag = ClientDiagnostics()
    admin = AdminClient({**diag.config, "bootstrap.servers": bootstrap})
    try:
        futures = admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)], operation_timeout=5
        )
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
        if ok and all(p.leader >= 0 for p in md.partitions.values()):
            if len(md.partitions) != partitions and note is None:
                note = f"topic {topic} has {len(md.partitions)} partitions instead of {partitions}"
            return note
        last = str(md.error) if md is not None else "topic missing"
        time.sleep(0.1)
    raise RuntimeError(f"topic {topic} not usable after {timeout:.0f}s: {last}")


def produce(
    bootstrap: str, topic: str, case: ThroughputCase, timeout: float, client: dict[str, object] | None = None
) -> PhaseResult:
    """Produce ``case.count`` messages as fast as possible (time-capped).

    ``client``: extra producer settings, such as ``security.protocol`` for the TLS rows.
    """
    payloads = make_payloads(case.size, compressible=case.compression != "none")
    diag = ClientDiagnostics()
    producer = Producer(
        {
            **PRODUCER_CONFIG,
            **diag.config,
            **(client or {}),
            "bootstrap.servers": bootstrap,
            "compression.type": case.compression,
        }
    )
    tally = DeliveryTally()

    start = time.perf_counter()
    deadline = start + timeout
    sent = 0
    npay = len(payloads)
    while sent < case.count and time.perf_counter() < deadline:
        try:
            producer.produce(topic, payloads[sent % npay], on_delivery=tally.on_delivery)
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
        messages=tally.ok,
        bytes=tally.ok * case.size,
        seconds=elapsed,
        errors=tally.failed,
        incomplete=tally.ok < case.count,
        first_error=tally.first_error,
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
            for msg in consumer.consume(num_messages=CONSUME_BATCH, timeout=0.2):
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


# --- many producers, many partitions ------------------------------------------------

#: Extra time the parent waits for a worker's result beyond the phase cap
#: (its flush of up to 10 producers and the result's trip through the queue).
MULTI_RESULT_SLACK_S = 10.0
#: Each producer's final flush() waits at least this long, even past the cap.
MULTI_MIN_FLUSH_S = 0.2
#: Cap on reading back every partition's offsets after the produce phase.
MULTI_VERIFY_TIMEOUT_S = 15.0


@dataclass
class MultiResult:
    """Outcome of the many-producers scenario: the aggregate plus per-worker parts."""

    #: All producers together, timed from the start signal to the last flush().
    total: PhaseResult
    producers: int
    workers: int
    partitions: int
    #: Seconds to start the worker processes and connect every producer (not timed).
    setup_s: float
    #: Per worker: producers, messages asked/acked/failed, its own seconds.
    per_worker: list[dict[str, object]]
    #: CPU seconds while the clock ran: all worker processes, and the broker's process tree.
    client_cpu_s: float | None = None
    broker_cpu_s: float | None = None
    #: Messages the broker reports holding (sum of high - low watermarks), None if unknown.
    stored: int | None = None
    stored_min_partition: int | None = None
    stored_max_partition: int | None = None
    verify_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["total"] = self.total.as_dict()
        return out


def _split(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal integers (the first ones get the remainder)."""
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def _die_with_parent(parent_pid: int) -> None:
    """Make the kernel SIGKILL this worker if the bench process dies (Linux), or exit now if it already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)


def _multi_worker(
    index: int,
    parent_pid: int,
    bootstrap: str,
    topic: str,
    case: MultiProduceCase,
    first_producer: int,
    shares: list[int],
    timeout: float,
    wait_s: float,
    results: Any,
    go: Any,
) -> None:
    """One worker process: ``len(shares)`` producers, driven from a single thread.

    Reports ("ready", index, info) once every producer is connected and has the
    topic's metadata, waits (at most ``wait_s``) for ``go``, then produces and
    reports ("done", index, stats), or ("error", index, traceback).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C hits the whole group; the parent stops us
    _die_with_parent(parent_pid)
    try:
        diag = ClientDiagnostics()
        producers = [Producer({**PRODUCER_CONFIG, **diag.config, "bootstrap.servers": bootstrap}) for _ in shares]
        seen = set()
        for prod in producers:  # opens each producer's connection and caches the metadata
            md = prod.list_topics(topic, timeout=10).topics.get(topic)
            seen.add(len(md.partitions) if md is not None and md.error is None else 0)
        results.put(("ready", index, {"partitions_seen": sorted(seen)}))
        if not go.wait(wait_s):
            return

        payloads = make_payloads(case.size, compressible=False)
        npay = len(payloads)
        parts = case.partitions
        tally = DeliveryTally()

        start = time.monotonic()
        cpu_start = time.process_time()  # all threads, librdkafka's included
        deadline = start + timeout
        sent = [0] * len(producers)
        # Each producer starts on a different partition so they do not all hit
        # partition 0 first, then walks all of them round-robin.
        offset = [(first_producer + j) * parts // case.producers for j in range(len(producers))]
        pending = [j for j, share in enumerate(shares) if share > 0]
        while pending and time.monotonic() < deadline:
            for j in list(pending):
                prod = producers[j]
                k = sent[j]
                stop = min(k + parts, shares[j])
                try:
                    while k < stop:
                        part = (offset[j] + k) % parts
                        prod.produce(topic, payloads[k % npay], partition=part, on_delivery=tally.on_delivery)
                        k += 1
                except BufferError:
                    prod.poll(0.005)
                sent[j] = k
                prod.poll(0)
                if k >= shares[j]:
                    pending.remove(j)
        enqueued = time.monotonic()
        unflushed = 0
        for prod in producers:
            unflushed += prod.flush(max(MULTI_MIN_FLUSH_S, deadline - time.monotonic()))
        end = time.monotonic()
        cpu_s = time.process_time() - cpu_start
        if unflushed:
            for prod in producers:
                prod.purge()
                prod.flush(1)
        results.put(
            (
                "done",
                index,
                {
                    "producers": len(producers),
                    "asked": sum(shares),
                    "sent": sum(sent),
                    "acked": tally.ok,
                    "failed": tally.failed,
                    "unflushed": unflushed,
                    "start": start,
                    "end": end,
                    "seconds": end - start,
                    "enqueue_s": enqueued - start,
                    "cpu_s": cpu_s,
                    "first_error": tally.first_error,
                    "client_log": diag.first,
                },
            )
        )
    except BaseException:
        results.put(("error", index, traceback.format_exc(limit=4)))


def _stop_workers(procs: list[Any]) -> None:
    """Terminate worker processes that are still running (SIGTERM, then SIGKILL)."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(2)
        if proc.is_alive():
            proc.kill()
            proc.join(2)


def _stored(bootstrap: str, topic: str, partitions: int, timeout: float) -> tuple[list[int] | None, str | None]:
    """Messages per partition according to the broker's watermarks (bounded in time)."""
    consumer = Consumer({**CONSUMER_CONFIG, **ClientDiagnostics().config, "bootstrap.servers": bootstrap})
    counts: list[int] = []
    deadline = time.monotonic() + timeout
    try:
        for part in range(partitions):
            check_interrupted()
            left = deadline - time.monotonic()
            if left <= 0:
                return None, f"watermarks: gave up after {len(counts)}/{partitions} partitions ({timeout:.0f}s)"
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, part), timeout=min(left, 5), cached=False)
            counts.append(high - low)
    except KafkaException as exc:
        return None, f"watermarks: {exc}"
    finally:
        _close_bounded(consumer, 5)
    return counts, None


def produce_many(
    bootstrap: str,
    topic: str,
    case: MultiProduceCase,
    timeout: float,
    setup_timeout: float,
    broker_pid: int | None = None,
) -> MultiResult:
    """``case.producers`` producers in ``case.workers`` processes write ``case.count`` messages at once.

    The workers are started (spawn, so no librdkafka state is forked) and
    every producer connects and fetches the topic's metadata before the clock
    starts. The time then runs from the start signal until the last worker's
    last flush() returned. Worker processes never outlive this call. With
    ``broker_pid``, the broker's CPU time during the timed part is recorded too.
    """
    diag = ClientDiagnostics()
    probe = Producer({**diag.config, "bootstrap.servers": bootstrap})
    md = probe.list_topics(topic, timeout=5).topics.get(topic)
    have = len(md.partitions) if md is not None else 0
    if have < case.partitions:
        raise RuntimeError(f"topic {topic} has {have} partitions, fewer than {case.partitions}")

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    go = ctx.Event()
    shares = _split(case.count, case.producers)
    per_worker = _split(case.producers, case.workers)
    procs = []
    first = 0
    for index, nprod in enumerate(per_worker):
        proc = ctx.Process(
            target=_multi_worker,
            name=f"bench-multi-{index}",
            args=(
                index,
                os.getpid(),
                bootstrap,
                topic,
                case,
                first,
                shares[first : first + nprod],
                timeout,
                setup_timeout + 5,
                results,
                go,
            ),
            daemon=True,
        )
        procs.append(proc)
        first += nprod

    def collect(kind: str, until: float) -> dict[int, dict[str, Any]]:
        """Wait for a ``kind`` message from every worker; raise on errors, deaths and the time cap."""
        got: dict[int, dict[str, Any]] = {}
        while len(got) < len(procs):
            check_interrupted()
            if time.monotonic() >= until:
                missing = sorted(set(range(len(procs))) - set(got))
                raise RuntimeError(f"workers {missing} not {kind} in time")
            try:
                what, index, info = results.get(timeout=0.1)
            except queue.Empty:
                dead = next((p for i, p in enumerate(procs) if i not in got and not p.is_alive()), None)
                if dead is None:
                    continue
                try:  # its last message may still be in the pipe
                    what, index, info = results.get(timeout=0.5)
                except queue.Empty:
                    raise RuntimeError(f"worker {dead.name} exited with code {dead.exitcode}") from None
            if what == "error":
                raise RuntimeError(f"worker {index} failed: {info}")
            if what == kind:
                got[index] = info
        return got

    try:
        setup_start = time.monotonic()
        for proc in procs:
            proc.start()
        ready = collect("ready", setup_start + setup_timeout)
        seen = sorted({n for info in ready.values() for n in info["partitions_seen"]})
        if seen != [have]:
            raise RuntimeError(f"producers saw {seen} partitions, expected {have}")
        setup_s = time.monotonic() - setup_start
        broker_cpu = tree_cpu(broker_pid) if broker_pid else None
        t_go = time.monotonic()
        go.set()
        done = collect("done", t_go + timeout + MULTI_RESULT_SLACK_S)
        if broker_cpu is not None:
            broker_cpu = tree_cpu(broker_pid) - broker_cpu
    finally:
        _stop_workers(procs)
        results.close()
        results.cancel_join_thread()

    infos = [done[i] for i in range(len(procs))]
    acked = sum(int(i["acked"]) for i in infos)
    failed = sum(int(i["failed"]) for i in infos)
    seconds = max(float(i["end"]) for i in infos) - t_go
    errors = [str(i["first_error"]) for i in infos if i["first_error"]]
    logs = [line for i in infos for line in i["client_log"]]
    total = PhaseResult(
        messages=acked,
        bytes=acked * case.size,
        seconds=seconds,
        errors=failed,
        incomplete=acked < case.count,
        first_error=errors[0] if errors else None,
        client_log=list(dict.fromkeys(logs))[:3],
    )
    for info in infos:
        info["start_offset_s"] = float(info.pop("start")) - t_go
        info["end_offset_s"] = float(info.pop("end")) - t_go
    out = MultiResult(total, case.producers, case.workers, have, setup_s, infos)
    out.client_cpu_s = sum(float(i["cpu_s"]) for i in infos)
    out.broker_cpu_s = broker_cpu
    counts, out.verify_error = _stored(bootstrap, topic, have, MULTI_VERIFY_TIMEOUT_S)
    if counts is not None:
        out.stored = sum(counts)
        out.stored_min_partition = min(counts)
        out.stored_max_partition = max(counts)
    return out


# --- consumer group scenarios ----------------------------------------------------

#: Consumers whose close() did not return in time. They are kept referenced so
#: that garbage collection does not run librdkafka's (equally blocking)
#: destructor on the main thread; the daemon thread closing them dies with
#: the process.
_ABANDONED: list[Consumer] = []


@dataclass
class GroupResult:
    """Timings of one consumer group scenario over several runs, in milliseconds."""

    runs: int
    samples_ms: list[float]
    #: Why runs failed (a failed run ends the scenario).
    failures: list[str]
    #: Per-run side timings (e.g. how long close() took), for the JSON.
    extra_ms: dict[str, list[float]]
    client_log: list[str]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else math.nan

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "median_ms": self.median}


class _Closing:
    """A consumer's close(), run in a daemon thread so that waiting for it is bounded."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.started = time.perf_counter()
        self.seconds: float | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, name="bench-close", daemon=True).start()

    def _run(self) -> None:
        with contextlib.suppress(Exception):
            self.consumer.close()
        self.seconds = time.perf_counter() - self.started
        self._done.set()

    def wait(self, timeout: float) -> float | None:
        """Seconds close() took, or None if it is still blocked after ``timeout``."""
        if not self._done.wait(timeout):
            _ABANDONED.append(self.consumer)
            return None
        return self.seconds


def _close_bounded(consumer: Consumer, timeout: float) -> float | None:
    """close() ``consumer``; seconds it took, None if it still hangs after ``timeout``."""
    return _Closing(consumer).wait(timeout)


def _group_id(scenario: str, run: int) -> str:
    return f"bench-{scenario}-{uuid.uuid4().hex[:8]}-{run}"


def _owned(consumer: Consumer) -> set[int]:
    return {tp.partition for tp in consumer.assignment()}


def prefill(bootstrap: str, topic: str, count: int, timeout: float) -> int:
    """Produce ``count`` 100-byte messages; returns how many were acknowledged."""
    diag = ClientDiagnostics()
    producer = Producer({**PRODUCER_CONFIG, **diag.config, "bootstrap.servers": bootstrap})
    tally = DeliveryTally()
    for i in range(count):
        producer.produce(topic, struct.pack(">Q", i) + bytes(92), on_delivery=tally.on_delivery)
    if producer.flush(timeout):
        producer.purge()
        producer.flush(1)
    return tally.ok


def group_first_message(bootstrap: str, topic: str, runs: int, timeout: float) -> GroupResult:
    """Time subscribe() -> first message for fresh consumers, each in a new group.

    The consumer is created right before subscribe(), so the time includes
    everything a new subscriber goes through: coordinator lookup, JoinGroup
    (twice when the broker asks for a member id first), SyncGroup,
    OffsetFetch, the offset reset to earliest and the first Fetch.
    """
    diag = ClientDiagnostics()
    res = GroupResult(runs, [], [], {"close_ms": []}, diag.first)
    for run in range(runs):
        check_interrupted()
        consumer = Consumer(
            {
                **GROUP_CONSUMER_CONFIG,
                **diag.config,
                "bootstrap.servers": bootstrap,
                "group.id": _group_id("first", run),
            }
        )
        first_error = None
        try:
            start = time.perf_counter()
            consumer.subscribe([topic])
            while True:
                check_interrupted()
                msg = consumer.poll(0.05)
                now = time.perf_counter()
                if msg is not None and msg.error() is None:
                    res.samples_ms.append((now - start) * 1000)
                    break
                if msg is not None and first_error is None:
                    first_error = str(msg.error())
                if now - start > timeout:
                    why = f"run {run + 1}: no message {timeout:.0f}s after subscribe()"
                    if first_error:
                        why += f" (poll() said: {first_error})"
                    res.failures.append(why)
                    break
        finally:
            closed = _close_bounded(consumer, timeout)
        if closed is None:
            res.failures.append(f"run {run + 1}: close() still blocked after {timeout:.0f}s")
        else:
            res.extra_ms["close_ms"].append(closed * 1000)
        if res.failures:
            break
    return res


def group_failover(bootstrap: str, topic: str, partitions: int, runs: int, timeout: float) -> GroupResult:
    """Time how long a group takes to hand a leaving member's partitions to the survivor.

    Two consumers join one (new) group and are polled until each owns half
    of the partitions. Then one is close()d, which sends LeaveGroup, while
    the survivor keeps polling; the time runs from the start of close() until
    the survivor's assignment() holds every partition.
    """
    diag = ClientDiagnostics()
    res = GroupResult(runs, [], [], {"balanced_ms": [], "close_ms": []}, diag.first)
    probe = Producer({**diag.config, "bootstrap.servers": bootstrap})
    md = probe.list_topics(topic, timeout=5).topics.get(topic)
    have = len(md.partitions) if md is not None else 0
    if have != partitions:
        res.failures.append(f"topic {topic} has {have} partitions, not {partitions}")
        return res
    everything = set(range(partitions))
    half = partitions // 2

    def fail(run: int, why: str, a: Consumer, b: Consumer) -> None:
        res.failures.append(f"run {run + 1}: {why} (owned: {sorted(_owned(a))} / {sorted(_owned(b))})")

    for run in range(runs):
        check_interrupted()
        conf = {
            **FAILOVER_CONSUMER_CONFIG,
            **diag.config,
            "bootstrap.servers": bootstrap,
            "group.id": _group_id("failover", run),
        }
        survivor, leaver = Consumer(conf), Consumer(conf)
        to_close = [survivor, leaver]
        try:
            start = time.perf_counter()
            survivor.subscribe([topic])
            leaver.subscribe([topic])
            while True:
                check_interrupted()
                survivor.poll(0.02)
                leaver.poll(0.02)
                mine, theirs = _owned(survivor), _owned(leaver)
                if len(mine) == len(theirs) == half and mine | theirs == everything:
                    res.extra_ms["balanced_ms"].append((time.perf_counter() - start) * 1000)
                    break
                if time.perf_counter() - start > timeout:
                    fail(run, f"no {half}/{half} split within {timeout:.0f}s", survivor, leaver)
                    break
            if not res.failures:
                to_close.remove(leaver)
                closing = _Closing(leaver)  # sends LeaveGroup
                while True:
                    check_interrupted()
                    survivor.poll(0.01)
                    now = time.perf_counter()
                    if _owned(survivor) == everything:
                        res.samples_ms.append((now - closing.started) * 1000)
                        break
                    if now - closing.started > timeout:
                        fail(run, f"survivor did not get all {partitions} within {timeout:.0f}s", survivor, leaver)
                        break
                closed = closing.wait(timeout)
                if closed is None:
                    res.failures.append(f"run {run + 1}: close() still blocked after {timeout:.0f}s")
                else:
                    res.extra_ms["close_ms"].append(closed * 1000)
        finally:
            for consumer in to_close:
                _close_bounded(consumer, timeout)
        if res.failures:
            break
    return res
