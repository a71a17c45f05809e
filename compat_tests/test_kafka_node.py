"""kafka-node 5, an old JavaScript client still widely installed, against kafkalite.

It speaks only pre-Kafka-1.0 versions, some of which Kafka 4 removed (KIP-896): it creates
topics with CreateTopics v1, where Kafka 4 closes the connection. kafkalite serves them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from compat_tests.brokerproc import BrokerProcess

JS = Path(__file__).parent / "js"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "kafka-node").exists(),
    reason="node or kafka-node is not installed (npm install in compat_tests/js)",
)


@pytest.fixture
def logging_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker that logs every request with its version, to see what the client used."""
    proc = BrokerProcess(tmp_path / "data", extra_args=["--log-requests"])
    proc.start()
    yield proc
    if proc.alive():
        proc.stop()


def test_kafka_node_creates_produces_and_consumes_in_a_group(logging_broker: BrokerProcess, topic_name: str) -> None:
    out = subprocess.run(
        ["node", str(JS / "kafka_node.js"), logging_broker.bootstrap, topic_name, "40"],
        capture_output=True, text=True, timeout=90,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["created"] == []  # no per-topic errors
    assert result["sent"] == {topic_name: {"0": 0, "1": 0}}  # base offsets of each partition's batch
    assert sorted(result["consumed"]) == sorted(f"v{i}" for i in range(40))
    assert result["committed"] == {topic_name: {"0": 20, "1": 20}}
    used = set(re.findall(r"request (\w+ v\d+)", logging_broker.log_text()))
    assert "CreateTopics v1" in used  # the version Kafka 4 no longer serves
    assert {"Produce v2", "Fetch v2", "JoinGroup v0", "OffsetCommit v2"} <= used
