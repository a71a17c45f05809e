"""Drives real clients through node and coordinator faults on a 3-node cluster.

Two kinds of cluster behind one small interface, so a scenario is written once and its
expectations can be checked against Apache Kafka itself:

- ``KafkaliteCluster``: ``kafkalite.Broker(brokers=3)`` in this process; faults through its
  Python API (``stop_node`` / ``start_node`` / ``kill_node``, ``replicas.move_coordinator``,
  ``faults``).
- ``ReferenceCluster``: ``ReferenceKafka(nodes=3)``; a node stops as a process stops, and a
  coordinator moves the way it does on Kafka: its node goes away.

Clients run as ``Worker`` processes (compat_tests/resilience_worker.py for the Python clients,
the Java and Go scenario programs for the others) that print JSON lines and finish when their
stdin closes; the test waits on what they print, with deadlines, never on the clock alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from confluent_kafka import ElectionType, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

CoordinatorKind = Literal["group", "transaction"]
Event = dict[str, Any]


class Worker:
    """One client process: JSON events from its stdout, stopped by closing its stdin."""

    def __init__(self, name: str, cmd: list[str], log_dir: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.stderr"
        with self.log_path.open("a") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                         text=True, cwd=cwd, env=env)
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, name=f"worker-{name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a client's own chatter on stdout
            if isinstance(event, dict):
                with self._cond:
                    self.events.append(event)
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    # ---- what the worker observed -----------------------------------------------------------------

    def snapshot(self) -> list[Event]:
        with self._cond:
            return list(self.events)

    def wait(self, check: Callable[[list[Event]], bool], timeout: float, what: str) -> None:
        """Block until ``check(events)`` holds; fail with the worker's stderr tail if it never does."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"{self.name}: timed out waiting for {what}; "
                                         f"last events {self.events[-5:]}; stderr: {self.stderr_tail()}")
                self._cond.wait(min(left, 0.5))

    def acked(self) -> int:
        return max((e["acked"] for e in self.snapshot() if "acked" in e), default=0)

    def wait_acked(self, at_least: int, timeout: float = 30.0) -> int:
        self.wait(lambda evs: max((e["acked"] for e in evs if "acked" in e), default=0) >= at_least,
                  timeout, f"{at_least} acknowledged records")
        return self.acked()

    def records(self) -> list[tuple[int, int, str]]:
        return [(p, o, v) for e in self.snapshot() for p, o, v in e.get("records", [])]

    def stderr_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    # ---- ending it ----------------------------------------------------------------------------------

    def finish(self, timeout: float = 90.0) -> Event:
        """Close stdin, wait for the final ``done`` line; the process must exit 0."""
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{self.name} did not finish in {timeout} s; stderr: {self.stderr_tail()}") from None
        self._reader.join(5)
        done = [e for e in self.snapshot() if e.get("done")]
        assert code == 0 and done, f"{self.name} exited {code}; events {self.events[-5:]}; {self.stderr_tail()}"
        return done[-1]

    def kill(self) -> None:
        """SIGKILL: the member vanishes without leaving its group."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()


class Cluster:
    """What a scenario needs from a 3-node cluster, whichever broker runs it."""

    name = "cluster"
    bootstrap: str

    def __init__(self) -> None:
        self._admin: AdminClient | None = None

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap})
        return self._admin

    def stop_node(self, node_id: int) -> None:
        raise NotImplementedError

    def start_node(self, node_id: int) -> None:
        raise NotImplementedError

    def kill_node(self, node_id: int) -> None:
        raise NotImplementedError

    def move_coordinator(self, kind: CoordinatorKind, key: str) -> int:
        """Move the coordinator of ``key`` to another node; returns the node it left."""
        raise NotImplementedError

    def coordinator(self, kind: CoordinatorKind, key: str) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # ---- through the admin API, the same on both ------------------------------------------------------

    def create_topic(self, name: str, partitions: int = 1, replication: int = 3,
                     assignment: list[list[int]] | None = None, config: dict[str, str] | None = None) -> None:
        if assignment is not None:
            topic = NewTopic(name, num_partitions=len(assignment), replica_assignment=assignment,
                             config=config or {})
        else:
            topic = NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config or {})
        self.admin.create_topics([topic], request_timeout=30)[name].result(30)
        self.wait_leaders(name, partitions if assignment is None else len(assignment))

    def partitions(self, topic: str) -> dict[int, Any]:
        """Partition id -> confluent's PartitionMetadata (leader, replicas, isrs, error)."""
        md = self.admin.list_topics(topic, timeout=10).topics[topic]
        return dict(md.partitions)

    def leaders(self, topic: str) -> dict[int, int]:
        return {p: md.leader for p, md in self.partitions(topic).items()}

    def wait_leaders(self, topic: str, count: int, timeout: float = 30.0,
                     check: Callable[[dict[int, Any]], bool] | None = None, what: str = "") -> dict[int, Any]:
        """Wait until ``count`` partitions have a leader (and ``check`` holds)."""
        deadline = time.monotonic() + timeout
        parts: dict[int, Any] = {}
        while time.monotonic() < deadline:
            try:
                parts = self.partitions(topic)
            except Exception:  # a node on its way down: ask again
                parts = {}
            if len(parts) == count and all(md.leader >= 0 and md.error is None for md in parts.values()) \
                    and (check is None or check(parts)):
                return parts
            time.sleep(0.1)
        raise AssertionError(f"{topic}: timed out waiting for {what or 'leaders'}: "
                             f"{ {p: (md.leader, md.replicas, md.isrs) for p, md in parts.items()} }")

    def wait_full_isr(self, topic: str, count: int, replication: int = 3, timeout: float = 60.0) -> None:
        self.wait_leaders(topic, count, timeout, lambda ps: all(len(md.isrs) == replication for md in ps.values()),
                          "every replica back in the ISR")

    def elect(self, topic: str, partitions: Iterable[int], kind: ElectionType) -> dict[int, str | None]:
        """ElectLeaders; partition -> None on success or the error's name."""
        tps = [TopicPartition(topic, p) for p in partitions]
        result = self.admin.elect_leaders(kind, tps).result(30)
        return {tp.partition: (None if err is None else err.name()) for tp, err in result.items()}

    def produce(self, topic: str, values: Iterable[str], partition: int | None = None,
                partitions: int = 1) -> None:
        """acks=all, each value to ``partition`` (or value i to partition i % ``partitions``); all acknowledged."""
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": False,
                             "linger.ms": 2, "message.timeout.ms": 30000})
        failures: list[str] = []
        for i, value in enumerate(values):
            producer.produce(topic, value.encode(), partition=i % partitions if partition is None else partition,
                             on_delivery=lambda err, _msg: failures.append(str(err)) if err else None)
        assert producer.flush(30) == 0 and not failures, f"produce to {topic} failed: {failures}"

    # Reading back goes through kafka-python: confluent-kafka consumers created and closed in this
    # process while the cluster changes under them crashed librdkafka (rd_kafka_cgrp_op, SIGSEGV).

    def _consumer(self, **config: Any) -> Any:
        from kafka import KafkaConsumer

        return KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                             request_timeout_ms=10000, **config)

    def end_offsets(self, topic: str, partitions: int) -> dict[int, int]:
        from kafka import TopicPartition as KTopicPartition

        consumer = self._consumer()
        try:
            tps = [KTopicPartition(topic, p) for p in range(partitions)]
            return {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
        finally:
            consumer.close()

    def committed(self, group: str, topic: str, partitions: int) -> dict[int, int]:
        from kafka import KafkaAdminClient
        from kafka import TopicPartition as KTopicPartition

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        try:
            tps = [KTopicPartition(topic, p) for p in range(partitions)]
            answer = admin.list_group_offsets({group: tps})[group]
            return {tp.partition: meta.offset for tp, meta in answer.items()}
        finally:
            admin.close()

    def read_all(self, topic: str, partitions: int, isolation: str = "read_uncommitted",
                 timeout: float = 30.0) -> dict[int, list[str]]:
        """Every record's value, per partition in offset order, read up to the end offsets."""
        from kafka import TopicPartition as KTopicPartition

        consumer = self._consumer(isolation_level=isolation, auto_offset_reset="earliest")
        try:
            tps = [KTopicPartition(topic, p) for p in range(partitions)]
            ends = {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
            consumer.assign(tps)
            consumer.seek_to_beginning()
            out: dict[int, list[str]] = {p: [] for p in range(partitions)}
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if all(consumer.position(tp) >= ends[tp.partition] for tp in tps):
                    return out
                for tp, records in consumer.poll(500).items():
                    out[tp.partition].extend(r.value.decode() for r in records)
            raise AssertionError(f"read_all({topic}) did not reach the end offsets {ends}: positions "
                                 f"{ {tp.partition: consumer.position(tp) for tp in tps} }, "
                                 f"read { {p: len(vs) for p, vs in out.items()} }")
        finally:
            consumer.close()


class KafkaliteCluster(Cluster):
    """``kafkalite.Broker(brokers=3)`` in this process."""

    name = "kafkalite"

    def __init__(self, **config: Any) -> None:
        super().__init__()
        from kafkalite import Broker

        self.broker = Broker(brokers=3, **config)
        self.broker.start()
        self.bootstrap = self.broker.bootstrap_servers

    def stop_node(self, node_id: int) -> None:
        self.broker.stop_node(node_id)

    def start_node(self, node_id: int) -> None:
        self.broker.start_node(node_id)

    def kill_node(self, node_id: int) -> None:
        self.broker.kill_node(node_id)

    def _on_loop(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(state)`` on the broker's loop (the loop owns all broker state)."""
        server, loop = self.broker._server, self.broker._loop

        async def call() -> Any:
            return fn(server.state)

        return asyncio.run_coroutine_threadsafe(call(), loop).result(10)

    def coordinator(self, kind: CoordinatorKind, key: str) -> int:
        return int(self._on_loop(lambda state: state.replicas.coordinator_node(kind, key)))

    def move_coordinator(self, kind: CoordinatorKind, key: str) -> int:
        before = self.coordinator(kind, key)
        where = {"group": key} if kind == "group" else {"transactional_id": key}
        after = int(self.broker.faults.move_coordinator(**where))
        assert after != before, f"the {kind} coordinator of {key} did not move from node {before}"
        return before

    def elect(self, topic: str, partitions: Iterable[int], kind: ElectionType) -> dict[int, str | None]:
        """ElectLeaders through the admin API, or straight on the replica manager while kafkalite
        has no ElectLeaders handler (branch c14-admin)."""
        partitions = list(partitions)
        try:
            return super().elect(topic, partitions, kind)
        except Exception as e:  # UNSUPPORTED_VERSION / no such API until c14-admin lands
            if "ElectLeaders" not in str(e) and "UNSUPPORTED" not in str(e).upper():
                raise
        which = "preferred" if kind == ElectionType.PREFERRED else "unclean"
        answers = self._on_loop(lambda state: {p: state.replicas.elect(topic, p, which) for p in partitions})
        return {p: (None if code.value == 0 else code.name) for p, (code, _msg) in answers.items()}

    @property
    def faults(self) -> Any:
        return self.broker.faults

    def close(self) -> None:
        self.broker.stop()


class ReferenceCluster(Cluster):
    """Apache Kafka 4.4 as a 3-node KRaft quorum (each node broker and controller)."""

    name = "reference"

    def __init__(self) -> None:
        super().__init__()
        from kafkalite.conformance.reference import ReferenceKafka

        # A node that dies uncleanly is fenced after the broker session timeout: 9 s by default.
        self.kafka = ReferenceKafka(nodes=3, overrides={"broker.session.timeout.ms": "3000",
                                                        "broker.heartbeat.interval.ms": "500"}).start()
        self.bootstrap = self.kafka.bootstrap

    def stop_node(self, node_id: int) -> None:
        self.kafka.stop_node(node_id)

    def start_node(self, node_id: int) -> None:
        self.kafka.start_node(node_id)

    def kill_node(self, node_id: int) -> None:
        self.kafka.stop_node(node_id, kill=True)

    def coordinator(self, kind: CoordinatorKind, key: str) -> int:
        from compat_tests.rawclient import RawClient
        from kafkalite.conformance import wire
        from kafkalite.protocol.codec import message_classes

        body = {"key_type": 0 if kind == "group" else 1, "coordinator_keys": [key]}
        for address in self.bootstrap.split(","):
            try:
                with RawClient(address) as client:
                    classes = message_classes(wire.api_key("FindCoordinator"))
                    assert classes is not None
                    answer = wire.response_to_json(client.call(wire.build_request("FindCoordinator", 4, body),
                                                               classes[1]))
            except OSError:
                continue
            (entry,) = answer["coordinators"]
            if entry["error_code"] == 0:
                return int(entry["node_id"])
        raise AssertionError(f"no {kind} coordinator found for {key}")

    def move_coordinator(self, kind: CoordinatorKind, key: str) -> int:
        """On Kafka a coordinator moves with its partition's leadership: stop its node, start it again."""
        node = self.coordinator(kind, key)
        self.stop_node(node)
        self.start_node(node)
        return node

    def close(self) -> None:
        self.kafka.stop()
