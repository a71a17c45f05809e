"""aiokafka against kafkalite: produce and consume through the asyncio client."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from compat_tests.brokerproc import BrokerProcess


def test_aiokafka_round_trip(broker: BrokerProcess, topic_name: str) -> None:
    async def run() -> list[tuple[bytes | None, bytes | None, int]]:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="gzip")
        await producer.start()
        try:
            for i in range(20):
                await producer.send_and_wait(topic_name, f"v{i}".encode(), key=f"k{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic_name, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        got: list[tuple[bytes | None, bytes | None, int]] = []
        try:
            async with asyncio.timeout(20):
                async for msg in consumer:
                    got.append((msg.key, msg.value, msg.offset))
                    if len(got) == 20:
                        break
        finally:
            await consumer.stop()
        return got

    got = asyncio.run(run())
    assert got == [(f"k{i}".encode(), f"v{i}".encode(), i) for i in range(20)]
