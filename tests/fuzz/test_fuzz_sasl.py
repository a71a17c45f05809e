"""Fuzzed SaslHandshake / SaslAuthenticate bodies on a SASL listener: each costs only its own connection.

A broker with a SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) gets a few thousand
connections, each a short script of handshake and authentication frames, valid or not, one of them
possibly mutated (see sasl_cases.py). Checked: no internal error is logged, an authenticated
bystander keeps getting answers throughout, a fresh login works at the end, and every fuzzed
connection is gone afterwards (the server's connection set is back to the bystander's).
``KAFKALITE_FUZZ_ITERATIONS`` and ``KAFKALITE_FUZZ_SEED`` work as for test_fuzz_requests.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import random
import struct
import time
from collections import Counter
from pathlib import Path

import pytest

from kafkalite.config import BrokerConfig
from kafkalite.server.app import KafkaliteServer
from tests.fuzz.harness import ErrorLog
from tests.fuzz.sasl_cases import PASSWORD, USER, SaslFuzzer, Step, authenticate, handshake

CONNECTIONS = int(os.environ.get("KAFKALITE_FUZZ_ITERATIONS", 2000))
TIMEOUT = max(120, CONNECTIONS // 40)
#: How long a fuzzed connection waits for the broker's next answer or its close.
WAIT_SECONDS = 1.0
JAAS_SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
JAAS_PLAIN = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required '
    f'user_{USER}="{PASSWORD}" user_admin="admin-secret";'
)


def served_mechanisms() -> list[str]:
    """PLAIN and OAUTHBEARER, and SCRAM where this build has it (security/scram.py, the scram branch)."""
    mechanisms = ["PLAIN", "OAUTHBEARER"]
    if importlib.util.find_spec("kafkalite.security.scram") is not None:
        mechanisms += ["SCRAM-SHA-256", "SCRAM-SHA-512"]
    return mechanisms


def sasl_config(data_dir: Path) -> BrokerConfig:
    listener = "listener.name.sasl_plaintext."
    mechanisms = served_mechanisms()
    jaas = {
        "PLAIN": JAAS_PLAIN, "SCRAM-SHA-256": JAAS_SCRAM, "SCRAM-SHA-512": JAAS_SCRAM,
        "OAUTHBEARER": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
    }
    return BrokerConfig.from_properties({
        "log.dirs": str(data_dir),
        "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": ",".join(mechanisms),
        **{f"{listener}{m.lower()}.sasl.jaas.config": jaas[m] for m in mechanisms},
        "connection.failed.authentication.delay.ms": "0",  # a fuzz run does not wait out each failed login
        **({"kafkalite.add.scram": f"SCRAM-SHA-256=[name={USER},password={PASSWORD}];"
                                   f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"}
           if "SCRAM-SHA-256" in mechanisms else {}),
    })


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


async def login(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A PLAIN login as a well-behaved client does it; raises if the broker refuses it."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(handshake(1, b"PLAIN", 1) + authenticate(1, f"\0{USER}\0{PASSWORD}".encode(), 2))
    for expected in (1, 2):
        answer = await asyncio.wait_for(_read_frame(reader), 10)
        assert struct.unpack_from(">ih", answer) == (expected, 0), answer[:32]
    return reader, writer


def metadata(correlation: int) -> bytes:
    body = struct.pack(">hhih", 3, 1, correlation, 9) + b"bystander" + struct.pack(">i", -1)
    return struct.pack(">i", len(body)) + body


async def one_connection(host: str, port: int, steps: list[Step], outcomes: Counter[str]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for step in steps:
            writer.write(step.data)
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        while True:
            try:
                await asyncio.wait_for(_read_frame(reader), WAIT_SECONDS)
            except asyncio.TimeoutError:  # before OSError: TimeoutError is one
                outcomes["left open (the client hangs up)"] += 1
                return
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                outcomes["closed by the broker"] += 1
                return
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def run(data_dir: Path, connections: int, seed: int) -> tuple[Counter[str], Counter[str], int, float]:
    server = KafkaliteServer(sasl_config(data_dir))
    await server.start()
    try:
        host, port = server.listener_addresses["SASL_PLAINTEXT"]
        bystander_reader, bystander_writer = await login(host, port)
        fuzzer = SaslFuzzer(random.Random(seed))
        outcomes: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        gate = asyncio.Semaphore(64)  # a refused login lingers ~0.5 s for the client to hang up: many at once
        started = time.monotonic()

        async def guarded(steps: list[Step]) -> None:
            async with gate:
                await one_connection(host, port, steps, outcomes)

        for batch_start in range(0, connections, 200):
            scripts = [fuzzer.script() for _ in range(min(200, connections - batch_start))]
            for script in scripts:
                kinds.update(step.kind.split("+")[-1] if "+" in step.kind else "valid-shape" for step in script)
            await asyncio.gather(*(guarded(script) for script in scripts))
            bystander_writer.write(metadata(batch_start + 10))
            answer = await asyncio.wait_for(_read_frame(bystander_reader), 10)
            assert struct.unpack_from(">i", answer)[0] == batch_start + 10, "the bystander got a wrong answer"
        elapsed = time.monotonic() - started
        _, fresh = await login(host, port)  # a new client still logs in
        fresh.close()
        deadline = time.monotonic() + 10
        while len(server.connections) > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        left = len(server.connections)
        bystander_writer.close()
        return outcomes, kinds, left, elapsed
    finally:
        await server.stop()


@pytest.mark.timeout(TIMEOUT)
def test_fuzzed_sasl_frames_cost_only_their_connection(broker_log: ErrorLog, tmp_path: Path) -> None:
    logging.getLogger("kafkalite").handlers = [broker_log]  # pytest's capture would keep every close warning
    seed = int(os.environ.get("KAFKALITE_FUZZ_SEED", "13"))
    outcomes, kinds, left, elapsed = asyncio.run(run(tmp_path / "data", CONNECTIONS, seed))
    summary = (f"{CONNECTIONS} SASL connections in {elapsed:.1f} s: {dict(outcomes)}; mutations {dict(kinds)}; "
               f"close reasons {broker_log.closes.most_common(6)}; connections left {left}")
    print(summary)
    assert not broker_log.errors, summary + "\n" + broker_log.describe()
    assert sum(outcomes.values()) == CONNECTIONS
    assert outcomes["closed by the broker"] > CONNECTIONS // 2  # most scripts end in a refused login
    assert left == 1, summary  # only the bystander: nothing of the fuzzed connections is kept
