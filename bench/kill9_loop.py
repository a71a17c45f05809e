"""Durability probe: kill -9 the broker again and again under load, then count what survived.

Idempotent producers (confluent-kafka, acks=all, unlimited retries) keep sending unique keys
across partitions while the broker is killed with SIGKILL and restarted on the same port and
data dir every few seconds. At the end every partition is read from the start: each key a
producer saw acknowledged must be there (lost = acknowledged but absent), and no key may be
there twice (duplicated). Prints one table; it never gates CI.

    python bench/kill9_loop.py --kills 25 --partitions 12 --producers 4
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    def __init__(self, data_dir: Path, port: int, extra: list[str]) -> None:
        self.data_dir, self.port, self.extra = data_dir, port, extra
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> float:
        started = time.monotonic()
        cmd = [sys.executable, "-m", "kafkalite", "serve", "--port", str(self.port),
               "--data-dir", str(self.data_dir), *self.extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"broker did not start: {line!r}")
        return time.monotonic() - started

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


def _produce(bootstrap: str, topic: str, partitions: int, prefix: str, stop: threading.Event,
             acked: set[bytes], lock: threading.Lock) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 5, "message.timeout.ms": 300000, "reconnect.backoff.max.ms": 200,
                         "log_level": 2})

    def delivered(err: object, msg: object) -> None:
        if err is None:
            with lock:
                acked.add(msg.key())  # type: ignore[attr-defined]

    i = 0
    while not stop.is_set():
        try:
            producer.produce(topic, key=f"{prefix}-{i}".encode(), value=b"x" * 100, partition=i % partitions,
                             on_delivery=delivered)
            i += 1
        except BufferError:
            producer.poll(0.05)
        producer.poll(0)
    producer.flush(120)
    return i


def _read_all(bootstrap: str, topic: str, partitions: int) -> collections.Counter[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "kill9-audit", "enable.auto.commit": False})
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen: collections.Counter[bytes] = collections.Counter()
    positions = dict.fromkeys(range(partitions), 0)
    stalled_since = time.monotonic()
    while any(positions[p] < ends[p] for p in positions):
        if time.monotonic() - stalled_since > 60:
            behind = {p: ends[p] - positions[p] for p in positions if positions[p] < ends[p]}
            raise SystemExit(f"audit incomplete: no progress for 60 s, records still unread per partition: {behind}")
        for msg in consumer.consume(10000, 1.0):
            if msg.error() is None:
                seen[msg.key()] += 1
                positions[msg.partition()] = msg.offset() + 1
                stalled_since = time.monotonic()
    consumer.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds of load between kills")
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--fsync", default=None, help="kafkalite --fsync policy (default: the broker's)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="kill9-"))
    broker = Broker(data_dir / "data", _free_port(), ["--fsync", args.fsync] if args.fsync else [])
    bootstrap = f"127.0.0.1:{broker.port}"
    topic = "kill9"
    restarts: list[float] = []
    try:
        broker.start()
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(10)
        acked: set[bytes] = set()
        lock = threading.Lock()
        stop = threading.Event()
        sent: list[int] = []
        threads = [threading.Thread(target=lambda n=n: sent.append(
            _produce(bootstrap, topic, args.partitions, f"p{n}", stop, acked, lock))) for n in range(args.producers)]
        for t in threads:
            t.start()
        for _ in range(args.kills):
            time.sleep(args.interval)  # load runs meanwhile; this is the probe's pacing, not a wait on an event
            broker.kill9()
            restarts.append(broker.start())
        time.sleep(args.interval)
        stop.set()
        for t in threads:
            t.join(180)
        stored = _read_all(bootstrap, topic, args.partitions)
    finally:
        broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    lost = [k for k in acked if k not in stored]
    duplicated = sum(1 for c in stored.values() if c > 1)
    print("| kills | produced | acknowledged | stored | lost | duplicated | restart to ready (median) |")
    print("|---|---|---|---|---|---|---|")
    median = sorted(restarts)[len(restarts) // 2] if restarts else 0.0
    print(f"| {args.kills} | {sum(sent):,} | {len(acked):,} | {sum(stored.values()):,} | {len(lost)} | "
          f"{duplicated} | {median * 1000:.0f} ms |")
    if lost or duplicated:
        print(f"e.g. lost: {sorted(lost)[:5]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
