"""The ``kafkalite`` client tools (topics, produce, consume, groups) against a running broker.

Most commands run in-process through click's CliRunner; the ones that matter as a user types
them (stdin, the environment) run as ``python -m kafkalite`` subprocesses. Figures are checked
against independent clients: confluent-kafka for data and kafka-python's admin API for lag.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.protocol.metadata import MetadataRequest, MetadataResponse

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient
from kafkalite.cli import main

# Record timestamps of the consume and reset tests: recent, so no retention.ms deletes them.
T0 = (int(time.time()) - 3600) * 1000


@pytest.fixture(scope="module", autouse=True)
def _free_cli_clients(broker: BrokerProcess) -> Iterator[None]:
    """Commands that failed leave their clients in reference cycles (the exception's frames); collect
    them while the broker still runs, so they do not log reconnect errors at interpreter exit."""
    yield
    gc.collect()


def cli(broker: BrokerProcess, *args: str, input: bytes | None = None) -> Result:
    """Run ``kafkalite ARGS -b BOOTSTRAP`` in-process."""
    return CliRunner().invoke(main, [*args, "-b", broker.bootstrap], input=input, catch_exceptions=False)


def cli_json(broker: BrokerProcess, *args: str) -> Any:
    result = cli(broker, *args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def create_topic(broker: BrokerProcess, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(10)


def produce(broker: BrokerProcess, topic: str, records: list[tuple[int, int]]) -> None:
    """``records``: (partition, index) pairs; record i has key k<i>, value v<i>, time T0 + i s."""
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for partition, i in records:
        producer.produce(topic, f"v{i}".encode(), f"k{i}".encode(), partition=partition, timestamp=T0 + i * 1000,
                         headers=[("h", b"x")])
    assert producer.flush(10) == 0


def read_all(broker: BrokerProcess, topic: str, count: int, partitions: int = 1) -> list[Any]:
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "cli-check", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out: list[Any] = []
    deadline = time.monotonic() + 20
    while len(out) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            out.append(msg)
    consumer.close()
    return out


def kafka_python_lag(broker: BrokerProcess, group: str) -> dict[tuple[str, int], tuple[int, int, int]]:
    """(committed, end, lag) per partition, from kafka-python's admin API and end offsets."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        committed = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        ends = consumer.end_offsets(list(committed))
    finally:
        consumer.close()
    return {(tp.topic, tp.partition): (committed[tp].offset, ends[tp], ends[tp] - committed[tp].offset)
            for tp in committed}


def group_member(broker: BrokerProcess, group: str, topic: str, partitions: int) -> Consumer:
    """A subscribed consumer that owns all ``partitions`` of ``topic`` (the group is Stable)."""
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                         "client.id": "cli-test-member", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])

    def assigned() -> bool:
        consumer.poll(0.1)
        return len(consumer.assignment()) == partitions

    wait_for(assigned, what="the group assignment")
    return consumer


def topic_id_of(broker: BrokerProcess, topic: str) -> uuid.UUID:
    """The topic's id straight from a Metadata v12 response."""
    with RawClient(broker.bootstrap) as raw:
        req = MetadataRequest(version=12, topics=[(None, topic)], allow_auto_topic_creation=False)
        (found,) = raw.call(req, MetadataResponse).topics
    return uuid.UUID(str(found.topic_id))


