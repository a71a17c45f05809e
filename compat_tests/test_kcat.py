"""kcat (librdkafka's command-line client) produces, consumes and lists metadata."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from compat_tests.brokerproc import BrokerProcess

pytestmark = pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed")


def test_kcat_produce_consume_and_list(broker: BrokerProcess, topic_name: str) -> None:
    lines = "".join(f"key{i}:value{i}\n" for i in range(25))
    subprocess.run(
        ["kcat", "-b", broker.bootstrap, "-P", "-t", topic_name, "-K:", "-z", "lz4"],
        input=lines, text=True, check=True, timeout=30,
    )
    out = subprocess.run(
        ["kcat", "-b", broker.bootstrap, "-C", "-t", topic_name, "-e", "-f", "%k=%s@%o\n"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.splitlines()
    assert out == [f"key{i}=value{i}@{i}" for i in range(25)]
    listing = subprocess.run(
        ["kcat", "-b", broker.bootstrap, "-L", "-t", topic_name],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout
    assert f'topic "{topic_name}" with 1 partitions' in listing
    assert "leader 1" in listing
