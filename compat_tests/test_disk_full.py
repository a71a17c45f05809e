"""A full or failing disk, seen by real clients: errors stay with the partition that hit them.

Most tests run an in-process broker on a ``FaultyFS`` (kafkalite.storage.fs), which fails
writes on demand, optionally under one partition's directory only. The last one fills a real
small tmpfs (root only). What must hold: a Produce whose batch could not be written gets
KAFKA_STORAGE_ERROR for that partition and nothing else; other partitions, fetches, metadata,
watermarks and other connections keep working; freeing space lets appends resume without a
restart; DeleteTopics works on a full disk and the topic stays deleted across a restart;
shutdown on a full disk finishes.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from compat_tests.brokerproc import BrokerProcess
from compat_tests.conftest import wait_for
from kafkalite.embedded import Broker
from kafkalite.storage.fs import FaultyFS
from kafkalite.tools.quotas import admin as quota_admin
from kafkalite.tools.quotas import alter as quota_alter
from kafkalite.tools.quotas import describe as quota_describe

STORAGE_ERROR = KafkaError.KAFKA_STORAGE_ERROR


@pytest.fixture
def faulty_broker(tmp_path: Path) -> Iterator[tuple[Broker, FaultyFS]]:
    fs = FaultyFS()
    broker = Broker(data_dir=tmp_path / "data", fs=fs).start()
    try:
        yield broker, fs
    finally:
        fs.free()
        if broker.running:
            broker.stop()


def create(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(15)


def send(producer: Producer, topic: str, partition: int, values: list[bytes]) -> list[KafkaError | None]:
    """Produce ``values`` and wait for every delivery report; the error of each (None: written)."""
    errors: list[KafkaError | None] = [None] * len(values)
    done: list[int] = []

    def report(i: int):
        def callback(err: KafkaError | None, _msg: object) -> None:
            errors[i] = err
            done.append(i)

        return callback

    for i, value in enumerate(values):
        producer.produce(topic, value, partition=partition, on_delivery=report(i))
    producer.flush(30)
    assert len(done) == len(values), "every message got a delivery report"
    return errors


def no_retry_producer(bootstrap: str) -> Producer:
    """Reports KAFKA_STORAGE_ERROR instead of retrying past it."""
    return Producer({"bootstrap.servers": bootstrap, "retries": 0, "linger.ms": 0, "acks": "all"})


def read_all(bootstrap: str, topic: str, partition: int, expected: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, partition, 0)])
    values: list[bytes] = []
    deadline = time.monotonic() + 20
    try:
        while len(values) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                values.append(msg.value())
        while (msg := consumer.poll(0.5)) is not None:  # anything past ``expected`` (a duplicate)
            if msg.error() is None:
                values.append(msg.value())
    finally:
        consumer.close()
    return values


def watermarks(bootstrap: str, topic: str, partition: int) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        return int(low), int(high)
    finally:
        consumer.close()


def test_a_full_partition_answers_storage_error_and_nothing_else_fails(faulty_broker, topic_name):
    broker, fs = faulty_broker
    bootstrap = broker.bootstrap_servers
    create(bootstrap, topic_name, partitions=2)
    producer = no_retry_producer(bootstrap)
    assert send(producer, topic_name, 0, [b"a0", b"a1"]) == [None, None]
    assert send(producer, topic_name, 1, [b"b0"]) == [None]

    # A consumer on the other partition keeps reading throughout, on its own connection.
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False})
    reader.assign([TopicPartition(topic_name, 1, 0)])
    seen = [wait_for(lambda: _value(reader.poll(0.2)), what="first record of partition 1")]

    fs.fill(prefix=broker.data_dir / f"{topic_name}-0")
    small = send(producer, topic_name, 0, [b"lost-1", b"lost-2"])
    large = send(producer, topic_name, 0, [b"L" * (100 << 10)])  # written at once, not at the turn's end
    assert all(err is not None and err.code() == STORAGE_ERROR for err in small + large), small + large

    # Same producer, same connection: the other partition is written and read.
    assert send(producer, topic_name, 1, [b"b1", b"b2"]) == [None, None]
    seen += [wait_for(lambda: _value(reader.poll(0.2)), what="new record of partition 1") for _ in range(2)]
    assert seen == [b"b0", b"b1", b"b2"]
    assert watermarks(bootstrap, topic_name, 0) == (0, 2)  # nothing of the failed batches counts
    assert fs.refused_writes >= 2

    fs.free()  # space comes back: appends resume without a restart
    assert send(producer, topic_name, 0, [b"a2"]) == [None]
    assert watermarks(bootstrap, topic_name, 0) == (0, 3)
    assert read_all(bootstrap, topic_name, 0, 3) == [b"a0", b"a1", b"a2"]
    reader.close()
    producer.flush(5)


def test_a_marker_the_disk_refuses_is_written_once_space_is_back(faulty_broker, topic_name):
    """EndTxn's decision stands, but the partition's transaction stays open until its marker is written.

    The coordinator must not record the transaction complete while the COMMIT marker is missing
    from the partition (read_committed consumers would wait forever); it retries the marker once
    space is back, and the committed records become visible.
    """
    broker, fs = faulty_broker
    bootstrap = broker.bootstrap_servers
    create(bootstrap, topic_name)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-{topic_name}", "linger.ms": 0})
    producer.init_transactions(15)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic_name, f"t{i}".encode(), partition=0)
    producer.flush(15)
    fs.fill(prefix=broker.data_dir / f"{topic_name}-0")  # the partition's disk fills before the commit
    producer.commit_transaction(15)  # the decision is recorded in transactions.log (another directory)
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": f"rc-{uuid.uuid4().hex[:6]}",
                       "isolation.level": "read_committed", "enable.auto.commit": False})
    reader.assign([TopicPartition(topic_name, 0, 0)])
    try:
        assert reader.poll(1.0) is None  # no marker yet: nothing is stable
        fs.free()
        seen = [wait_for(lambda: _value(reader.poll(0.2)), timeout=20, what=f"committed record {i}") for i in range(3)]
        assert seen == [b"t0", b"t1", b"t2"]
        assert watermarks(bootstrap, topic_name, 0) == (0, 4)  # three records and one marker
    finally:
        reader.close()


def _value(msg: object) -> bytes | None:
    if msg is None or msg.error() is not None:  # type: ignore[attr-defined]
        return None
    return msg.value()  # type: ignore[attr-defined,no-any-return]


def test_an_idempotent_producer_retries_through_a_full_disk_without_loss_or_duplicates(faulty_broker, topic_name):
    broker, fs = faulty_broker
    bootstrap = broker.bootstrap_servers
    create(bootstrap, topic_name)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5,
                         "retry.backoff.ms": 50, "delivery.timeout.ms": 60000})
    failures: list[KafkaError] = []

    def report(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            failures.append(err)

    for i in range(200):
        producer.produce(topic_name, f"v{i}".encode(), partition=0, on_delivery=report)
    producer.flush(15)
    fs.fill()
    for i in range(200, 400):
        producer.produce(topic_name, f"v{i}".encode(), partition=0, on_delivery=report)
    wait_for(lambda: fs.refused_writes >= 3, what="appends refused by the full disk")
    assert watermarks(bootstrap, topic_name, 0)[1] == 200  # reads are answered while full
    fs.free()
    assert producer.flush(30) == 0
    assert failures == []
    values = read_all(bootstrap, topic_name, 0, 400)
    assert values == [f"v{i}".encode() for i in range(400)]


def test_pipelined_produce_requests_get_their_own_answers_in_order(faulty_broker, topic_name):
    """Responses gathered for one send are corrected in place: only the failed partitions' entries change."""
    from kafka.protocol.producer import ProduceRequest, ProduceResponse

    from compat_tests.rawclient import RawClient
    from tests.helpers import simple_batch

    broker, fs = faulty_broker
    create(broker.bootstrap_servers, topic_name, partitions=2)
    topic_cls = ProduceRequest._struct.fields["topic_data"].data_class
    part_cls = ProduceRequest._struct.fields["topic_data"].array_of.fields["partition_data"].data_class
    fs.fill(prefix=broker.data_dir / f"{topic_name}-0")
    with RawClient(broker.bootstrap_servers) as client:
        frames = []
        for i in range(20):
            parts = [part_cls(version=9, index=p, records=bytes(simple_batch(1, tag=f"r{i}"))) for p in (i % 2, 1)]
            request = ProduceRequest[9](transactional_id=None, acks=1, timeout_ms=1000,
                                        topic_data=[topic_cls(version=9, name=topic_name, partition_data=parts)])
            request.with_header(correlation_id=100 + i, client_id="pipelined")
            frames.append(bytes(request.encode(version=9, header=True, framed=True)))
        client.sock.sendall(b"".join(frames))  # one write: the broker answers them in one send
        answers = []
        for i in range(20):
            (size,) = struct.unpack(">i", client._read(4))
            response = ProduceResponse.decode(client._read(size), version=9, header=True)
            assert response.header.correlation_id == 100 + i
            answers.append({p.index: (p.error_code, p.base_offset) for p in response.responses[0].partition_responses})
    offsets_1 = []
    for i, answer in enumerate(answers):
        if i % 2 == 0:
            assert answer == {0: (STORAGE_ERROR, -1), 1: (0, answer[1][1])}
            offsets_1.append(answer[1][1])
        else:  # partition 1 twice: the last one counts
            assert answer[1][0] == 0
            offsets_1.append(answer[1][1])
    assert offsets_1 == list(range(20))
    assert watermarks(broker.bootstrap_servers, topic_name, 0) == (0, 0)
    assert watermarks(broker.bootstrap_servers, topic_name, 1) == (0, 20)


