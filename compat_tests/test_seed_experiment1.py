"""Experiment 1 of the source material: the producer loop and a plain consumer, live."""

from __future__ import annotations

import re

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.seed import ScriptRun


def test_producer_loop_and_plain_consumer(own_broker: BrokerProcess) -> None:
    own_broker.start()
    producer = ScriptRun("producer.py", own_broker.port)
    consumer = None
    try:
        # The producer auto-creates py_test; the consumer (offset reset "latest") then sees new messages.
        wait_for(lambda: len(producer.lines) >= 1, timeout=30, what=f"first produce: {producer.errors[-5:]}")
        consumer = ScriptRun("experiment1_consumer.py", own_broker.port)
        records = wait_for(
            lambda: [ln for ln in consumer.lines if ln.startswith("ConsumerRecord(")][:3]
            if len([ln for ln in consumer.lines if ln.startswith("ConsumerRecord(")]) >= 3
            else None,
            timeout=40,
            what=f"three live records: {consumer.errors[-5:]}",
        )
    finally:
        producer.stop()
        if consumer is not None:
            consumer.stop()
    values = [int(re.search(r"value=b'(\d+)'", r).group(1)) for r in records]  # type: ignore[union-attr]
    keys = [int(re.search(r"key=b'(\d+)'", r).group(1)) for r in records]  # type: ignore[union-attr]
    offsets = [int(re.search(r"offset=(\d+)", r).group(1)) for r in records]  # type: ignore[union-attr]
    assert values == keys
    assert values == list(range(values[0], values[0] + 3)), values
    assert offsets == list(range(offsets[0], offsets[0] + 3)), offsets
    assert all("topic='py_test'" in r for r in records)
    printed = [int(x) for x in producer.lines if x.isdigit()]
    assert printed[0] == 1000 and set(values) <= set(printed)
