"""Retention and compaction running in the background of a live broker while clients keep working."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.test_admin import admin_for, create, produce, read_to_end

FAST_MAINTENANCE = [
    "--override",
    "log.retention.check.interval.ms=100",
    "--override",
    "log.cleaner.backoff.ms=100",
]


def test_retention_moves_log_start_while_consuming(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.extra_args = FAST_MAINTENANCE
    own_broker.start()
    admin = admin_for(own_broker)
    create(admin, topic_name, 1, {"retention.ms": "1500", "segment.ms": "300"})
    producer = Producer({"bootstrap.servers": own_broker.bootstrap, "linger.ms": 0})
    consumer = Consumer(
        {
            "bootstrap.servers": own_broker.bootstrap,
            "group.id": "retention-follower",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic_name])
    tp = TopicPartition(topic_name, 0)
    seen: list[int] = []
    sent = 0
    deadline = time.monotonic() + 30
    low = 0
    while time.monotonic() < deadline:
        producer.produce(topic_name, value=f"m{sent}".encode())
        producer.flush(5)
        sent += 1
        msg = consumer.poll(0.05)
        if msg is not None and msg.error() is None:
            seen.append(msg.offset())
        low, _ = consumer.get_watermark_offsets(tp, timeout=5, cached=False)
        if low > 0 and seen and seen[-1] > low:
            break
    assert low > 0, "retention never moved the log start offset"
    assert seen == list(range(len(seen))), "the live consumer skipped or repeated records"
    # stop retention (applied live) so what is left stays for the readers below
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[ConfigEntry("retention.ms", "-1", incremental_operation=AlterConfigOpType.SET)],
    )
    admin.incremental_alter_configs([res])[res].result(15)
    # it keeps consuming what is produced after retention ran
    producer.produce(topic_name, value=b"after-retention")
    producer.flush(5)
    wait_for(
        lambda: (m := consumer.poll(0.2)) is not None and m.error() is None and m.value() == b"after-retention",
        what="record produced after retention",
    )
    consumer.close()
    # a consumer starting below the new log start is reset (OFFSET_OUT_OF_RANGE -> earliest)
    late = Consumer(
        {
            "bootstrap.servers": own_broker.bootstrap,
            "group.id": "late",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    late.assign([TopicPartition(topic_name, 0, 0)])
    first = wait_for(lambda: (m := late.poll(0.2)) is not None and m.error() is None and m, what="late reader")
    current_low = late.get_watermark_offsets(tp, timeout=5, cached=False)[0]
    assert first.offset() == current_low >= low > 0
    late.close()
    assert (own_broker.data_dir / "log-start-offset-checkpoint").exists()
    assert not (own_broker.data_dir / f"{topic_name}-0" / "00000000000000000000.log").exists()


def test_compaction_keeps_latest_value_per_key(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.extra_args = FAST_MAINTENANCE
    own_broker.start()
    admin = admin_for(own_broker)
    create(
        admin,
        topic_name,
        1,
        {
            "cleanup.policy": "compact",
            "internal.segment.bytes": "1500",
            "delete.retention.ms": "0",
            "min.cleanable.dirty.ratio": "0.01",
        },
    )
    expected: dict[bytes, bytes | None] = {}
    records = []
    for round_ in range(6):
        for k in range(10):
            key, value = f"key-{k}".encode(), f"value-{k}-{round_}".encode()
            records.append((key, value))
            expected[key] = value
    for k in range(3):  # tombstones for three keys
        records.append((f"key-{k}".encode(), None))
        expected.pop(f"key-{k}".encode())
    produce(own_broker, topic_name, records, each=True)
    # fillers roll the segments so the tombstones are in closed (cleanable) segments
    fillers = [(f"filler-{i}".encode(), b"f" * 200) for i in range(15)]
    produce(own_broker, topic_name, fillers, each=True)
    expected.update(fillers)
    total = len(records) + len(fillers)

    def compacted() -> list | None:
        got = read_to_end(own_broker, topic_name)
        keys = [m.key() for m in got]
        if any(k in keys for k in (b"key-0", b"key-1", b"key-2")) or len(keys) != len(set(keys)):
            return None
        return got

    got = wait_for(compacted, timeout=30, interval=0.2, what="compaction")
    assert {m.key(): m.value() for m in got} == expected
    offsets = [m.offset() for m in got]
    assert offsets == sorted(offsets) and offsets[-1] == total - 1  # offsets are kept, not renumbered
    assert len(got) < total
    # the cleaned log survives a restart, and producing continues at the same end offset
    own_broker.stop()
    # cleaner progress is checkpointed in Kafka's format; a clean stop leaves no swap or deletion leftovers
    lines = (own_broker.data_dir / "cleaner-offset-checkpoint").read_text().splitlines()
    entries = {line.rsplit(" ", 2)[0]: int(line.rsplit(" ", 2)[2]) for line in lines[2:]}
    assert lines[0] == "0" and entries[topic_name] > 0
    partition_dir = own_broker.data_dir / f"{topic_name}-0"
    assert not [p.name for p in partition_dir.iterdir() if p.name.endswith((".cleaned", ".swap", ".deleted"))]
    own_broker.start()
    assert produce(own_broker, topic_name, [(b"key-5", b"newest")])[0][1].offset() == total
    final = {m.key(): m.value() for m in read_to_end(own_broker, topic_name)}
    assert final[b"key-5"] == b"newest" and b"key-0" not in final


def test_lowering_retention_applies_at_once(broker: BrokerProcess, topic_name: str) -> None:
    """A stricter retention.ms is enforced when it is set, not at the next 5-minute check."""
    admin = admin_for(broker)
    create(admin, topic_name, 1, {"retention.ms": "-1"})
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    old = int(time.time() * 1000) - 3 * 86_400_000  # three days ago
    for i in range(5):
        producer.produce(topic_name, value=f"m{i}".encode(), timestamp=old)
    producer.flush(10)
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[ConfigEntry("retention.ms", "86400000", incremental_operation=AlterConfigOpType.SET)],
    )
    admin.incremental_alter_configs([res])[res].result(15)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "retention-check"})
    tp = TopicPartition(topic_name, 0)
    # The shared broker checks retention every 5 minutes: only the config change can do this in time.
    low = wait_for(lambda: consumer.get_watermark_offsets(tp, timeout=5, cached=False)[0] or None,
                   timeout=10, what="the log start offset moving past the expired records")
    consumer.close()
    assert low == 5


def test_deleted_topic_is_renamed_then_removed_and_recreated_empty(own_broker: BrokerProcess, topic_name: str) -> None:
    own_broker.start()
    admin = admin_for(own_broker)
    create(admin, topic_name, 2)
    produce(own_broker, topic_name, [(b"k", b"old")] * 20)
    admin.delete_topics([topic_name])[topic_name].result(15)
    data = own_broker.data_dir
    # the live directories are gone at once (renamed to <name>.<uuid>-delete), removed soon after in a worker
    assert not (data / f"{topic_name}-0").exists() and not (data / f"{topic_name}-1").exists()
    wait_for(lambda: not [p for p in data.iterdir() if p.name.startswith(f"{topic_name}-")], what="removal")
    # a topic of the same name starts empty, and so it stays across a restart
    wait_for(lambda: _try_create(admin, topic_name), what="recreate")
    assert read_to_end(own_broker, topic_name) == []
    produce(own_broker, topic_name, [(b"k", b"new")])
    own_broker.stop()
    own_broker.start()
    assert [m.value() for m in read_to_end(own_broker, topic_name)] == [b"new"]


def _try_create(admin: object, name: str) -> bool:
    try:
        create(admin, name, 1)  # type: ignore[arg-type]
    except Exception:  # the deletion is still visible to the admin client for a moment
        return False
    return True