def test_an_acks_0_produce_that_cannot_be_written_closes_its_connection(faulty_broker, topic_name):
    """acks=0 gets no answer, so, as in Kafka, a failed append closes the connection instead."""
    from kafka.protocol.producer import ProduceRequest

    from compat_tests.rawclient import RawClient
    from tests.helpers import simple_batch

    broker, fs = faulty_broker
    create(broker.bootstrap_servers, topic_name)
    topic_cls = ProduceRequest._struct.fields["topic_data"].data_class
    part_cls = ProduceRequest._struct.fields["topic_data"].array_of.fields["partition_data"].data_class

    def produce_acks_0(client: RawClient) -> None:
        parts = [part_cls(version=9, index=0, records=bytes(simple_batch(1)))]
        request = ProduceRequest[9](transactional_id=None, acks=0, timeout_ms=1000,
                                    topic_data=[topic_cls(version=9, name=topic_name, partition_data=parts)])
        request.with_header(correlation_id=1, client_id="acks0")
        client.sock.sendall(bytes(request.encode(version=9, header=True, framed=True)))

    with RawClient(broker.bootstrap_servers) as client:
        produce_acks_0(client)  # written: no answer, the connection stays
        client.sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            client.sock.recv(1)
        fs.fill()
        produce_acks_0(client)
        client.sock.settimeout(10)
        assert client.sock.recv(1) == b""  # closed by the broker
    assert watermarks(broker.bootstrap_servers, topic_name, 0) == (0, 1)