def kafka_uuid_text(value: uuid.UUID) -> str:
    """Kafka's Uuid.toString: URL-safe base64 without padding (so '-' and '_', never '+' or '/')."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def table_rows(text: str) -> list[list[str]]:
    """Whitespace-split data rows of a rich table (header and rule lines dropped)."""
    lines = [line.split() for line in text.splitlines() if line.strip() and not line.strip().startswith("─")]
    return lines[1:]


# ---- topics --------------------------------------------------------------------------------------------------------


def test_topics_create_list_delete(broker: BrokerProcess, topic_name: str) -> None:
    created = cli(broker, "topics", "create", topic_name, "--partitions", "3", "--config", "retention.ms=60000")
    assert created.exit_code == 0, created.output
    assert f"Created topic {topic_name}." in created.stdout
    assert {"topic": topic_name, "partitions": 3} in cli_json(broker, "topics", "list")
    table = cli(broker, "topics", "list")
    assert [topic_name, "3"] in table_rows(table.stdout)

    again = cli(broker, "topics", "create", topic_name)
    assert again.exit_code == 1 and "TOPIC_ALREADY_EXISTS" in again.stderr
    assert cli(broker, "topics", "create", topic_name, "--if-not-exists").exit_code == 0
    bad_config = cli(broker, "topics", "create", f"{topic_name}-x", "-c", "no.such.config=1")
    assert bad_config.exit_code == 1 and "no.such.config" in bad_config.stderr

    deleted = cli(broker, "topics", "delete", topic_name)
    assert deleted.exit_code == 0 and f"Deleted topic {topic_name}." in deleted.stdout
    wait_for(lambda: all(t["topic"] != topic_name for t in cli_json(broker, "topics", "list")), what="deletion")
    gone = cli(broker, "topics", "delete", topic_name)
    assert gone.exit_code == 1 and "UNKNOWN_TOPIC_OR_PART" in gone.stderr
    assert cli(broker, "topics", "delete", topic_name, "--if-exists").exit_code == 0


def test_topics_describe_partitions_and_offsets(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, 3)
    produce(broker, topic_name, [(1, 0), (1, 1), (2, 2)])
    (described,) = cli_json(broker, "topics", "describe", topic_name, "--no-configs")
    assert described["topic"] == topic_name
    assert described["topic_id"] == kafka_uuid_text(topic_id_of(broker, topic_name))  # as Kafka's Uuid.toString
    assert described["partition_count"] == 3 and described["replication_factor"] == 1
    partitions = [(p["partition"], p["leader"], p["replicas"], p["isr"], p["log_start_offset"], p["log_end_offset"])
                  for p in described["partitions"]]
    assert partitions == [(0, 1, "1", "1", 0, 0), (1, 1, "1", "1", 0, 2), (2, 1, "1", "1", 0, 1)]

    table = cli(broker, "topics", "describe", topic_name, "--no-configs")
    assert table.exit_code == 0
    assert f"Topic: {topic_name}" in table.stdout and "PartitionCount: 3" in table.stdout
    assert f"TopicId: {described['topic_id']}\t" in table.stdout
    assert ["1", "1", "1", "1", "0", "2"] in table_rows(table.stdout)

    missing = cli(broker, "topics", "describe", f"{topic_name}-missing")
    assert missing.exit_code == 1 and "UNKNOWN_TOPIC_OR_PART" in missing.stderr


def test_topics_describe_configs(broker: BrokerProcess, topic_name: str) -> None:
    assert cli(broker, "topics", "create", topic_name, "-c", "retention.ms=60000").exit_code == 0
    result = cli(broker, "topics", "describe", topic_name, "-o", "json")
    assert result.exit_code == 0 and "configs unavailable" not in result.stderr, result.output
    (described,) = json.loads(result.stdout)
    assert {"name": "retention.ms", "value": "60000", "source": "DYNAMIC_TOPIC_CONFIG"} in described["configs"]
    everything = json.loads(cli(broker, "topics", "describe", topic_name, "--all-configs", "-o", "json").stdout)
    assert {c["name"] for c in everything[0]["configs"]} >= {"retention.ms", "segment.bytes", "cleanup.policy"}


def test_topics_alter_configs(broker: BrokerProcess, topic_name: str) -> None:
    assert cli(broker, "topics", "create", topic_name, "-c", "retention.ms=60000").exit_code == 0
    altered = cli(broker, "topics", "alter", topic_name, "-c", "retention.ms=120000", "-c", "segment.ms=3600000")
    assert altered.exit_code == 0, altered.output

    def configs() -> dict[str, str]:
        (described,) = cli_json(broker, "topics", "describe", topic_name)
        return {c["name"]: c["value"] for c in described["configs"]}

    assert configs() == {"retention.ms": "120000", "segment.ms": "3600000"}
    assert cli(broker, "topics", "alter", topic_name, "--delete-config", "segment.ms").exit_code == 0
    assert configs() == {"retention.ms": "120000"}


def test_topics_alter_needs_something_to_change(broker: BrokerProcess, topic_name: str) -> None:
    result = cli(broker, "topics", "alter", topic_name)
    assert result.exit_code == 2 and "nothing to change" in result.stderr


# ---- produce -------------------------------------------------------------------------------------------------------


def batch_compression(broker: BrokerProcess, topic: str) -> int:
    """The compression codec bits of the first record batch in partition 0's first segment."""
    segment = broker.data_dir / f"{topic}-0" / "00000000000000000000.log"
    data = wait_for(lambda: segment.exists() and segment.read_bytes()[:23], what="the segment file")
    return int.from_bytes(data[21:23], "big") & 0x7


