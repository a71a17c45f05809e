"""Durability: nothing acknowledged is lost across kill -9, clean restarts keep everything."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from compat_tests.brokerproc import BrokerProcess
from compat_tests.test_confluent import consume_all, create_topic


def _produce(broker: BrokerProcess, topic: str, start: int, count: int) -> list[int]:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 5})
    acked: list[int] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is None:
            acked.append(msg.offset())  # type: ignore[attr-defined]

    for i in range(start, start + count):
        producer.produce(topic, key=str(i).encode(), value=f"value-{i}".encode(), on_delivery=on_delivery)
    assert producer.flush(20) == 0
    return acked


def test_kill9_loses_nothing_acknowledged(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.start()
    create_topic(own_broker, topic_name, partitions=2)
    acked = _produce(own_broker, topic_name, 0, 2000)
    assert len(acked) == 2000
    own_broker.kill9()

    own_broker.start()
    msgs = consume_all(own_broker, topic_name, 2000, partitions=2)
    assert sorted(int(m.key()) for m in msgs) == list(range(2000))
    assert all(m.value() == f"value-{int(m.key())}".encode() for m in msgs)
    # The log goes on from where it was: new offsets follow the old ones.
    more = _produce(own_broker, topic_name, 2000, 10)
    assert len(more) == 10 and min(more) >= 500
    assert "not clean" in own_broker.log_text()


def test_clean_restart_keeps_topics_and_data(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.start()
    create_topic(own_broker, topic_name, partitions=3, config={"retention.ms": "123456789"})
    _produce(own_broker, topic_name, 0, 300)
    assert own_broker.stop() == 0
    assert (own_broker.data_dir / ".kafkalite_cleanshutdown").exists()
    own_broker.start()
    msgs = consume_all(own_broker, topic_name, 300, partitions=3)
    assert len(msgs) == 300
    assert (own_broker.data_dir / f"{topic_name}-0" / "00000000000000000000.log").exists()
    assert (own_broker.data_dir / f"{topic_name}-0" / "00000000000000000000.index").exists()


def test_torn_tail_is_truncated_on_recovery(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.start()
    create_topic(own_broker, topic_name)
    _produce(own_broker, topic_name, 0, 100)
    own_broker.kill9()
    log_file = own_broker.data_dir / f"{topic_name}-0" / "00000000000000000000.log"
    good_size = log_file.stat().st_size
    with open(log_file, "ab") as fh:  # a half-written batch, as a crash mid-write leaves
        fh.write(b"\x00" * 8 + b"\x00\x00\x01\x00" + b"\xab" * 40)
    own_broker.start()
    assert log_file.stat().st_size == good_size
    assert len(consume_all(own_broker, topic_name, 100)) == 100
    assert len(_produce(own_broker, topic_name, 100, 5)) == 5


def test_fsync_policies_keep_acknowledged_data(tmp_path: object, topic_name: str) -> None:
    from pathlib import Path

    for policy in ("always", "interval"):
        args = ["--fsync", policy, "--fsync-interval-ms", "50"]
        broker = BrokerProcess(Path(str(tmp_path)) / policy, extra_args=args)
        broker.start()
        try:
            create_topic(broker, topic_name)
            assert len(_produce(broker, topic_name, 0, 200)) == 200
            broker.kill9()
            broker.start()
            assert len(consume_all(broker, topic_name, 200)) == 200
        finally:
            if broker.alive():
                broker.kill9()


def test_kill9_mid_stream_keeps_every_acknowledged_message(own_broker: BrokerProcess, topic_name: str) -> None:
    """Many producers over many partitions, the broker killed while they are still sending.

    The broker gathers appends and responses per event-loop turn; whatever a client saw
    acknowledged before the kill must be in the log after recovery.
    """
    own_broker.start()
    create_topic(own_broker, topic_name, partitions=20)
    producers = [
        Producer({"bootstrap.servers": own_broker.bootstrap, "acks": 1, "linger.ms": 2, "retries": 0})
        for _ in range(8)
    ]
    acked: set[bytes] = set()

    def on_delivery(err: object, msg: object) -> None:
        if err is None:
            acked.add(msg.key())  # type: ignore[attr-defined]

    deadline = time.monotonic() + 30
    i = 0
    while len(acked) < 5000:
        assert time.monotonic() < deadline, f"only {len(acked)} acknowledged in 30 s"
        p = producers[i % len(producers)]
        p.produce(topic_name, key=f"k{i}".encode(), value=b"v" * 50, partition=i % 20, on_delivery=on_delivery)
        p.poll(0)
        i += 1
    own_broker.kill9()  # while the last messages are still in flight
    for p in producers:  # collect acknowledgements that arrived before the kill
        p.poll(0.2)
    seen_acked = set(acked)
    for p in producers:
        p.purge()
        p.flush(1)

    own_broker.start()
    stored_keys = _all_keys(own_broker, topic_name, 20)
    missing = seen_acked - stored_keys
    assert not missing, f"{len(missing)} of {len(seen_acked)} acknowledged messages lost, e.g. {sorted(missing)[:3]}"


def _all_keys(broker: BrokerProcess, topic: str, partitions: int) -> set[bytes]:
    """Every key in the topic, read up to each partition's end."""
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.partition.eof": True}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    keys: set[bytes] = set()
    at_end: set[int] = set()
    deadline = time.monotonic() + 30
    while len(at_end) < partitions:
        assert time.monotonic() < deadline, f"partitions {sorted(set(range(partitions)) - at_end)} not read to the end"
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            at_end.add(msg.partition())
            continue
        keys.add(msg.key())
    consumer.close()
    return keys


def test_startup_names_the_real_cause_of_an_os_error(own_broker: BrokerProcess, topic_name: str) -> None:
    """An unreadable partition in the data dir is reported as such, not as "cannot listen".

    (Too few file handles no longer stops a start: segment files are opened lazily, see
    test_bounded_resources.py.)
    """
    import shutil
    import subprocess
    import sys

    own_broker.start()
    create_topic(own_broker, topic_name, partitions=3)
    own_broker.stop()
    partition_dir = own_broker.data_dir / f"{topic_name}-1"
    shutil.rmtree(partition_dir)
    partition_dir.write_bytes(b"not a directory")

    proc = subprocess.run(
        [sys.executable, "-m", "kafkalite", "serve", "--port", "0", "--data-dir", str(own_broker.data_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode != 0
    assert "cannot open the data in" in proc.stderr and "Not a directory" in proc.stderr, proc.stderr
    assert "cannot listen" not in proc.stderr
