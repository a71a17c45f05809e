"""Consumer groups with real clients: assignment strategies, crashes, admin views and lag."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time

import pytest
from aiokafka import AIOKafkaConsumer
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka import KafkaConsumer
from kafka import TopicPartition as KTopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import NoOffsetForPartitionError

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.test_confluent import create_topic


def _fill(broker: BrokerProcess, topic: str, partitions: int, per_partition: int) -> None:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for p in range(partitions):
        for i in range(per_partition):
            producer.produce(topic, value=f"{p}-{i}".encode(), partition=p)
    assert producer.flush(10) == 0


def _group_consumer(broker: BrokerProcess, group: str, strategy: str, **extra: object) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": strategy,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            **extra,
        }
    )


def _assigned(consumer: Consumer) -> set[int]:
    return {tp.partition for tp in consumer.assignment()}


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_confluent_group_shares_and_fails_over(broker: BrokerProcess, topic_name: str, strategy: str) -> None:
    create_topic(broker, topic_name, partitions=4)
    _fill(broker, topic_name, 4, 10)
    group = f"g-{topic_name}"
    c1 = _group_consumer(broker, group, strategy)
    c2 = _group_consumer(broker, group, strategy)
    c1.subscribe([topic_name])
    c2.subscribe([topic_name])
    seen: set[bytes] = set()

    def pump() -> None:
        for c in (c1, c2):
            msg = c.poll(0.1)
            if msg is not None and msg.error() is None:
                seen.add(msg.value())

    def split() -> bool:
        pump()
        a1, a2 = _assigned(c1), _assigned(c2)
        return len(a1) == 2 and len(a2) == 2 and not (a1 & a2)

    wait_for(split, timeout=30, what="two members with two partitions each")
    c1.close()  # leaves the group: the survivor takes over everything

    def survivor_owns_all() -> bool:
        msg = c2.poll(0.1)
        if msg is not None and msg.error() is None:
            seen.add(msg.value())
        return _assigned(c2) == {0, 1, 2, 3}

    wait_for(survivor_owns_all, timeout=30, what="survivor owning all partitions")
    wait_for(lambda: (pump_one(c2, seen), len(seen) == 40)[1], timeout=30, what="all 40 messages")
    c2.close()


def pump_one(consumer: Consumer, seen: set[bytes]) -> None:
    msg = consumer.poll(0.1)
    if msg is not None and msg.error() is None:
        seen.add(msg.value())


def test_crashed_member_loses_partitions_after_session_timeout(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, partitions=2)
    group = f"g-{topic_name}"
    script = textwrap.dedent(
        f"""
        from confluent_kafka import Consumer
        c = Consumer({{"bootstrap.servers": "{broker.bootstrap}", "group.id": "{group}",
                      "session.timeout.ms": 3000, "heartbeat.interval.ms": 300}})
        c.subscribe(["{topic_name}"])
        while True:
            c.poll(0.1)
            if c.assignment():
                print("assigned", flush=True)
        """
    )
    crasher = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert crasher.stdout is not None
        assert crasher.stdout.readline().strip() == "assigned"
        survivor = _group_consumer(broker, group, "range", **{"session.timeout.ms": 3000})
        survivor.subscribe([topic_name])
        wait_for(lambda: (survivor.poll(0.1), len(_assigned(survivor)) == 1)[1], timeout=30,
                 what="survivor sharing the topic")
        crasher.kill()  # no LeaveGroup: only the session timeout can free its partition
        crasher.wait(10)
        killed_at = time.monotonic()
        wait_for(lambda: (survivor.poll(0.1), _assigned(survivor) == {0, 1})[1], timeout=30,
                 what="survivor taking over after the session timeout")
        assert time.monotonic() - killed_at >= 1.5  # not before the crashed member's session could expire
        survivor.close()
    finally:
        crasher.kill()


def test_admin_describe_offsets_and_lag(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, partitions=2)
    _fill(broker, topic_name, 2, 10)
    group = f"g-{topic_name}"
    consumer = KafkaConsumer(topic_name, group_id=group, bootstrap_servers=broker.bootstrap,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    # The leader assigns from its metadata: have the topic's partitions in it before the first join, or a
    # join racing the first metadata answer assigns nothing until the next refresh (minutes away).
    wait_for(lambda: consumer.partitions_for_topic(topic_name), what="the topic's partitions in its metadata")
    got = 0
    deadline = time.monotonic() + 20
    while got < 20 and time.monotonic() < deadline:
        got += sum(len(r) for r in consumer.poll(timeout_ms=200).values())
    assert got == 20
    consumer.commit({KTopicPartition(topic_name, 0): _oam(7), KTopicPartition(topic_name, 1): _oam(10)})

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    listed = admin.list_groups()
    assert any(g["group_id"] == group and g["group_state"] == "Stable" for g in listed), listed
    described = admin.describe_groups([group])[group]
    assert described["group_state"] == "Stable" and described["protocol_type"] == "consumer", described
    assert len(described["members"]) == 1
    committed = admin.list_group_offsets({group: None})[group]
    ends = consumer.end_offsets([KTopicPartition(topic_name, 0), KTopicPartition(topic_name, 1)])
    lag = {tp.partition: ends[tp] - committed[tp].offset for tp in committed}
    assert lag == {0: 3, 1: 0}
    consumer.close()
    after = admin.describe_groups([group])[group]
    assert after["group_state"] == "Empty" and not after["members"]
    admin.close()


def _oam(offset: int) -> object:
    from kafka.structs import OffsetAndMetadata

    return OffsetAndMetadata(offset, "", -1)


def test_offset_reset_policies(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    _fill(broker, topic_name, 1, 5)
    tp = KTopicPartition(topic_name, 0)
    for policy, expected in (("earliest", 0), ("latest", 5)):
        c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=f"{policy}-{topic_name}",
                          auto_offset_reset=policy, enable_auto_commit=False)
        c.assign([tp])
        assert c.position(tp) == expected
        c.close()
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=f"none-{topic_name}",
                      auto_offset_reset="none", enable_auto_commit=False)
    c.assign([tp])
    with pytest.raises(NoOffsetForPartitionError):
        c.position(tp)
    c.close()


def test_aiokafka_group_consumer_commits(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, partitions=2)
    _fill(broker, topic_name, 2, 5)
    group = f"g-{topic_name}"

    async def consume() -> int:
        consumer = AIOKafkaConsumer(topic_name, bootstrap_servers=broker.bootstrap, group_id=group,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        count = 0
        try:
            while count < 10:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 20)
                count += sum(len(v) for v in batch.values())
            await consumer.commit()
        finally:
            await consumer.stop()
        return count

    assert asyncio.run(consume()) == 10
    confluent = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    committed = confluent.committed([TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)], timeout=10)
    assert [tp.offset for tp in committed] == [5, 5]
    confluent.close()


def test_admin_state_filter_offset_delete_and_topic_deletion(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, partitions=2)
    group = f"g-{topic_name}"
    committer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    committer.commit(offsets=[TopicPartition(topic_name, 0, 3), TopicPartition(topic_name, 1, 4)], asynchronous=False)
    committer.close()
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    empty = {g["group_id"] for g in admin.list_groups(states_filter=["Empty"])}
    stable = {g["group_id"] for g in admin.list_groups(states_filter=["Stable"])}
    assert group in empty and group not in stable
    admin.delete_group_offsets(group, [KTopicPartition(topic_name, 0)])
    remaining = admin.list_group_offsets({group: None})[group]
    assert {tp.partition: o.offset for tp, o in remaining.items()} == {1: 4}
    admin.delete_topics([topic_name])
    assert admin.list_group_offsets({group: None})[group] == {}
    admin.close()
