"""Committed offsets and group metadata survive restarts; static members rejoin without a rebalance."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition
from kafka.admin import KafkaAdminClient

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.test_confluent import create_topic
from compat_tests.test_groups import _assigned, _fill, _group_consumer


def test_committed_offsets_survive_kill9_and_clean_restart(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.start()
    create_topic(own_broker, topic_name, partitions=3)
    committer = Consumer({"bootstrap.servers": own_broker.bootstrap, "group.id": "durable"})
    committer.commit(offsets=[TopicPartition(topic_name, p, 10 * (p + 1)) for p in range(3)], asynchronous=False)
    committer.close()

    def committed() -> list[int]:
        c = Consumer({"bootstrap.servers": own_broker.bootstrap, "group.id": "durable"})
        try:
            return [tp.offset for tp in c.committed([TopicPartition(topic_name, p) for p in range(3)], timeout=10)]
        finally:
            c.close()

    own_broker.kill9()
    own_broker.start()
    assert committed() == [10, 20, 30]
    assert own_broker.stop() == 0
    own_broker.start()
    assert committed() == [10, 20, 30]


def test_static_member_rejoins_without_rebalance(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, partitions=2)
    _fill(broker, topic_name, 2, 3)
    group = f"g-{topic_name}"
    static = {"group.instance.id": "instance-a", "session.timeout.ms": 30000}
    a = _group_consumer(broker, group, "range", **static)
    b = _group_consumer(broker, group, "range", **{"group.instance.id": "instance-b", "session.timeout.ms": 30000})
    a.subscribe([topic_name])
    b.subscribe([topic_name])
    wait_for(lambda: (a.poll(0.1), b.poll(0.1), len(_assigned(a)) == 1 and len(_assigned(b)) == 1)[-1],
             timeout=30, what="two static members with one partition each")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    before = admin.describe_groups([group])[group]
    owned_by_a = _assigned(a)
    a.close()  # a static member does not leave the group on close
    a2 = _group_consumer(broker, group, "range", **static)
    a2.subscribe([topic_name])
    wait_for(lambda: (a2.poll(0.1), b.poll(0.1), _assigned(a2) == owned_by_a)[-1], timeout=30,
             what="restarted static member getting its old partition back")
    after = admin.describe_groups([group])[group]
    assert after["group_state"] == "Stable"
    assert {m["group_instance_id"] for m in after["members"]} == {"instance-a", "instance-b"}
    # No rebalance: the other member kept its partition throughout and still holds it.
    assert _assigned(b) and not (_assigned(b) & owned_by_a)
    old_ids = {m["member_id"] for m in before["members"] if m["group_instance_id"] == "instance-a"}
    new_ids = {m["member_id"] for m in after["members"] if m["group_instance_id"] == "instance-a"}
    assert old_ids and new_ids and old_ids != new_ids
    a2.close()
    b.close()
    admin.close()
