"""Kafka Streams (the reference Kafka version) against kafkalite: an exactly-once word count.

The topology repartitions words (groupBy) and counts them in a state store backed by a changelog,
with processing.guarantee=exactly_once_v2 and no record cache, so every input word produces exactly
one count update. The scenario runs one instance, restarts it on its state, then adds a second
instance with an empty state directory; this test checks every update the output topic holds.
"""

from __future__ import annotations

import json
import re
import select
import struct
import subprocess
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.javaclient import JavaClient

# The first test pays for the session's Maven build (cold: about 125 MB of jars and plugins).
pytestmark = pytest.mark.timeout(900)


PHASES = [
    "the quick brown fox\njumps over the lazy dog\nthe end",
    "the fox again\nand the dog again\nquick quick",
    "alpha beta gamma delta\nthe fox the dog\nepsilon zeta eta theta\niota kappa lambda mu\nthe end again",
]


def _counts(*texts: str) -> dict[str, int]:
    return dict(Counter(w for text in texts for w in re.split(r"\W+", text.lower()) if w))


def test_exactly_once_word_count_restart_and_scale_out(
    java_client: JavaClient, broker: BrokerProcess, tmp_path: Path
) -> None:
    app = f"wc-{uuid.uuid4().hex[:8]}"
    result = java_client.run("streams-wordcount", broker.bootstrap, app, f"{app}-in", f"{app}-out",
                             str(tmp_path / "state"), *PHASES, timeout=240)
    phase1, phase2, phase3 = result["phase1"], result["phase2"], result["phase3"]
    assert phase1["counts"] == _counts(PHASES[0])
    assert phase1["a_tasks"] == ["0_0", "0_1", "1_0", "1_1"]  # 2 sub-topologies x 2 partitions, all on A

    # Restarted on its state directory, the instance continues the counts and reprocesses nothing.
    assert phase2["counts"] == _counts(*PHASES[:2])
    assert phase2["a_updates"] == sum(_counts(PHASES[1]).values())

    # A second instance joins: the tasks are split, B restores its stores from the changelog,
    # and both instances emit correct counts.
    assert phase3["counts"] == _counts(*PHASES)
    assert sorted(phase3["a_tasks"] + phase3["b_tasks"]) == ["0_0", "0_1", "1_0", "1_1"]
    assert phase3["a_tasks"] and phase3["b_tasks"]
    assert phase3["a_updates"] > 0 and phase3["b_updates"] > 0
    # (At least: a task moved by an unplanned rebalance would be reprocessed from its last commit;
    # the output below stays exact either way.)
    assert phase3["a_updates"] + phase3["b_updates"] >= sum(_counts(PHASES[2]).values())
    assert phase3["b_restored"] > 0

    # Exactly once: each word's updates are 1, 2, ..., n with no duplicate and no gap, across the
    # restart and the rebalance (aborted or zombie writes would show up here).
    for word, n in _counts(*PHASES).items():
        assert result["updates"][word] == list(range(1, n + 1)), word


VOCABULARY = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


def _lines(start: int, count: int) -> list[str]:
    """Deterministic lines of four words each."""
    words = VOCABULARY
    return [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(4)) for i in range(start, start + count)]


class _Output:
    """Every count update on the output topic, read_committed, per word."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{topic}",
                                  "enable.auto.commit": False, "isolation.level": "read_committed"})
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(2)])
        self.updates: dict[str, list[int]] = {}
        self.total = 0

    def poll(self) -> None:
        for msg in self.consumer.consume(1000, 0.1):
            if msg.error() is None:
                self.updates.setdefault(msg.key().decode(), []).append(struct.unpack(">q", msg.value())[0])
                self.total += 1

    def latest(self) -> dict[str, int]:
        return {word: values[-1] for word, values in self.updates.items()}


def _running(proc: subprocess.Popen[str], stderr: Path, timeout: float = 90) -> dict[str, Any]:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"the streams instance never reached RUNNING: {stderr.read_text()[-3000:]}"
    line = proc.stdout.readline()
    assert line, f"the streams instance exited ({proc.poll()}): {stderr.read_text()[-3000:]}"
    return dict(json.loads(line))


def test_exactly_once_survives_kill9_mid_stream(java_client: JavaClient, broker: BrokerProcess, tmp_path: Path) -> None:
    app = f"wck-{uuid.uuid4().hex[:8]}"
    args = (app, f"{app}-in", f"{app}-out", str(tmp_path / "state"))
    stderr = tmp_path / "streams.err"
    output = _Output(broker.bootstrap, f"{app}-out")
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    first = java_client.popen("streams-run", broker.bootstrap, *args, stderr=stderr)
    second = None
    try:
        assert _running(first, stderr)["tasks"] == ["0_0", "0_1", "1_0", "1_1"]
        batch1 = _lines(0, 1500)
        for i, line in enumerate(batch1):
            producer.produce(f"{app}-in", key=f"a{i}".encode(), value=line.encode())
        producer.flush(30)
        # Kill -9 while the instance is mid-stream: some counts committed, more in flight.
        wait_for(lambda: (output.poll(), output.total >= 200)[1], timeout=60, what="first committed counts")
        first.kill()
        first.wait(10)
        output.poll()
        committed_at_kill = output.total
        assert committed_at_kill < 4 * len(batch1), "the instance finished before the kill: nothing was proven"

        # The same instance (state directory, so the same transactional id) restarts: it fences the
        # dead one's transaction, restores its stores from the changelog, and carries on.
        second = java_client.popen("streams-run", broker.bootstrap, *args, stderr=stderr)
        assert _running(second, stderr)["restored"] > 0
        batch2 = _lines(1500, 500)
        for i, line in enumerate(batch2):
            producer.produce(f"{app}-in", key=f"b{i}".encode(), value=line.encode())
        producer.flush(30)
        expected = _counts(*batch1, *batch2)
        wait_for(lambda: (output.poll(), output.latest() == expected)[1], timeout=120, what="final counts")
        assert second.stdin is not None
        second.stdin.close()
        assert second.wait(60) == 0
        output.poll()
        for word, n in expected.items():
            assert output.updates[word] == list(range(1, n + 1)), word  # no duplicate, no gap
    finally:
        output.consumer.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