def test_produce_stdin_with_keys_headers_and_compression(broker: BrokerProcess, topic_name: str) -> None:
    lines = b"k1:v1\nk2:v:2\r\n:empty-key\nk4:\n"
    proc = subprocess.run(
        [sys.executable, "-m", "kafkalite", "produce", topic_name, "-K", ":", "-H", "source=cli", "-H", "n=1",
         "-z", "gzip"],
        input=lines, capture_output=True, timeout=60, env={**os.environ, "KAFKALITE_BOOTSTRAP": broker.bootstrap},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Produced 4 record(s)" in proc.stderr
    records = read_all(broker, topic_name, 4)
    assert [(m.key(), m.value()) for m in records] == [(b"k1", b"v1"), (b"k2", b"v:2"), (b"", b"empty-key"),
                                                        (b"k4", b"")]
    assert all(m.headers() == [("source", b"cli"), ("n", b"1")] for m in records)
    assert batch_compression(broker, topic_name) == 1  # gzip, as written by the producer


def test_produce_file_with_progress_bar(broker: BrokerProcess, topic_name: str, tmp_path: Path) -> None:
    source = tmp_path / "lines.txt"
    source.write_text("".join(f"line-{i}\n" for i in range(500)))
    result = cli(broker, "produce", topic_name, "--file", str(source), "--progress", "-z", "zstd")
    assert result.exit_code == 0, result.output
    assert "Produced 500 record(s)" in result.stderr
    assert f"producing to {topic_name}" in result.stderr  # the progress bar's final frame
    records = read_all(broker, topic_name, 500)
    assert [m.value() for m in records] == [f"line-{i}".encode() for i in range(500)]
    assert all(m.key() is None for m in records)
    assert batch_compression(broker, topic_name) == 4  # zstd


def test_produce_to_a_partition_and_reject_a_line_without_separator(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, 2)
    ok = cli(broker, "produce", topic_name, "--partition", "1", input=b"a\nb\n")
    assert ok.exit_code == 0, ok.output
    assert [m.partition() for m in read_all(broker, topic_name, 2, partitions=2)] == [1, 1]

    bad = cli(broker, "produce", topic_name, "-K", "=", "-p", "0", input=b"x=1\nno separator\ny=2\n")
    assert bad.exit_code == 1
    assert "line 2: no key separator '='" in bad.stderr and "1 record(s) before it" in bad.stderr
    records = read_all(broker, topic_name, 3, partitions=2)
    assert sorted((m.partition(), m.key(), m.value()) for m in records) == [(0, b"x", b"1"), (1, None, b"a"),
                                                                             (1, None, b"b")]


# ---- consume -------------------------------------------------------------------------------------------------------


def consumed(broker: BrokerProcess, topic: str, *args: str) -> list[str]:
    result = cli(broker, "consume", topic, *args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"Processed a total of {len(lines)} messages" in result.stderr
    return lines


def test_consume_start_positions_count_and_format(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    produce(broker, topic_name, [(0, i) for i in range(10)])
    values = [f"v{i}" for i in range(10)]
    assert consumed(broker, topic_name, "--from-beginning", "-e") == values
    assert consumed(broker, topic_name, "-e") == []  # from the end by default
    assert consumed(broker, topic_name, "--offset", "7", "-e") == values[7:]
    assert consumed(broker, topic_name, "--offset", "-2", "-e") == values[8:]
    assert consumed(broker, topic_name, "--timestamp", str(T0 + 5000), "-e") == values[5:]
    iso = datetime.fromtimestamp((T0 + 3500) / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    assert consumed(broker, topic_name, "--timestamp", iso, "-e") == values[4:]
    assert consumed(broker, topic_name, "--timestamp", str(T0 + 60_000), "-e") == []  # after the last record
    assert consumed(broker, topic_name, "--from-beginning", "-c", "4") == values[:4]  # exits without -e
    assert consumed(broker, topic_name, "--offset", "1", "-c", "1",
                    "-f", r"{topic}|{partition}|{offset}|{timestamp}|{key}={value}\t[{headers}]") == [
        f"{topic_name}|0|1|{T0 + 1000}|k1=v1\t[h=x]"
    ]


def test_consume_rejects_bad_arguments(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    both = cli(broker, "consume", topic_name, "--from-beginning", "--offset", "1")
    assert both.exit_code == 2 and "at most one" in both.stderr
    bad_field = cli(broker, "consume", topic_name, "-f", "{nope}")
    assert bad_field.exit_code == 2 and "unknown field {nope}" in bad_field.stderr
    no_partition = cli(broker, "consume", topic_name, "-p", "5", "-e")
    assert no_partition.exit_code == 1 and "no partition 5" in no_partition.stderr


def test_consume_with_a_group_commits_what_it_printed(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, 2)
    produce(broker, topic_name, [(i % 2, i) for i in range(8)])
    group = f"g-{uuid.uuid4().hex[:8]}"
    first = consumed(broker, topic_name, "-g", group, "--from-beginning", "-c", "5")
    assert len(first) == 5
    rest = consumed(broker, topic_name, "-g", group, "--from-beginning", "-e")
    assert sorted(first + rest) == sorted(f"v{i}" for i in range(8))  # the group resumed where it stopped
    assert {(t, p): lag for (t, p), (_, _, lag) in kafka_python_lag(broker, group).items()} == {
        (topic_name, 0): 0, (topic_name, 1): 0}
    assert consumed(broker, topic_name, "-g", group, "-e") == []
    assert consumed(broker, topic_name, "-g", group, "--offset", "3", "-e", "-f", "{partition}:{offset}") in (
        ["0:3", "1:3"], ["1:3", "0:3"])


# ---- groups --------------------------------------------------------------------------------------------------------


def test_groups_describe_lag_matches_the_admin_api(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, 3)
    produce(broker, topic_name, [(0, i) for i in range(5)] + [(1, i) for i in range(5, 8)])
    group = f"g-{uuid.uuid4().hex[:8]}"
    member = group_member(broker, group, topic_name, 3)
    try:
        member.commit(offsets=[TopicPartition(topic_name, 0, 2), TopicPartition(topic_name, 1, 3)],
                      asynchronous=False)
        rows = cli_json(broker, "groups", "describe", group)
        by_partition = {r["partition"]: r for r in rows}
        assert sorted(by_partition) == [0, 1, 2]  # committed or assigned
        assert all(r["group"] == group and r["topic"] == topic_name for r in rows)
        member_id = member.memberid()
        assert {r["consumer_id"] for r in rows} == {member_id}
        assert {r["client_id"] for r in rows} == {"cli-test-member"}
        # The figures kafka-python's admin API gives for the same group.
        expected = kafka_python_lag(broker, group)
        assert expected == {(topic_name, 0): (2, 5, 3), (topic_name, 1): (3, 3, 0)}
        for (_, partition), (committed, end, lag) in expected.items():
            row = by_partition[partition]
            assert (row["current_offset"], row["log_end_offset"], row["lag"]) == (committed, end, lag)
        assert (by_partition[2]["current_offset"], by_partition[2]["log_end_offset"], by_partition[2]["lag"]) == (
            None, 0, None)

        table = cli(broker, "groups", "describe", group)
        assert table.stdout.split()[:9] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
                                           "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]
        rows_text = table_rows(table.stdout)
        assert [group, topic_name, "0", "2", "5", "3", member_id] == rows_text[0][:7]
        assert [group, topic_name, "2", "-", "0", "-", member_id] == rows_text[2][:7]

        (state,) = cli_json(broker, "groups", "describe", group, "--state")
        assert (state["state"], state["members"], state["assignment_strategy"]) == ("Stable", 1, "range")
        (described_member,) = cli_json(broker, "groups", "describe", group, "--members")
        assert described_member["partitions"] == 3
        assert described_member["assignment"] == f"{topic_name}(0,1,2)"
        assert {"group": group, "state": "Stable"} in cli_json(broker, "groups", "list")
    finally:
        member.close()
    empty = cli(broker, "groups", "describe", group)
    assert f"Consumer group '{group}' has no active members." in empty.stderr
    assert [group, topic_name, "0", "2", "5", "3", "-", "-", "-"] in table_rows(empty.stdout)
    assert {"group": group, "state": "Empty"} in cli_json(broker, "groups", "list")

    missing = cli(broker, "groups", "describe", f"{group}-missing")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_groups_reset_offsets_dry_run_and_execute(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, 2)
    produce(broker, topic_name, [(p, i) for p in (0, 1) for i in range(4)])  # timestamps T0 .. T0+3s per partition
    group = f"g-{uuid.uuid4().hex[:8]}"
    setup = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    setup.commit(offsets=[TopicPartition(topic_name, 0, 1), TopicPartition(topic_name, 1, 1)], asynchronous=False)
    setup.close()

    def committed() -> dict[int, int]:
        return {p: c for (_, p), (c, _, _) in kafka_python_lag(broker, group).items()}

    def reset(*args: str) -> list[tuple[int, int | None, int]]:
        result = cli(broker, "groups", "reset-offsets", group, *args, "-o", "json")
        assert result.exit_code == 0, result.output
        return [(r["partition"], r["current_offset"], r["new_offset"]) for r in json.loads(result.stdout)]

    plan = cli(broker, "groups", "reset-offsets", group, "--all-topics", "--to-earliest")
    assert plan.exit_code == 0 and "Dry run" in plan.stderr
    assert [group, topic_name, "0", "1", "0"] in table_rows(plan.stdout)
    assert committed() == {0: 1, 1: 1}  # the dry run committed nothing

    assert reset("--topic", topic_name, "--to-latest", "--execute") == [(0, 1, 4), (1, 1, 4)]
    assert committed() == {0: 4, 1: 4}
    assert reset("--topic", f"{topic_name}:0", "--to-offset", "2", "--execute") == [(0, 4, 2)]
    assert committed() == {0: 2, 1: 4}
    iso = datetime.fromtimestamp((T0 + 2500) / 1000, tz=timezone.utc).isoformat()
    assert reset("--all-topics", "--to-datetime", iso, "--execute") == [(0, 2, 3), (1, 4, 3)]
    assert reset("--all-topics", "--shift-by", "-2", "--execute") == [(0, 3, 1), (1, 3, 1)]
    assert reset("--all-topics", "--to-offset", "99") == [(0, 1, 4), (1, 1, 4)]  # clamped to the log end
    assert reset("--all-topics", "--to-earliest", "--dry-run") == [(0, 1, 0), (1, 1, 0)]
    assert committed() == {0: 1, 1: 1}

    no_scenario = cli(broker, "groups", "reset-offsets", group, "--all-topics")
    assert no_scenario.exit_code == 2 and "exactly one" in no_scenario.stderr


def test_groups_reset_offsets_refuses_an_active_group(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    produce(broker, topic_name, [(0, i) for i in range(3)])
    group = f"g-{uuid.uuid4().hex[:8]}"
    member = group_member(broker, group, topic_name, 1)
    try:
        member.commit(offsets=[TopicPartition(topic_name, 0, 3)], asynchronous=False)
        refused = cli(broker, "groups", "reset-offsets", group, "--all-topics", "--to-earliest", "--execute")
        assert refused.exit_code == 1
        assert "can only be reset if the group" in refused.stderr and "Stable" in refused.stderr
        planned = cli(broker, "groups", "reset-offsets", group, "--all-topics", "--to-earliest")
        assert planned.exit_code == 0  # a dry run is fine while members are active
        assert kafka_python_lag(broker, group) == {(topic_name, 0): (3, 3, 0)}
    finally:
        member.close()


def test_groups_delete(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name)
    group = f"g-{uuid.uuid4().hex[:8]}"
    setup = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    setup.commit(offsets=[TopicPartition(topic_name, 0, 0)], asynchronous=False)
    setup.close()
    assert group in {g["group"] for g in cli_json(broker, "groups", "list")}
    deleted = cli(broker, "groups", "delete", group)
    assert deleted.exit_code == 0 and f"Deleted group {group}." in deleted.stdout
    assert group not in {g["group"] for g in cli_json(broker, "groups", "list")}


def test_bootstrap_comes_from_the_environment(broker: BrokerProcess, topic_name: str) -> None:
    create_topic(broker, topic_name, 2)
    proc = subprocess.run(
        [sys.executable, "-m", "kafkalite", "topics", "list", "-o", "json"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "KAFKALITE_BOOTSTRAP": broker.bootstrap},
    )
    assert proc.returncode == 0, proc.stderr
    assert {"topic": topic_name, "partitions": 2} in json.loads(proc.stdout)