def test_an_idempotent_producer_started_on_a_full_disk_waits_for_its_id(faulty_broker, topic_name):
    broker, fs = faulty_broker
    create(broker.bootstrap_servers, topic_name)
    fs.fill()  # the producer id block cannot be saved: InitProducerId answers COORDINATOR_NOT_AVAILABLE
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True,
                         "retry.backoff.ms": 50})
    failures: list[KafkaError] = []
    producer.produce(topic_name, b"first", on_delivery=lambda err, _m: failures.append(err) if err else None)
    wait_for(lambda: fs.refused_writes >= 2, what="the id block refused")
    assert producer.flush(0.5) == 1  # still waiting, not failed
    fs.free()
    assert producer.flush(20) == 0
    assert failures == []
    assert read_all(broker.bootstrap_servers, topic_name, 0, 1) == [b"first"]


def test_delete_topics_on_a_full_disk_frees_space_and_stays_deleted_after_restart(tmp_path, topic_name):
    fs = FaultyFS()
    data = tmp_path / "data"
    broker = Broker(data_dir=data, fs=fs).start()
    doomed = f"{topic_name}-doomed"
    try:
        create(broker.bootstrap_servers, topic_name)
        create(broker.bootstrap_servers, doomed, partitions=2)
        producer = no_retry_producer(broker.bootstrap_servers)
        assert send(producer, topic_name, 0, [b"kept"]) == [None]
        assert send(producer, doomed, 0, [b"x" * 1000] * 5) == [None] * 5
        fs.fill()  # nothing can be written: not topics.json, not the log-start checkpoint
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        admin.delete_topics([doomed])[doomed].result(15)
        assert not (data / f"{doomed}-0").exists() and not (data / f"{doomed}-1").exists()
        assert doomed in (data / "topics.json").read_text()  # not saved yet: the tombstone holds
        assert doomed not in admin.list_topics(timeout=10).topics
        assert send(producer, topic_name, 0, [b"refused"])[0].code() == STORAGE_ERROR
        start = time.monotonic()
        broker.stop()  # shutdown on a full disk finishes
        assert time.monotonic() - start < 10
    finally:
        fs.free()
        if broker.running:
            broker.stop()
    assert not (data / ".kafkalite_cleanshutdown").exists()  # the next start recovers instead

    restarted = Broker(data_dir=data).start()
    try:
        topics = AdminClient({"bootstrap.servers": restarted.bootstrap_servers}).list_topics(timeout=10).topics
        assert doomed not in topics and topic_name in topics
        assert read_all(restarted.bootstrap_servers, topic_name, 0, 1) == [b"kept"]
        wait_for(lambda: doomed not in (data / "topics.json").read_text(), what="topics.json saved")
        assert not list(data.glob(".deleted-topic-*"))
    finally:
        restarted.stop()


