#!/usr/bin/env python
"""CPU time of kafkalite's Produce path in one process: dispatcher, codec, handler and log append.

Usage::

    python bench/produce_path.py [--partitions 1,10,100] [--requests N] [--rounds 7]

No sockets and no client: one Produce v10 request (acks=1, each partition one batch of two
100-byte records, as librdkafka sends them) is dispatched over and over against a fresh
topic, and the write-behind flushed after each, as a connection does before answering. Time
is the thread's CPU time, so other processes on a shared machine inflate it much less than
they do the end-to-end bench; the best of ``--rounds`` rounds is the figure to compare.
kafkalite is imported as installed, or from ``PYTHONPATH``: to compare two checkouts, run it
twice with ``PYTHONPATH`` set to each one's root (the first line printed says which was used).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.dispatcher import Dispatcher
from kafkalite.config import BrokerConfig
from kafkalite.conformance.wire import build_records, build_request

TOPIC_PARTITIONS = 100


def produce_frame(partitions: int, now_ms: int) -> bytes:
    """A Produce v10 request frame (no size prefix) with one two-record batch per partition."""
    records = build_records(
        {"records": [{"value": {"$repeat": ["x", 100]}}, {"value": {"$repeat": ["y", 100]}}], "timestamp": now_ms}
    )
    body = {
        "acks": 1,
        "timeout_ms": 30000,
        "topic_data": [
            {
                "name": "t",
                "partition_data": [{"index": i, "records": {"$hex": records.hex()}} for i in range(partitions)],
            }
        ],
    }
    request = build_request("Produce", 10, body)
    request.with_header(correlation_id=1, client_id="rdkafka")
    return bytes(request.encode(header=True, framed=False))


async def measure(partitions: int, requests: int, rounds: int) -> list[float]:
    """Microseconds of thread CPU time per request, one figure per round."""
    with tempfile.TemporaryDirectory(prefix="kafkalite-produce-path-") as data_dir:
        state = BrokerState(BrokerConfig.from_properties({"log.dirs": data_dir}))
        state.open()
        try:
            state.cluster.create_topic("t", TOPIC_PARTITIONS)
            dispatcher = Dispatcher(state)
            dispatcher.warm_up()
            frame = produce_frame(partitions, int(time.time() * 1000))
            assert await dispatcher.dispatch(frame, "bench") is not None
            samples = []
            for _ in range(rounds):
                started = time.thread_time()
                for _ in range(requests):
                    await dispatcher.dispatch(frame, "bench")
                    state.write_behind.write_all()
                samples.append((time.thread_time() - started) / requests * 1e6)
            return samples
        finally:
            state.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", default="1,10,100", help="partitions per request, comma-separated")
    parser.add_argument("--requests", type=int, default=0, help="requests per round (default: about 50,000 partitions)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    import kafkalite

    print(f"kafkalite from {Path(kafkalite.__file__).parent}")
    for partitions in (int(p) for p in args.partitions.split(",")):
        if not 1 <= partitions <= TOPIC_PARTITIONS:
            parser.error(f"partitions must be 1 to {TOPIC_PARTITIONS}")
        requests = args.requests or max(50_000 // partitions, 100)
        samples = asyncio.run(measure(partitions, requests, args.rounds))
        best = min(samples)
        print(
            f"{partitions:3d} partition(s): best {best:8.1f} us/request ({best / partitions:5.2f} us/partition), "
            f"median {statistics.median(samples):8.1f} us, {requests} requests x {args.rounds} rounds"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
