"""Transaction and idempotent-producer error codes on the wire, request version by request version,
as Kafka answers them (TransactionCoordinator, KafkaApis, ProducerStateManager, LogValidator)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from kafka import KafkaProducer
from kafka.protocol.producer import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    EndTxnRequest,
    EndTxnResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
    ProduceRequest,
    ProduceResponse,
)
from kafka.record.memory_records import MemoryRecordsBuilder
from kafka.record.util import calc_crc32c

from compat_tests.brokerproc import BrokerProcess
from compat_tests.rawclient import RawClient
from compat_tests.test_confluent import create_topic

OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE = 45, 47, 48
INVALID_PRODUCER_ID_MAPPING, INVALID_TRANSACTION_TIMEOUT = 49, 50
TRANSACTIONAL_ID_AUTHORIZATION_FAILED, INVALID_RECORD, PRODUCER_FENCED = 53, 87, 90
TIMEOUT_MS = 60_000


@pytest.fixture
def raw(broker: BrokerProcess) -> Iterator[RawClient]:
    with RawClient(broker.bootstrap) as client:
        yield client


def init_pid(raw: RawClient, txn_id: str | None, timeout_ms: int = TIMEOUT_MS, version: int = 4,
             producer_id: int = -1, producer_epoch: int = -1) -> InitProducerIdResponse:
    req = InitProducerIdRequest(version=version, transactional_id=txn_id, transaction_timeout_ms=timeout_ms,
                                producer_id=producer_id, producer_epoch=producer_epoch)
    return raw.call(req, InitProducerIdResponse)


def add_partitions(raw: RawClient, txn_id: str, pid: int, epoch: int, topic: str, partitions: list[int],
                   version: int = 3) -> dict[int, int]:
    topic_cls = AddPartitionsToTxnRequest.AddPartitionsToTxnTopic
    req = AddPartitionsToTxnRequest(
        version=version, v3_and_below_transactional_id=txn_id, v3_and_below_producer_id=pid,
        v3_and_below_producer_epoch=epoch, v3_and_below_topics=[topic_cls(name=topic, partitions=partitions)],
    )
    resp = raw.call(req, AddPartitionsToTxnResponse)
    return {p.partition_index: p.partition_error_code
            for t in resp.results_by_topic_v3_and_below for p in t.results_by_partition}


def end_txn(raw: RawClient, txn_id: str, pid: int, epoch: int, commit: bool, version: int = 3) -> int:
    req = EndTxnRequest(version=version, transactional_id=txn_id, producer_id=pid, producer_epoch=epoch,
                        committed=commit)
    return raw.call(req, EndTxnResponse).error_code


def batch(n: int = 1, producer_id: int = -1, epoch: int = -1, seq: int = -1, transactional: bool = False,
          tag: str = "v") -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20, transactional=transactional,
                                   producer_id=producer_id, producer_epoch=epoch, base_sequence=seq)
    for i in range(n):
        assert builder.append(1_700_000_000_000 + i, None, f"{tag}-{i}".encode(), []) is not None
    builder.close()
    return bytes(builder.buffer())


def control_batch(producer_id: int, epoch: int) -> bytes:
    """A COMMIT marker as a client could forge one: a transactional batch with the control bit set."""
    data = bytearray(batch(producer_id=producer_id, epoch=epoch, seq=0, transactional=True))
    # The record's key and value do not matter to the check; the attribute bit (0x20) does.
    attributes = struct.unpack_from(">h", data, 21)[0] | 0x20
    struct.pack_into(">h", data, 21, attributes)
    struct.pack_into(">I", data, 17, calc_crc32c(memoryview(data)[21:]))
    return bytes(data)


def produce(raw: RawClient, topic: str, records: bytes, partition: int = 0, txn_id: str | None = None,
            version: int = 9) -> tuple[int, int]:
    """(error code, base offset) of a one-partition Produce with acks=-1."""
    topic_cls = ProduceRequest.TopicProduceData
    req = ProduceRequest(
        version=version, transactional_id=txn_id, acks=-1, timeout_ms=10_000,
        topic_data=[topic_cls(name=topic, partition_data=[
            topic_cls.PartitionProduceData(index=partition, records=records)])],
    )
    (part,) = raw.call(req, ProduceResponse).responses[0].partition_responses
    return part.error_code, part.base_offset


def log_end(raw: RawClient, topic: str, partition: int = 0) -> int:
    """The partition's log end offset, learnt by appending one plain record."""
    code, offset = produce(raw, topic, batch(tag="probe"), partition)
    assert code == 0
    return offset


