"""Experiments 2 and 3 of the source material: group fail-over and committed offsets."""

from __future__ import annotations

import re

from kafka import KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.seed import ScriptRun

RECORD = re.compile(r"partition=(\d+), leader_epoch=\S+, offset=(\d+).*value=b'(\d+)'")


def _records(run: ScriptRun) -> list[tuple[int, int, int]]:
    return [(int(m[1]), int(m[2]), int(m[3])) for m in map(RECORD.search, list(run.lines)) if m]


def test_experiment2_group_fault_tolerance(own_broker: BrokerProcess) -> None:
    own_broker.start()
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap)
    admin.create_topics([NewTopic("py_test", 2, 1)])
    admin.close()
    first = ScriptRun("experiment2_consumer.py", own_broker.port)
    second = ScriptRun("experiment2_consumer.py", own_broker.port)
    producer = ScriptRun("producer.py", own_broker.port)
    runs = [first, second, producer]
    try:
        # Each consumer reads a different partition once the group has settled (keys spread the
        # messages over both; the first consumer may own both until the second one joins).
        def split() -> bool:
            recent1 = {p for p, _, _ in _records(first)[-3:]}
            recent2 = {p for p, _, _ in _records(second)[-3:]}
            return len(_records(first)) >= 3 and len(_records(second)) >= 3 and (
                len(recent1) == 1 and len(recent2) == 1 and recent1 != recent2
            )

        wait_for(split, timeout=90, what="each consumer on its own partition")
        # Stop one consumer: the other takes over both partitions.
        first.stop()
        seen_before = len(_records(second))
        stopped_at = max(int(x) for x in producer.lines if x.isdigit())
        wait_for(lambda: {p for p, _, _ in _records(second)[seen_before:]} == {0, 1},
                 timeout=60, what="survivor consuming both partitions")
        # No message produced after the hand-over started is lost.
        survivor_values = {v for _, _, v in _records(second)}
        last = max(survivor_values)
        first_values = {v for _, _, v in _records(first)}
        expected = set(range(stopped_at + 1, last + 1))
        assert expected <= survivor_values | first_values
    finally:
        for run in runs:
            run.stop()


def test_experiment3_committed_offsets(own_broker: BrokerProcess) -> None:
    own_broker.start()
    producer = KafkaProducer(bootstrap_servers=own_broker.bootstrap)
    for i in range(20):
        producer.send("py_test", key=str(i).encode(), value=str(i).encode())
    producer.flush()
    producer.close()

    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap)

    def committed(group: str) -> int | None:
        offsets = admin.list_group_offsets({group: None})[group]
        return offsets[TopicPartition("py_test", 0)].offset if offsets else None

    def run_until(script: str, lines: int, committed_offset: tuple[str, int] | None = None) -> list[str]:
        run = ScriptRun(script, own_broker.port)
        try:
            wait_for(lambda: len(run.lines) >= lines, timeout=30, what=f"{script} output: {run.errors[-3:]}")
            if committed_offset is not None:  # the auto-commit interval is 5 s, as in Kafka's clients
                group, offset = committed_offset
                wait_for(lambda: committed(group) == offset, timeout=30, what=f"auto commit of {offset}")
        finally:
            run.stop()
        return run.lines

    # Without commits every restart begins at the same offset.
    assert run_until("experiment3_no_commit.py", 6)[0] == "starting offset is 0"
    assert run_until("experiment3_no_commit.py", 6)[0] == "starting offset is 0"
    # With auto commit a restart continues where the last run stopped (commits on close too).
    first = run_until("experiment3_auto_commit.py", 21, committed_offset=("test", 20))
    assert first[0] == "starting offset is 0"
    assert first[1:21] == [str(i) for i in range(20)]
    producer = KafkaProducer(bootstrap_servers=own_broker.bootstrap)
    producer.send("py_test", key=b"20", value=b"20").get(timeout=10)
    producer.close()
    second = run_until("experiment3_auto_commit.py", 2)
    assert second[0] == "starting offset is 20", second[:3]
    assert second[1] == "20"
    # Each group keeps its own offsets.
    assert run_until("experiment3_other_group.py", 2)[0] == "starting offset is 0"
    assert committed("test_g") is None and committed("test_1") is None
    admin.close()
