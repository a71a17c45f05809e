"""KafkaJS, an independent JavaScript implementation of the protocol, against kafkalite."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from compat_tests.brokerproc import BrokerProcess

JS = Path(__file__).parent / "js"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "kafkajs").exists(),
    reason="node or kafkajs is not installed (.ci/run installs them)",
)


def test_kafkajs_admin_producer_and_group_consumer(broker: BrokerProcess, topic_name: str) -> None:
    out = subprocess.run(
        ["node", str(JS / "roundtrip.js"), broker.bootstrap, topic_name, "40"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["created"] is True
    assert sorted((r["partition"], r["baseOffset"]) for r in result["sent"]) == [(0, "0"), (1, "0")]
    assert sorted((o["partition"], o["high"], o["low"]) for o in result["offsets"]) == [(0, "20", "0"), (1, "20", "0")]
    assert result["partitions"] == 2
    assert sorted(result["consumed"]) == sorted(f"v{i}" for i in range(40))
    (committed,) = result["committed"]
    assert sorted((p["partition"], p["offset"]) for p in committed["partitions"]) == [(0, "20"), (1, "20")]
