"""kafka-python and confluent-kafka as long-running workers for the cluster resilience tests.

``python -m compat_tests.resilience_worker <client> <role> <bootstrap> [args...]`` runs one role
until its stdin closes, printing what it observes as JSON lines on stdout, then a final line
with ``"done": true``. The Java (``ResilienceScenarios``) and Go (``resilience_scenarios.go``)
programs speak the same line protocol, so ``compat_tests/test_cluster_clients.py`` drives every
client through the same faults and judges them by the same rules. A worker only observes; it
retries nothing itself beyond what its client does on Apache Kafka.

Roles:
  produce <topic> <partitions>   idempotent acks=all producer; record i (value "i") goes to
                                 partition i % partitions; {"acked": n} lines as acks arrive
  group <topic> <group>          subscribed consumer, commitSync after each batch;
                                 {"assigned": [...]} and {"records": [[partition, offset, value]...]}
  txn <topic> <transactional.id> transactions of 5 records ("k-j" to partition j % 2), every 4th
                                 aborted; {"txn": k, "outcome": "commit" | "abort"}
  consume <topic> <auto.offset.reset>  assigned consumer of partition 0 from offset 0;
                                 {"records": ...}, {"error": name} (it then stops polling)
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

#: Every this many acks a progress line is printed.
ACK_STEP = 20
#: The producer keeps at most this many records unacknowledged (a steady, bounded rate).
MAX_IN_FLIGHT = 40
SESSION_TIMEOUT_MS = 3000

_out_lock = threading.Lock()


def emit(event: dict[str, Any]) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def stdin_closed() -> threading.Event:
    """Set when the driver closes our stdin: the signal to finish cleanly."""
    closed = threading.Event()

    def watch() -> None:
        while sys.stdin.readline():
            pass
        closed.set()

    threading.Thread(target=watch, daemon=True).start()
    return closed


class Acks:
    """Counts delivery reports (called from the client's callback threads)."""

    def __init__(self) -> None:
        self.acked = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def ok(self) -> None:
        with self._lock:
            self.acked += 1
            if self.acked % ACK_STEP == 0:
                emit({"acked": self.acked})

    def failed(self, error: object) -> None:
        with self._lock:
            self.errors.append(str(error))
            emit({"error": str(error)})


def _pace(sent: int, acks: Acks, poll: Callable[[], None]) -> None:
    while sent - acks.acked - len(acks.errors) >= MAX_IN_FLIGHT:
        poll()


# ---- confluent-kafka -------------------------------------------------------------------------------


def confluent_produce(bootstrap: str, stop: threading.Event, topic: str, partitions: str) -> dict[str, Any]:
    from confluent_kafka import Producer

    acks = Acks()
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 5, "message.timeout.ms": 60000, "retry.backoff.ms": 50})

    def report(err: Any, msg: Any) -> None:
        if err is None:
            acks.ok()
        else:
            acks.failed(err)

    sent = 0
    while not stop.is_set():
        producer.produce(topic, str(sent).encode(), partition=sent % int(partitions), on_delivery=report)
        sent += 1
        producer.poll(0.002)
        _pace(sent, acks, lambda: producer.poll(0.01))
    left = producer.flush(60)
    return {"sent": sent, "acked": acks.acked, "errors": acks.errors, "unflushed": left}


def confluent_group(bootstrap: str, stop: threading.Event, topic: str, group: str) -> dict[str, Any]:
    from confluent_kafka import Consumer, KafkaException

    errors: list[str] = []

    def on_assign(consumer: Any, partitions: list[Any]) -> None:  # eager: the whole new assignment
        emit({"assigned": sorted(p.partition for p in partitions)})

    def on_revoke(consumer: Any, partitions: list[Any]) -> None:  # eager: everything
        emit({"assigned": []})

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": SESSION_TIMEOUT_MS,
                         "heartbeat.interval.ms": 500})
    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop.is_set():
        batch = consumer.consume(100, 0.2)
        records = []
        for m in batch:
            if m.error():
                errors.append(str(m.error()))
                emit({"error": str(m.error())})
            else:
                records.append([m.partition(), m.offset(), m.value().decode()])
        if records:
            emit({"records": records})
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as e:  # a rebalance may fence a commit, as on Kafka
                emit({"commit_error": str(e)})
    consumer.close()
    return {"errors": errors}


def confluent_txn(bootstrap: str, stop: threading.Event, topic: str, txn_id: str) -> dict[str, Any]:
    from confluent_kafka import KafkaException, Producer

    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                         "transaction.timeout.ms": 60000, "message.timeout.ms": 60000})
    producer.init_transactions(60)
    errors: list[str] = []
    k = 0
    while not stop.is_set():
        outcome = "abort" if k % 4 == 3 else "commit"
        try:
            producer.begin_transaction()
            for j in range(5):
                producer.produce(topic, f"{k}-{j}".encode(), partition=j % 2)
            if outcome == "commit":
                producer.commit_transaction(60)
            else:
                producer.flush(60)  # the aborted records reach the log (abort would purge them unsent)
                producer.abort_transaction(60)
        except KafkaException as e:
            error = e.args[0]
            errors.append(str(error))
            emit({"error": str(error), "txn": k})
            if error.txn_requires_abort():
                producer.abort_transaction(60)
                outcome = "abort"
            else:
                break
        emit({"txn": k, "outcome": outcome})
        k += 1
    return {"errors": errors, "transactions": k}