def test_a_broker_stopped_and_started_on_a_full_disk_serves_reads(tmp_path, topic_name):
    fs = FaultyFS()
    data = tmp_path / "data"
    broker = Broker(data_dir=data, fs=fs).start()
    try:
        create(broker.bootstrap_servers, topic_name)
        producer = no_retry_producer(broker.bootstrap_servers)
        assert send(producer, topic_name, 0, [f"v{i}".encode() for i in range(20)]) == [None] * 20
        fs.fill()
        fs.fail_next_syncs(100)
        broker.stop()  # producer snapshot, fsyncs, marker: all refused, and it stops all the same
    finally:
        if broker.running:
            broker.stop()
    assert not (data / ".kafkalite_cleanshutdown").exists()
    broker = Broker(data_dir=data, fs=fs).start()  # still full: recovers the logs and serves reads
    try:
        assert watermarks(broker.bootstrap_servers, topic_name, 0) == (0, 20)
        assert read_all(broker.bootstrap_servers, topic_name, 0, 20) == [f"v{i}".encode() for i in range(20)]
        producer = no_retry_producer(broker.bootstrap_servers)
        assert send(producer, topic_name, 0, [b"refused"])[0].code() == STORAGE_ERROR
        fs.free()
        assert send(producer, topic_name, 0, [b"v20"]) == [None]
    finally:
        fs.free()
        broker.stop()


def test_create_topics_on_a_full_disk_creates_nothing_and_keeps_the_connection(faulty_broker, topic_name):
    broker, fs = faulty_broker
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    fs.fill()
    with pytest.raises(Exception) as raised:
        admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(15)
    assert raised.value.args[0].code() == STORAGE_ERROR
    assert topic_name not in admin.list_topics(timeout=10).topics  # same client, still answered
    assert not (broker.data_dir / f"{topic_name}-0").exists()
    fs.free()
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(15)
    assert topic_name in (broker.data_dir / "topics.json").read_text()


