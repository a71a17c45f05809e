"""Expiry with real clients against an in-process broker whose clock the test moves.

``transactional.id.expiration.ms``: an idle transactional id is removed; the producer that still
holds its old id is refused, and a new InitProducerId for the id gets a fresh producer id.
``producer.id.expiration.ms``: an idle idempotent producer's state goes from the partition; its
next batch is taken as a new producer's (as Apache Kafka 4.4 does, compat_tests/test_producer_expiry.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import TransactionalIdNotFoundError

from compat_tests.conftest import wait_for
from kafkalite import Broker
from kafkalite.clock import ManualClock

HOUR_MS = 3_600_000


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time_ns() // 1_000_000)


@pytest.fixture
def broker(clock: ManualClock) -> Iterator[Broker]:
    settings = {
        "transactional.id.expiration.ms": str(24 * HOUR_MS),
        "transactions.remove.expired.transaction.cleanup.interval.ms": str(HOUR_MS),
        "producer.id.expiration.ms": str(HOUR_MS),
        "producer.id.expiration.check.interval.ms": "60000",
    }
    with Broker(clock=clock, static_configs=settings) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap_servers})
        for future in admin.create_topics([NewTopic("t", 1, 1)]).values():
            future.result(10)
        yield b


def _txn_producer(broker: Broker, txn_id: str) -> Producer:
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "transactional.id": txn_id})
    producer.init_transactions(10)
    return producer


def _commit_one(producer: Producer, value: bytes) -> None:
    producer.begin_transaction()
    producer.produce("t", value)
    producer.commit_transaction(10)


def test_an_idle_transactional_id_expires(broker: Broker, clock: ManualClock) -> None:
    txn_id = f"expiring-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        old = _txn_producer(broker, txn_id)
        _commit_one(old, b"before")
        before = admin.describe_transactions([txn_id])[txn_id]
        assert before.state.name == "COMPLETE_COMMIT"

        clock.advance(24 * HOUR_MS - 1)
        clock.advance(HOUR_MS)  # the next hourly check finds it idle for a day

        def gone() -> bool:
            try:
                admin.describe_transactions([txn_id])
            except TransactionalIdNotFoundError:
                return True
            return False

        wait_for(gone, what="the transactional id to expire")
        # The producer that held the id learns it is gone when it tries again.
        old.begin_transaction()
        old.produce("t", b"refused")
        with pytest.raises(KafkaException):
            old.commit_transaction(10)
        # A new producer with the id starts afresh: a new producer id at epoch 0.
        new = _txn_producer(broker, txn_id)
        _commit_one(new, b"after")
        after = admin.describe_transactions([txn_id])[txn_id]
        assert after.producer_id != before.producer_id and after.producer_epoch == 0
        assert after.state.name == "COMPLETE_COMMIT"
    finally:
        admin.close()


def test_an_idle_idempotent_producer_is_forgotten_then_accepted_again(broker: Broker, clock: ManualClock) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True,
                         "linger.ms": 0})
    try:
        def send(value: bytes) -> None:
            errors: list[object] = []
            producer.produce("t", value, on_delivery=lambda err, msg: errors.append(err))
            assert producer.flush(10) == 0
            assert errors == [None]

        def active() -> list[int]:
            result = admin.describe_producers([TopicPartition("t", 0)])
            return [p.producer_id for p in result[TopicPartition("t", 0)].active_producers]

        for i in range(3):
            send(b"%d" % i)
        (pid,) = active()
        # Batches carry the client's wall-clock timestamps; the broker's clock moves past them.
        clock.advance(HOUR_MS + 120_000)
        wait_for(lambda: not active(), what="the producer state to expire")
        send(b"again")  # the producer keeps its id and sequence: the broker takes it as new
        assert active() == [pid]
    finally:
        producer.flush(5)
        admin.close()