def confluent_consume(bootstrap: str, stop: threading.Event, topic: str, reset: str) -> dict[str, Any]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-consume",
                         "auto.offset.reset": reset, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    errors: list[str] = []
    while not stop.is_set():
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error():
            errors.append(m.error().name())
            emit({"error": m.error().name(), "detail": str(m.error())})
            continue
        emit({"records": [[m.partition(), m.offset(), m.value().decode()]]})
    position = consumer.position([TopicPartition(topic, 0)])[0].offset
    consumer.close()
    return {"errors": errors, "position": position}


# ---- kafka-python ------------------------------------------------------------------------------------


def kafka_python_produce(bootstrap: str, stop: threading.Event, topic: str, partitions: str) -> dict[str, Any]:
    from kafka import KafkaProducer

    acks = Acks()
    producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5,
                             delivery_timeout_ms=60000, retry_backoff_ms=50)
    sent = 0
    while not stop.is_set():
        future = producer.send(topic, str(sent).encode(), partition=sent % int(partitions))
        future.add_callback(lambda _: acks.ok())
        future.add_errback(acks.failed)
        sent += 1
        time.sleep(0.002)
        _pace(sent, acks, lambda: time.sleep(0.005))
    producer.flush(60)
    producer.close(10)
    return {"sent": sent, "acked": acks.acked, "errors": acks.errors, "unflushed": sent - acks.acked}


def kafka_python_group(bootstrap: str, stop: threading.Event, topic: str, group: str) -> dict[str, Any]:
    from kafka import KafkaConsumer
    from kafka.consumer.subscription_state import ConsumerRebalanceListener
    from kafka.errors import KafkaError

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False, session_timeout_ms=SESSION_TIMEOUT_MS,
                             heartbeat_interval_ms=500)

    class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
        def on_partitions_revoked(self, revoked: Any) -> None:
            pass

        def on_partitions_assigned(self, assigned: Any) -> None:
            emit({"assigned": sorted(tp.partition for tp in consumer.assignment())})

    consumer.subscribe([topic], listener=Listener())
    errors: list[str] = []
    while not stop.is_set():
        try:
            batches = consumer.poll(200)
        except KafkaError as e:
            errors.append(type(e).__name__)
            emit({"error": type(e).__name__, "detail": str(e)})
            continue
        records = [[r.partition, r.offset, r.value.decode()] for recs in batches.values() for r in recs]
        if records:
            emit({"records": records})
            try:
                consumer.commit()
            except KafkaError as e:
                emit({"commit_error": type(e).__name__})
    consumer.close()
    return {"errors": errors}


def kafka_python_txn(bootstrap: str, stop: threading.Event, topic: str, txn_id: str) -> dict[str, Any]:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=txn_id, enable_idempotence=True,
                             acks="all", transaction_timeout_ms=60000)
    producer.init_transactions()
    errors: list[str] = []
    k = 0
    while not stop.is_set():
        outcome = "abort" if k % 4 == 3 else "commit"
        try:
            producer.begin_transaction()
            for j in range(5):
                producer.send(topic, f"{k}-{j}".encode(), partition=j % 2)
            if outcome == "commit":
                producer.commit_transaction()
            else:
                producer.flush()  # the aborted records reach the log
                producer.abort_transaction()
        except KafkaError as e:
            errors.append(type(e).__name__)
            emit({"error": type(e).__name__, "detail": str(e), "txn": k})
            break
        emit({"txn": k, "outcome": outcome})
        k += 1
    producer.close(10)
    return {"errors": errors, "transactions": k}


def kafka_python_consume(bootstrap: str, stop: threading.Event, topic: str, reset: str) -> dict[str, Any]:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset=reset, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    errors: list[str] = []
    while not stop.is_set() and not errors:
        try:
            batches = consumer.poll(200)
        except KafkaError as e:
            errors.append(type(e).__name__)
            emit({"error": type(e).__name__, "detail": str(e)})
            break
        records = [[r.partition, r.offset, r.value.decode()] for recs in batches.values() for r in recs]
        if records:
            emit({"records": records})
    stop.wait()
    position = consumer.position(tp) if not errors else None
    consumer.close()
    return {"errors": errors, "position": position}


ROLES: dict[str, dict[str, Callable[..., dict[str, Any]]]] = {
    "confluent": {"produce": confluent_produce, "group": confluent_group, "txn": confluent_txn,
                  "consume": confluent_consume},
    "kafka-python": {"produce": kafka_python_produce, "group": kafka_python_group, "txn": kafka_python_txn,
                     "consume": kafka_python_consume},
}


def main(argv: list[str]) -> int:
    client, role, bootstrap, *args = argv
    stop = stdin_closed()
    try:
        result = ROLES[client][role](bootstrap, stop, *args)
    except Exception as e:  # the driver reads the failure from the last line
        emit({"done": True, "crashed": f"{type(e).__name__}: {e}"})
        raise
    emit({"done": True, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
