"""The embedded ``Broker``: threaded and asyncio use, clean start/stop, real clients through it."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from kafkalite import Broker
from kafkalite.healthcheck import probe

FD_DIR = Path("/proc/self/fd")


def open_fds() -> int:
    return len(os.listdir(FD_DIR))


def settle(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``check`` until true or the deadline (threads and fds can take a moment to go)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def port_is_free(port: int) -> bool:
    """Can a server listen on ``port`` again (as a restarted broker would, with SO_REUSEADDR)?"""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


@pytest.mark.skipif(not FD_DIR.is_dir(), reason="needs /proc/self/fd")
def test_repeated_start_stop_returns_threads_and_fds_to_baseline(tmp_path: Path) -> None:
    with Broker() as warm:  # first use imports modules and may open lasting fds (e.g. /dev/urandom)
        probe("127.0.0.1", warm.port)
    threads, fds = threading.active_count(), open_fds()
    port = 0
    for i in range(5):
        broker = Broker(port=port, data_dir=tmp_path / "data", metrics_port=0 if i % 2 else None)
        broker.start()
        assert port in (0, broker.port)  # from the second round on: the same port, so it was released
        port = broker.port
        assert threading.active_count() == threads + 1
        probe("127.0.0.1", port)  # a real client connection that the broker must close on stop
        with socket.create_connection(("127.0.0.1", port)):  # and one left open by the client
            broker.stop()
        assert not broker.running
        assert port_is_free(port), f"port {port} still bound after stop"
        assert settle(lambda: threading.active_count() == threads), threading.enumerate()
        assert settle(lambda: open_fds() == fds), f"{open_fds()} fds open, baseline {fds}"
    assert (tmp_path / "data" / "meta.properties").exists()


def test_temporary_data_dir_is_removed_and_given_one_kept(tmp_path: Path) -> None:
    with Broker() as broker:
        temporary = broker.data_dir
        assert temporary.is_dir()
    assert not temporary.exists()
    with Broker(data_dir=tmp_path / "kept") as broker:
        assert broker.data_dir == tmp_path / "kept"
    assert (tmp_path / "kept" / "topics.json").exists() or (tmp_path / "kept" / "meta.properties").exists()


def test_produce_and_consume_through_the_threaded_broker() -> None:
    topic = f"emb-{uuid.uuid4().hex[:8]}"
    with Broker(num_partitions=3) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        for i in range(30):
            producer.send(topic, key=str(i).encode(), value=f"v{i}".encode())
        producer.flush(10)
        producer.close()
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap_servers,
            auto_offset_reset="earliest",
            consumer_timeout_ms=5000,
        )
        values = sorted(int(m.value[1:]) for m in consumer)
        partitions = consumer.partitions_for_topic(topic)
        consumer.close()
    assert values == list(range(30))
    assert partitions == {0, 1, 2}


def test_data_survives_a_restart_on_the_same_dir(tmp_path: Path) -> None:
    topic = "durable"
    with Broker(data_dir=tmp_path) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        producer.send(topic, b"kept").get(10)
        producer.close()
    with Broker(data_dir=tmp_path) as broker:
        consumer = KafkaConsumer(
            topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest", consumer_timeout_ms=5000
        )
        values = [m.value for m in consumer]
        consumer.close()
    assert values == [b"kept"]


def test_start_fails_loudly_on_a_busy_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        threads = threading.active_count()
        broker = Broker(port=port)
        with pytest.raises(OSError):
            broker.start()
        assert not broker.running
        assert settle(lambda: threading.active_count() == threads)


def test_not_running_broker_has_no_address() -> None:
    broker = Broker()
    with pytest.raises(RuntimeError):
        _ = broker.bootstrap_servers
    broker.stop()  # stopping a stopped broker is a no-op


def test_asyncio_broker_on_the_callers_loop() -> None:
    aiokafka = pytest.importorskip("aiokafka")

    async def scenario() -> tuple[list[bytes], str]:
        async with Broker() as broker:
            loop_threads = threading.active_count()
            producer = aiokafka.AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
            await producer.start()
            try:
                for i in range(5):
                    await producer.send_and_wait("async-topic", f"a{i}".encode())
            finally:
                await producer.stop()
            consumer = aiokafka.AIOKafkaConsumer(
                "async-topic", bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
            )
            await consumer.start()
            got: list[bytes] = []
            deadline = time.monotonic() + 15
            try:
                while len(got) < 5 and time.monotonic() < deadline:
                    for messages in (await consumer.getmany(timeout_ms=500)).values():
                        got.extend(m.value for m in messages)
            finally:
                await consumer.stop()
            assert threading.active_count() == loop_threads  # no broker thread: it runs on this loop
            bootstrap = broker.bootstrap_servers
        return got, bootstrap

    values, bootstrap = asyncio.run(scenario())
    assert values == [f"a{i}".encode() for i in range(5)]
    assert port_is_free(int(bootstrap.rsplit(":", 1)[1]))


def test_start_async_and_stop_async() -> None:
    async def scenario() -> int:
        broker = Broker()
        await broker.start_async()
        port = broker.port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x00\x00\x00\x0b\x00\x12\x00\x00\x00\x00\x00\x07\x00\x01x")
        size = int.from_bytes(await reader.readexactly(4), "big")
        body = await reader.readexactly(size)
        assert body[:4] == b"\x00\x00\x00\x07"  # correlation id echoed
        await broker.stop_async()
        assert await reader.read() == b""  # the broker closed our connection on stop
        writer.close()
        return port

    port = asyncio.run(scenario())
    assert port_is_free(port)


def test_a_failed_close_still_stops_the_broker(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The data directory removed under a running broker: stop() logs what it could not write and finishes,
    so `kafkalite serve` exits and a second stop (another SIGTERM) returns instead of waiting forever."""
    import shutil

    async def scenario() -> None:
        data = tmp_path / "gone"
        broker = Broker(data_dir=data)
        await broker.start_async()
        server = broker._running_server()
        shutil.rmtree(data)
        await asyncio.wait_for(server.stop(), 5)
        await asyncio.wait_for(server.wait_stopped(), 5)
        await asyncio.wait_for(server.stop(), 5)

    asyncio.run(scenario())
    assert "could not" in caplog.text
    assert not (tmp_path / "gone" / ".kafkalite_cleanshutdown").exists()


