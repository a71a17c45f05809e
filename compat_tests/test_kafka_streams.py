"""Kafka Streams (the reference Kafka version) against kafkalite: an exactly-once word count.

The topology repartitions words (groupBy) and counts them in a state store backed by a changelog,
with processing.guarantee=exactly_once_v2 and no record cache, so every input word produces exactly
one count update. The scenario runs one instance, restarts it on its state, then adds a second
instance with an empty state directory; this test checks every update the output topic holds.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from pathlib import Path

from compat_tests.brokerproc import BrokerProcess
from compat_tests.javaclient import JavaClient

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
    assert phase3["a_updates"] + phase3["b_updates"] == sum(_counts(PHASES[2]).values())
    assert phase3["b_restored"] > 0

    # Exactly once: each word's updates are 1, 2, ..., n with no duplicate and no gap, across the
    # restart and the rebalance (aborted or zombie writes would show up here).
    for word, n in _counts(*PHASES).items():
        assert result["updates"][word] == list(range(1, n + 1)), word