def test_admin_changes_on_a_full_disk_fail_whole_with_storage_error(faulty_broker, topic_name):
    broker, fs = faulty_broker
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    create(broker.bootstrap_servers, topic_name)
    fs.fill()
    with pytest.raises(Exception) as raised:
        admin.create_partitions([NewPartitions(topic_name, 3)])[topic_name].result(15)
    assert raised.value.args[0].code() == STORAGE_ERROR
    entry = ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic_name, incremental_configs=[entry])
    with pytest.raises(Exception) as raised:
        admin.incremental_alter_configs([resource])[resource].result(15)
    assert raised.value.args[0].code() == STORAGE_ERROR
    broker_entry = ConfigEntry("log.cleaner.backoff.ms", "1000", incremental_operation=AlterConfigOpType.SET)
    broker_resource = ConfigResource(ResourceType.BROKER, "1", incremental_configs=[broker_entry])
    with pytest.raises(Exception) as raised:
        admin.incremental_alter_configs([broker_resource])[broker_resource].result(15)
    assert raised.value.args[0].code() == STORAGE_ERROR
    # Nothing changed, in memory or on disk; the same client is still answered.
    assert len(admin.list_topics(timeout=10).topics[topic_name].partitions) == 1
    described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic_name)])
    configs = next(iter(described.values())).result(15)
    assert configs["retention.ms"].value == "604800000"
    fs.free()
    admin.create_partitions([NewPartitions(topic_name, 3)])[topic_name].result(15)
    admin.incremental_alter_configs([resource])[resource].result(15)
    assert len(admin.list_topics(timeout=10).topics[topic_name].partitions) == 3


def test_topics_json_is_saved_once_space_is_freed_without_a_restart(faulty_broker, topic_name):
    broker, fs = faulty_broker
    create(broker.bootstrap_servers, topic_name)
    fs.fill(prefix=broker.data_dir / "topics.json")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    admin.delete_topics([topic_name])[topic_name].result(15)
    assert topic_name in (broker.data_dir / "topics.json").read_text()
    fs.free()
    wait_for(lambda: topic_name not in (broker.data_dir / "topics.json").read_text(), what="topics.json saved")


def test_retention_and_delete_records_free_space_on_a_full_disk(faulty_broker, topic_name):
    broker, fs = faulty_broker
    bootstrap = broker.bootstrap_servers
    partition_dir = broker.data_dir / f"{topic_name}-0"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic_name, 1, 1, config={"internal.segment.bytes": "1100"})])[topic_name].result(15)
    producer = no_retry_producer(bootstrap)
    for _ in range(12):  # one batch each: a segment holds two
        assert send(producer, topic_name, 0, [b"x" * 500]) == [None]
    segments = len(list(partition_dir.glob("*.log")))
    assert segments >= 4

    fs.fill(prefix=partition_dir)
    assert send(producer, topic_name, 0, [b"refused"])[0].code() == STORAGE_ERROR
    result = admin.delete_records([TopicPartition(topic_name, 0, 4)])
    assert next(iter(result.values())).result(15).low_watermark == 4
    after_delete = len(list(partition_dir.glob("*.log")))
    assert after_delete < segments
    assert watermarks(bootstrap, topic_name, 0) == (4, 12)

    # Retention made stricter runs at once and deletes more, on the same full disk.
    entry = ConfigEntry("retention.bytes", "1200", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic_name, incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(15)
    assert len(list(partition_dir.glob("*.log"))) < after_delete
    assert watermarks(bootstrap, topic_name, 0)[0] > 4

    fs.free()
    assert send(producer, topic_name, 0, [b"again"]) == [None]
    assert watermarks(bootstrap, topic_name, 0)[1] == 13


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a tmpfs needs root")
def test_a_real_small_tmpfs_fills_and_recovers(tmp_path, topic_name):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    proc = BrokerProcess(mnt / "data")
    proc.log_path = tmp_path / "broker.log"  # not on the disk that fills
    try:
        proc.start()
        filler = f"{topic_name}-filler"
        create(proc.bootstrap, topic_name, partitions=2)
        create(proc.bootstrap, filler)
        producer = no_retry_producer(proc.bootstrap)
        assert send(producer, topic_name, 1, [b"readable"]) == [None]
        for size in (60_000, 4_000, 100):  # fill the disk through the filler topic until it refuses
            for _ in range(400):
                if send(producer, filler, 0, [b"f" * size])[0] is not None:
                    break
        errors = [err for err in send(producer, topic_name, 0, [b"y" * 20_000] * 4) if err is not None]
        assert errors and all(err.code() == STORAGE_ERROR for err in errors), errors
        assert watermarks(proc.bootstrap, topic_name, 1) == (0, 1)
        assert read_all(proc.bootstrap, topic_name, 1, 1) == [b"readable"]
        admin = AdminClient({"bootstrap.servers": proc.bootstrap})
        admin.delete_topics([filler])[filler].result(15)
        assert wait_for(lambda: send(producer, topic_name, 0, [b"after"]) == [None], what="appends resume")
        assert proc.stop(timeout=15) == 0
        assert proc.log_text().count("writing to the log directory") <= 4  # once per episode, not per request
    finally:
        if proc.alive():
            proc.kill9()
        subprocess.run(["umount", str(mnt)], check=False)


# ---- security state: ACLs, SCRAM credentials, client quotas (metadata logs) ------------------------------------

#: ACLs on; the (unauthenticated) test clients may do everything. Passed as a copy: BrokerConfig adds to it.
SECURED = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:ANONYMOUS",
}