def test_threaded_broker_can_be_stopped_from_a_coroutine() -> None:
    broker = Broker().start()
    port = broker.port

    async def stop() -> None:
        await broker.stop_async()

    asyncio.run(stop())
    assert not broker.running
    assert port_is_free(port)


def test_two_brokers_in_one_process_under_load(tmp_path: Path) -> None:
    """Each broker has its own response buffer: concurrent traffic to both loses and garbles nothing."""
    from confluent_kafka import Consumer, Producer

    per_broker = 3_000
    with Broker(port=0, data_dir=tmp_path / "a") as first, Broker(port=0, data_dir=tmp_path / "b") as second:
        errors: list[str] = []

        def produce(bootstrap: str, topic: str) -> None:
            producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 1})

            def report(err: object, _msg: object) -> None:
                if err is not None:
                    errors.append(str(err))

            for i in range(per_broker):
                producer.produce(topic, value=f"{topic}-{i}".encode(), on_delivery=report)
                producer.poll(0)
            producer.flush(30)

        topics = {first.bootstrap_servers: f"one-{uuid.uuid4().hex[:6]}",
                  second.bootstrap_servers: f"two-{uuid.uuid4().hex[:6]}"}
        workers = [threading.Thread(target=produce, args=item) for item in topics.items()]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert errors == []
        for bootstrap, topic in topics.items():
            consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest"})
            consumer.subscribe([topic])
            seen: list[bytes] = []
            deadline = time.monotonic() + 30
            while len(seen) < per_broker and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is not None and msg.error() is None:
                    seen.append(msg.value())
            consumer.close()
            assert seen == [f"{topic}-{i}".encode() for i in range(per_broker)]
