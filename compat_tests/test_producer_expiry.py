"""producer.id.expiration.ms as Apache Kafka 4.4 applies it, compared live.

Kafka forgets an idempotent producer's state in a partition once its last batch's timestamp is
older than ``producer.id.expiration.ms`` (checked every ``producer.id.expiration.check.interval.ms``),
unless it has an open transaction there. This test drives both brokers with the same raw requests
(one producer per case, all idle past the expiration) and expects the same answers from each.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.protocol.admin import DescribeProducersRequest, DescribeProducersResponse
from kafka.record.memory_records import MemoryRecordsBuilder

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from compat_tests.rawclient import RawClient
from compat_tests.test_txn_errors import init_pid, produce
from kafkalite.conformance.reference import ReferenceKafka, java_available

EXPIRY = {"producer.id.expiration.ms": "2000", "producer.id.expiration.check.interval.ms": "200"}
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
TOPIC = "producer-expiry"


@pytest.fixture(params=["kafkalite", "kafka"])
def bootstrap(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "kafka":
        if not java_available():
            pytest.skip("Apache Kafka needs java and mvn on PATH")
        kafka = ReferenceKafka(overrides=EXPIRY).start()
        try:
            yield kafka.bootstrap
        finally:
            kafka.stop()
        return
    overrides = [arg for name, value in EXPIRY.items() for arg in ("--override", f"{name}={value}")]
    proc = BrokerProcess(tmp_path / "data", extra_args=overrides)
    proc.start()
    try:
        yield proc.bootstrap
    finally:
        proc.stop()


def batch(pid: int, seq: int, n: int = 1, ts: int | None = None) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20, transactional=False,
                                   producer_id=pid, producer_epoch=0, base_sequence=seq)
    stamp = int(time.time() * 1000) if ts is None else ts
    for i in range(n):
        assert builder.append(stamp, None, f"{pid}-{seq + i}".encode(), []) is not None
    builder.close()
    return bytes(builder.buffer())


def new_producer_id(raw: RawClient) -> int:
    """An idempotent producer id; Kafka answers COORDINATOR_LOAD_IN_PROGRESS for a moment after start."""
    answer = wait_for(lambda: (r := init_pid(raw, None)).error_code == 0 and r, what="a producer id")
    return int(answer.producer_id)


def producers(raw: RawClient) -> set[int]:
    req = DescribeProducersRequest(version=0, topics=[DescribeProducersRequest.TopicRequest(name=TOPIC,
                                                                                          partition_indexes=[0])])
    (part,) = raw.call(req, DescribeProducersResponse).topics[0].partitions
    assert part.error_code == 0
    return {p.producer_id for p in part.active_producers}


def test_an_expired_producer_is_unknown_and_its_next_batch_is_accepted_as_new(bootstrap: str) -> None:
    with RawClient(bootstrap) as raw:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            admin.create_topics([NewTopic(TOPIC, 1, 1)])
        finally:
            admin.close()
        wait_for(lambda: produce(raw, TOPIC, batch(-1, -1))[0] == 0, what="the topic to take writes")
        cases = ("continues", "gap", "restart", "retry")
        pids = {case: new_producer_id(raw) for case in cases}
        offsets = {case: produce(raw, TOPIC, batch(pid, 0, n=3)) for case, pid in pids.items()}
        assert all(code == 0 for code, _ in offsets.values())
        # Before expiry: a gap is refused and a retry is answered with the original offset.
        assert produce(raw, TOPIC, batch(pids["gap"], 9))[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
        assert set(pids.values()) <= producers(raw)
        wait_for(lambda: not set(pids.values()) & producers(raw), timeout=30, what="producer state to expire")
        after = {
            "continues": produce(raw, TOPIC, batch(pids["continues"], 3)),
            "gap": produce(raw, TOPIC, batch(pids["gap"], 9)),
            "restart": produce(raw, TOPIC, batch(pids["restart"], 0)),
            "retry": produce(raw, TOPIC, batch(pids["retry"], 0, n=3)),
        }
        # Every case is taken as a new producer: no error, and the retry is written a second time.
        assert {case: code for case, (code, _) in after.items()} == dict.fromkeys(cases, 0)
        assert after["retry"][1] > offsets["retry"][1]
        assert set(pids.values()) <= producers(raw)
        # Known again from here on: a gap is refused again.
        assert produce(raw, TOPIC, batch(pids["continues"], 11))[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