# ---- coordinator errors ------------------------------------------------------------------------------


def test_end_txn_for_unknown_transactional_id(raw: RawClient, topic_name: str) -> None:
    for version in (0, 3):
        assert end_txn(raw, f"nobody-{topic_name}", 1234, 0, True, version=version) == INVALID_PRODUCER_ID_MAPPING


def test_transaction_timeout_above_the_maximum(raw: RawClient, topic_name: str) -> None:
    resp = init_pid(raw, f"txn-{topic_name}", timeout_ms=900_001)
    assert (resp.error_code, resp.producer_id, resp.producer_epoch) == (INVALID_TRANSACTION_TIMEOUT, -1, -1)
    assert init_pid(raw, f"txn-{topic_name}", timeout_ms=0).error_code == INVALID_TRANSACTION_TIMEOUT
    # Nothing was created for the id by the refused requests; the maximum itself is allowed.
    assert end_txn(raw, f"txn-{topic_name}", 0, 0, True) == INVALID_PRODUCER_ID_MAPPING
    ok = init_pid(raw, f"txn-{topic_name}", timeout_ms=900_000)
    assert (ok.error_code, ok.producer_epoch) == (0, 0) and ok.producer_id >= 0


def test_old_epoch_is_fenced_on_add_partitions_by_version(
    raw: RawClient, broker: BrokerProcess, topic_name: str
) -> None:
    create_topic(broker, topic_name)
    txn_id = f"txn-{topic_name}"
    first = init_pid(raw, txn_id)
    second = init_pid(raw, txn_id)
    assert (first.error_code, second.error_code) == (0, 0)
    assert second.producer_id == first.producer_id
    assert second.producer_epoch == first.producer_epoch + 1
    pid, old = first.producer_id, first.producer_epoch
    assert add_partitions(raw, txn_id, pid, old, topic_name, [0], version=3) == {0: PRODUCER_FENCED}
    # v0-v1 clients predate PRODUCER_FENCED (KIP-588) and get INVALID_PRODUCER_EPOCH.
    assert add_partitions(raw, txn_id, pid, old, topic_name, [0], version=1) == {0: INVALID_PRODUCER_EPOCH}
    assert end_txn(raw, txn_id, pid, old, True, version=3) == PRODUCER_FENCED
    assert end_txn(raw, txn_id, pid, old, True, version=1) == INVALID_PRODUCER_EPOCH
    assert add_partitions(raw, txn_id, pid, second.producer_epoch, topic_name, [0]) == {0: 0}
    assert end_txn(raw, txn_id, pid, second.producer_epoch, False) == 0


# ---- produce-side checks ------------------------------------------------------------------------------


def test_transactional_produce_to_a_partition_not_in_the_transaction(
    raw: RawClient, broker: BrokerProcess, topic_name: str
) -> None:
    create_topic(broker, topic_name, partitions=2)
    txn_id = f"txn-{topic_name}"
    resp = init_pid(raw, txn_id)
    pid, epoch = resp.producer_id, resp.producer_epoch
    # No AddPartitionsToTxn at all yet.
    records = batch(producer_id=pid, epoch=epoch, seq=0, transactional=True)
    assert produce(raw, topic_name, records, partition=0, txn_id=txn_id) == (INVALID_TXN_STATE, -1)
    assert add_partitions(raw, txn_id, pid, epoch, topic_name, [0]) == {0: 0}
    assert produce(raw, topic_name, records, partition=1, txn_id=txn_id) == (INVALID_TXN_STATE, -1)
    assert produce(raw, topic_name, records, partition=0, txn_id=txn_id) == (0, 0)
    assert end_txn(raw, txn_id, pid, epoch, True) == 0
    assert log_end(raw, topic_name, partition=1) == 0  # the refused batch was not written