def _acl(topic: str, principal: str = "User:alice") -> AclBinding:
    return AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, principal, "*", AclOperation.READ,
                      AclPermissionType.ALLOW)


def _topic_acls(admin: AdminClient, topic: str) -> set[str]:
    flt = AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, None, None, AclOperation.ANY,
                           AclPermissionType.ANY)
    return {acl.principal for acl in admin.describe_acls(flt, request_timeout=15).result(15)}


def _scram(admin: AdminClient, user: str) -> dict[str, int] | None:
    """mechanism name -> iterations, or None for a user without credentials."""
    try:
        desc = admin.describe_user_scram_credentials([user], request_timeout=15)[user].result(15)
    except KafkaException as exc:
        assert exc.args[0].code() == KafkaError.RESOURCE_NOT_FOUND, exc
        return None
    return {info.mechanism.name: info.iterations for info in desc.scram_credential_infos}


def _quotas(bootstrap: str, user: str) -> dict[str, float]:
    client = quota_admin(bootstrap)
    try:
        found = quota_describe(client, [("user", 0, user)])
    finally:
        client.close()
    return found[0][1] if found else {}


@pytest.mark.parametrize("sync", ["never", "always"])
def test_security_changes_on_a_full_disk_fail_with_storage_error_and_change_nothing(tmp_path, topic_name, sync):
    """CreateAcls, DeleteAcls, AlterUserScramCredentials, AlterClientQuotas on a full disk (or a failing fsync).

    Each answers KAFKA_STORAGE_ERROR for what it would have changed, changes nothing in memory or on
    disk, and keeps its connection; once space is back the same change works and survives a restart.
    """
    fs = FaultyFS()
    data = tmp_path / "data"
    broker = Broker(data_dir=data, fs=fs, fsync=sync, static_configs=dict(SECURED)).start()
    user = f"u-{uuid.uuid4().hex[:6]}"
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"secret")
    try:
        bootstrap = broker.bootstrap_servers
        admin = AdminClient({"bootstrap.servers": bootstrap})
        kept = _acl(topic_name, "User:kept")
        admin.create_acls([kept], request_timeout=15)[kept].result(15)
        logs = {name: (data / name).read_bytes() for name in ("acls.log", "scram.log", "quotas.log")}
        if sync == "always":  # the write lands, its fsync fails: each change must be cut back off
            fs.fail_next_syncs(2, prefix=data / "acls.log")
            fs.fail_next_syncs(1, prefix=data / "scram.log")
            fs.fail_next_syncs(1, prefix=data / "quotas.log")
        else:
            fs.fill()

        fresh = _acl(topic_name)
        with pytest.raises(KafkaException) as raised:
            admin.create_acls([fresh], request_timeout=15)[fresh].result(15)
        assert raised.value.args[0].code() == STORAGE_ERROR
        assert "could not be saved" in raised.value.args[0].str()
        flt = AclBindingFilter(ResourceType.TOPIC, topic_name, ResourcePatternType.LITERAL, "User:kept", None,
                               AclOperation.ANY, AclPermissionType.ANY)
        with pytest.raises(KafkaException) as raised:
            admin.delete_acls([flt], request_timeout=15)[flt].result(15)
        assert raised.value.args[0].code() == STORAGE_ERROR
        with pytest.raises(KafkaException) as raised:
            admin.alter_user_scram_credentials([upsert], request_timeout=15)[user].result(15)
        assert raised.value.args[0].code() == STORAGE_ERROR
        client = quota_admin(bootstrap)
        try:
            [(_, code, message)] = quota_alter(client, [({"user": user}, {"producer_byte_rate": 1024.0})])
        finally:
            client.close()
        assert code == STORAGE_ERROR and message is not None and "could not be saved" in message

        # Nothing changed, in memory (the same admin client is still answered) or on disk.
        assert _topic_acls(admin, topic_name) == {"User:kept"}
        assert _scram(admin, user) is None
        assert _quotas(bootstrap, user) == {}
        for name, before in logs.items():
            assert (data / name).read_bytes() == before, name

        fs.free()
        admin.create_acls([fresh], request_timeout=15)[fresh].result(15)
        assert [b.principal for b in admin.delete_acls([flt], request_timeout=15)[flt].result(15)] == ["User:kept"]
        admin.alter_user_scram_credentials([upsert], request_timeout=15)[user].result(15)
        client = quota_admin(bootstrap)
        try:
            assert quota_alter(client, [({"user": user}, {"producer_byte_rate": 1024.0})])[0][1:] == (0, None)
        finally:
            client.close()
        broker.stop()
    finally:
        fs.free()
        if broker.running:
            broker.stop()

    restarted = Broker(data_dir=data, static_configs=dict(SECURED)).start()
    try:
        admin = AdminClient({"bootstrap.servers": restarted.bootstrap_servers})
        assert _topic_acls(admin, topic_name) == {"User:alice"}
        assert _scram(admin, user) == {"SCRAM_SHA_256": 4096}
        assert _quotas(restarted.bootstrap_servers, user) == {"producer_byte_rate": 1024.0}
    finally:
        restarted.stop()


