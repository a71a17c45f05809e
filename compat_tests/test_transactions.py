"""Idempotent and transactional producers with real clients: exactly once, as Kafka defines it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from kafka.admin import KafkaAdminClient

from compat_tests.brokerproc import BrokerProcess, free_port
from compat_tests.chaosproxy import ChaosProxy
from compat_tests.test_confluent import create_topic


def read_all(broker: BrokerProcess, topic: str, partitions: int, isolation: str, settle: float = 1.5) -> list[bytes]:
    """Everything readable at ``isolation``, polling until nothing new arrives for ``settle`` s."""
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "reader", "isolation.level": isolation,
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values: list[bytes] = []
    quiet_since = time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() - quiet_since < settle and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            values.append(msg.value())
            quiet_since = time.monotonic()
    consumer.close()
    return values


def test_idempotent_producer_survives_lost_responses(tmp_path: Path, topic_name: str) -> None:
    proxy_port = free_port()
    broker = BrokerProcess(tmp_path / "data", extra_args=["--advertised-port", str(proxy_port)])
    broker.start()
    proxy = ChaosProxy(broker.port, drop_every=7, listen_port=proxy_port)
    try:
        create_topic(broker, topic_name)

        producer = Producer({"bootstrap.servers": f"127.0.0.1:{proxy_port}", "enable.idempotence": True,
                             "linger.ms": 2, "batch.num.messages": 50, "message.timeout.ms": 60000})
        errors: list[object] = []
        for i in range(3000):
            producer.produce(topic_name, value=str(i).encode(),
                             on_delivery=lambda err, msg: errors.append(err) if err else None)
            producer.poll(0)
        assert producer.flush(60) == 0
        assert errors == []
        assert proxy.dropped >= 3, "the proxy never lost a response: the test proved nothing"
        values = read_all(broker, topic_name, 1, "read_uncommitted")
        assert values == [str(i).encode() for i in range(3000)]  # each exactly once, in order
    finally:
        proxy.close()
        broker.kill9()


def _txn_producer(broker: BrokerProcess, txn_id: str, **extra: object) -> Producer:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": txn_id, **extra})
    producer.init_transactions(15)
    return producer


def test_commit_abort_commit_and_isolation_levels(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, partitions=2)
    producer = _txn_producer(broker, f"txn-{topic_name}")
    for label, commit in (("first", True), ("aborted", False), ("second", True)):
        producer.begin_transaction()
        for i in range(10):
            producer.produce(topic_name, value=f"{label}-{i}".encode(), partition=i % 2)
        producer.flush()
        if commit:
            producer.commit_transaction(15)
        else:
            producer.abort_transaction(15)
    committed = sorted(v.decode() for v in read_all(broker, topic_name, 2, "read_committed"))
    everything = sorted(v.decode() for v in read_all(broker, topic_name, 2, "read_uncommitted"))
    assert committed == sorted([f"first-{i}" for i in range(10)] + [f"second-{i}" for i in range(10)])
    assert everything == sorted(committed + [f"aborted-{i}" for i in range(10)])

    # Watermarks: 30 records + 3 markers per partition pair; nothing open, so LSO == HW.
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "wm", "isolation.level": "read_committed"})
    assert consumer.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10) == (0, 18)
    consumer.close()


def test_open_transaction_is_invisible_to_read_committed(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    producer = _txn_producer(broker, f"txn-{topic_name}")
    producer.begin_transaction()
    producer.produce(topic_name, value=b"pending")
    producer.flush()
    assert read_all(broker, topic_name, 1, "read_committed", settle=1.0) == []
    assert read_all(broker, topic_name, 1, "read_uncommitted", settle=1.0) == [b"pending"]
    producer.commit_transaction(15)
    assert read_all(broker, topic_name, 1, "read_committed") == [b"pending"]


def test_second_producer_with_same_id_fences_the_first(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    txn_id = f"txn-{topic_name}"
    old = _txn_producer(broker, txn_id)
    old.begin_transaction()
    old.produce(topic_name, value=b"from-old")
    old.flush()
    new = _txn_producer(broker, txn_id)  # fences `old` and aborts its open transaction
    new.begin_transaction()
    new.produce(topic_name, value=b"from-new")
    new.commit_transaction(15)
    with pytest.raises(KafkaException) as info:
        old.commit_transaction(15)
    assert info.value.args[0].fatal() or "fenced" in str(info.value).lower()
    assert read_all(broker, topic_name, 1, "read_committed") == [b"from-new"]


def test_consume_transform_produce_commits_offsets_atomically(broker: BrokerProcess, topic_name: str) -> None:
    source, sink = f"{topic_name}-in", f"{topic_name}-out"
    create_topic(broker, source)
    create_topic(broker, sink)
    seed = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        seed.produce(source, value=str(i).encode())
    assert seed.flush(10) == 0
    group = f"g-{topic_name}"

    def run_batch(commit: bool) -> None:
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                             "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
        consumer.subscribe([source])
        producer = _txn_producer(broker, f"ctp-{topic_name}")
        msgs: list = []
        deadline = time.monotonic() + 20
        while len(msgs) < 5 and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                msgs.append(msg)
        assert len(msgs) == 5
        producer.begin_transaction()
        for m in msgs:
            producer.produce(sink, value=b"x" + m.value())
        last = msgs[-1]
        producer.send_offsets_to_transaction(
            [TopicPartition(source, last.partition(), last.offset() + 1)], consumer.consumer_group_metadata()
        )
        if commit:
            producer.commit_transaction(15)
        else:
            producer.abort_transaction(15)
        consumer.close()

    run_batch(commit=False)  # aborted: neither the output nor the offsets count
    run_batch(commit=True)
    run_batch(commit=True)
    out = read_all(broker, sink, 1, "read_committed")
    assert out == [b"x" + str(i).encode() for i in range(10)]
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    offsets = admin.list_group_offsets({group: None})[group]
    assert [o.offset for o in offsets.values()] == [10]
    admin.close()


def test_kafka_python_transactional_and_idempotent_producers(broker: BrokerProcess, topic_name: str) -> None:
    from kafka import KafkaProducer

    create_topic(broker, topic_name)
    idem = KafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True)
    for i in range(20):
        idem.send(topic_name, value=f"i{i}".encode())
    idem.flush()
    idem.close()
    txn = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=f"kp-{topic_name}")
    txn.init_transactions()
    txn.begin_transaction()
    txn.send(topic_name, value=b"t-aborted")
    txn.abort_transaction()
    txn.begin_transaction()
    txn.send(topic_name, value=b"t-committed")
    txn.commit_transaction()
    txn.close()
    values = read_all(broker, topic_name, 1, "read_committed")
    assert values == [f"i{i}".encode() for i in range(20)] + [b"t-committed"]


def test_aiokafka_transactional_producer(broker: BrokerProcess, topic_name: str) -> None:
    from aiokafka import AIOKafkaProducer

    create_topic(broker, topic_name)

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=f"aio-{topic_name}")
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send_and_wait(topic_name, b"aio-1")
                await producer.send_and_wait(topic_name, b"aio-2")
        finally:
            await producer.stop()

    asyncio.run(run())
    assert read_all(broker, topic_name, 1, "read_committed") == [b"aio-1", b"aio-2"]


def test_kill9_mid_transaction_is_aborted_consistently(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.start()
    create_topic(own_broker, topic_name, partitions=2)
    script = textwrap.dedent(
        f"""
        from confluent_kafka import Producer
        p = Producer({{"bootstrap.servers": "{own_broker.bootstrap}", "transactional.id": "crash-{topic_name}",
                      "transaction.timeout.ms": 3000}})
        p.init_transactions(15)
        p.begin_transaction()
        for i in range(20):
            p.produce("{topic_name}", value=b"half-%d" % i, partition=i % 2)
        p.flush()
        print("written", flush=True)
        import time
        time.sleep(60)
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "written"
        own_broker.kill9()
        writer.kill()
        own_broker.start()
        assert read_all(own_broker, topic_name, 2, "read_committed", settle=1.0) == []
        # After the transaction timeout the coordinator aborts it; read_committed never sees it and
        # the partitions are stable again, so new transactions become visible.
        producer = _txn_producer(own_broker, f"after-{topic_name}")
        producer.begin_transaction()
        producer.produce(topic_name, value=b"later", partition=0)
        producer.commit_transaction(15)
        deadline = time.monotonic() + 30
        seen: list[bytes] = []
        while time.monotonic() < deadline and b"later" not in seen:
            seen = read_all(own_broker, topic_name, 2, "read_committed", settle=0.5)
        assert seen == [b"later"]
    finally:
        writer.kill()