def test_transactional_batch_without_transactional_id_is_refused(
    raw: RawClient, broker: BrokerProcess, topic_name: str
) -> None:
    create_topic(broker, topic_name)
    resp = init_pid(raw, f"txn-{topic_name}")
    records = batch(producer_id=resp.producer_id, epoch=resp.producer_epoch, seq=0, transactional=True)
    code, offset = produce(raw, topic_name, records)
    assert code != 0 and offset == -1
    assert log_end(raw, topic_name) == 0


def test_transactional_batch_without_transactional_id_error_code(
    raw: RawClient, broker: BrokerProcess, topic_name: str
) -> None:
    create_topic(broker, topic_name)
    resp = init_pid(raw, f"txn-{topic_name}")
    records = batch(producer_id=resp.producer_id, epoch=resp.producer_epoch, seq=0, transactional=True)
    assert produce(raw, topic_name, records)[0] == TRANSACTIONAL_ID_AUTHORIZATION_FAILED


def test_client_control_batch_is_invalid_record(
    raw: RawClient, broker: BrokerProcess, topic_name: str
) -> None:
    create_topic(broker, topic_name)
    txn_id = f"txn-{topic_name}"
    resp = init_pid(raw, txn_id)
    pid, epoch = resp.producer_id, resp.producer_epoch
    # The partition is in the transaction, so only the control bit can be the problem (as in LogValidator).
    assert add_partitions(raw, txn_id, pid, epoch, topic_name, [0]) == {0: 0}
    assert produce(raw, topic_name, control_batch(pid, epoch), txn_id=txn_id) == (INVALID_RECORD, -1)
    # The forged marker wrote nothing and ended nothing: the transaction's own data still goes in at 0.
    data = batch(producer_id=pid, epoch=epoch, seq=0, transactional=True)
    assert produce(raw, topic_name, data, txn_id=txn_id) == (0, 0)
    assert end_txn(raw, txn_id, pid, epoch, True) == 0
    assert log_end(raw, topic_name) == 2  # data at 0, the broker's own COMMIT marker at 1


# ---- idempotent producer ------------------------------------------------------------------------------


def test_idempotent_sequence_errors_duplicates_and_epochs(
    raw: RawClient, broker: BrokerProcess, topic_name: str
) -> None:
    create_topic(broker, topic_name)
    produce(raw, topic_name, batch(2, tag="plain"))  # offsets 0-1, so the producer's base is not 0
    resp = init_pid(raw, None)
    assert (resp.error_code, resp.producer_epoch) == (0, 0) and resp.producer_id >= 0
    pid = resp.producer_id
    first = batch(3, pid, 0, 0, tag="first")
    assert produce(raw, topic_name, first) == (0, 2)
    assert produce(raw, topic_name, batch(1, pid, 0, 5, tag="gap"))[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
    # A retry of the first batch is recognised: success with the offset it was written at, nothing new.
    assert produce(raw, topic_name, first) == (0, 2)
    assert produce(raw, topic_name, batch(1, pid, 0, 3, tag="next")) == (0, 5)
    # The client bumps the epoch itself (KIP-360) and restarts at sequence 0; the old epoch is then refused.
    assert produce(raw, topic_name, batch(1, pid, 1, 0, tag="bumped")) == (0, 6)
    assert produce(raw, topic_name, batch(1, pid, 0, 4, tag="stale"))[0] == INVALID_PRODUCER_EPOCH
    assert log_end(raw, topic_name) == 7


def test_idempotent_init_producer_id_always_allocates_a_new_id(raw: RawClient) -> None:
    first = init_pid(raw, None)
    again = init_pid(raw, None, producer_id=first.producer_id, producer_epoch=first.producer_epoch)
    assert again.error_code == 0
    assert again.producer_id != first.producer_id
    assert again.producer_epoch == 0


# ---- and the broker is still fine --------------------------------------------------------------------------


def test_broker_still_serves_a_normal_producer(broker: BrokerProcess, topic_name: str) -> None:
    assert broker.alive()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        first = producer.send(topic_name, b"after the errors").get(timeout=10)
        second = producer.send(topic_name, b"and another").get(timeout=10)
    finally:
        producer.close()
    assert (first.offset, second.offset) == (0, 1)