def test_security_state_survives_kill9_under_fsync_always(tmp_path, topic_name):
    """ACLs, SCRAM users and quotas acknowledged under ``--fsync always`` are there after a kill -9."""
    args = ["--fsync", "always", *(a for k, v in SECURED.items() for a in ("--override", f"{k}={v}"))]
    proc = BrokerProcess(tmp_path / "data", extra_args=args)
    user = f"u-{uuid.uuid4().hex[:6]}"
    try:
        proc.start()
        admin = AdminClient({"bootstrap.servers": proc.bootstrap})
        gone = _acl(topic_name, "User:gone")
        for acl in (_acl(topic_name), gone):
            admin.create_acls([acl], request_timeout=15)[acl].result(15)
        gone_filter = AclBindingFilter(ResourceType.TOPIC, topic_name, ResourcePatternType.LITERAL, "User:gone",
                                       None, AclOperation.ANY, AclPermissionType.ANY)
        assert len(admin.delete_acls([gone_filter], request_timeout=15)[gone_filter].result(15)) == 1
        upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 5000), b"pw")
        admin.alter_user_scram_credentials([upsert], request_timeout=15)[user].result(15)
        client = quota_admin(proc.bootstrap)
        try:
            assert quota_alter(client, [({"user": user}, {"consumer_byte_rate": 2048.0})])[0][1:] == (0, None)
        finally:
            client.close()
        proc.kill9()  # no clean shutdown: what was acknowledged is on disk
        proc.start()
        admin = AdminClient({"bootstrap.servers": proc.bootstrap})
        assert _topic_acls(admin, topic_name) == {"User:alice"}
        assert _scram(admin, user) == {"SCRAM_SHA_512": 5000}
        assert _quotas(proc.bootstrap, user) == {"consumer_byte_rate": 2048.0}
        assert proc.stop(timeout=15) == 0
    finally:
        if proc.alive():
            proc.kill9()


def test_broker_configs_json_is_private(faulty_broker):
    """broker-configs.json may hold listener passwords: only its owner reads it (0600)."""
    broker, _fs = faulty_broker
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    entry = ConfigEntry("log.cleaner.backoff.ms", "1000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.BROKER, "1", incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(15)
    assert (broker.data_dir / "broker-configs.json").stat().st_mode & 0o777 == 0o600
