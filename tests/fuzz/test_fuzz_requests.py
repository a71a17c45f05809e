"""Fuzzed requests over every advertised API and version: no internal error, every client still served.

The CI run is bounded (a fixed seed and a few thousand frames, well under a minute); set
``KAFKALITE_FUZZ_ITERATIONS`` to a number of connections for a longer run, and
``KAFKALITE_FUZZ_SEED`` to try other frames. See ``harness.py`` for what is sent and checked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time

import pytest

from kafkalite.conformance.runner import advertised_versions
from kafkalite.embedded import Broker
from tests.fuzz.harness import ErrorLog, Frame, Mutator, Stats, all_seeds, fuzz, healthy_request, one_connection

CI_CONNECTIONS = 6000
CONNECTIONS = int(os.environ.get("KAFKALITE_FUZZ_ITERATIONS", CI_CONNECTIONS))
#: A long run takes about 5 ms a connection on a quiet machine; leave it ample room.
TIMEOUT = max(120, CONNECTIONS // 50)
#: How long a fuzzed connection waits for answers: a request may park (a long-poll Fetch, a JoinGroup).
TIMEOUT_SECONDS = 2.0


def only_broker_log(handler: ErrorLog) -> None:
    """Take pytest's capture handlers off the broker's logger for this test.

    pytest attaches them to non-propagating loggers too, once the test body starts, and they keep
    every record (a warning per fuzzed connection the broker closes); the fixture puts them back.
    """
    logging.getLogger("kafkalite").handlers = [handler]


#: AlterClientQuotas: a fuzzed quota for the fuzzing client would throttle, and so mute, every later
#: connection (KIP-219), turning the run into waiting; it is fuzzed on a broker of its own instead.
QUOTA_KEYS = frozenset({48, 49})


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("quotas", [False, True], ids=["all-apis", "quota-apis"])
def test_fuzzed_requests_cause_no_internal_error(broker_log: ErrorLog, tmp_path, quotas: bool) -> None:
    only_broker_log(broker_log)
    connections = CONNECTIONS // 20 if quotas else CONNECTIONS
    seed = int(os.environ.get("KAFKALITE_FUZZ_SEED", "12"))
    with Broker(data_dir=tmp_path / "data") as broker:
        host, port = broker.bootstrap_servers.rsplit(":", 1)
        advertised = advertised_versions(broker.bootstrap_servers)
        seeds = all_seeds(advertised)
        assert {(s.key, s.version) for s in seeds} == {
            (key, v) for key, (low, high) in advertised.items() for v in range(low, high + 1)
        }
        seeds = [s for s in seeds if (s.key in QUOTA_KEYS) == quotas]
        mutator = Mutator(seeds, advertised, random.Random(seed))
        stats = Stats()
        started = time.monotonic()
        asyncio.run(fuzz(host, int(port), mutator, connections, stats, timeout=TIMEOUT_SECONDS))
        elapsed = time.monotonic() - started
        answer = asyncio.run(healthy_request(host, int(port)))
        assert int.from_bytes(answer[:4], "big") == 7
    summary = (
        f"{stats.frames} frames over {stats.connections} connections in {elapsed:.1f} s: "
        f"{stats.answers} answers, {stats.closed} closed by the broker, {stats.timed_out} timed out; "
        f"internal errors: {len(broker_log.errors)}; kinds {dict(stats.kinds)}; "
        f"close reasons {broker_log.closes.most_common(8)}; "
        f"unanswered in {TIMEOUT_SECONDS} s {stats.timeouts.most_common(8)}"
    )
    print(summary)
    assert not broker_log.errors, summary + "\n" + broker_log.describe()
    assert not stats.problems, stats.problems[:10]
    assert stats.connections == connections


async def _sweep(host: str, port: int, mutator: Mutator, stats: Stats) -> dict[str, list[str]]:
    """The seeds as they are (the state the mutants name), then each nulled field on a connection of its own.

    Returns where each outcome happened.
    """
    outcomes: dict[str, list[str]] = {}
    gate = asyncio.Semaphore(8)

    async def valid(frame: Frame) -> None:
        async with gate:
            await one_connection(host, port, [frame], stats, timeout=1.0)

    await asyncio.gather(*(valid(mutator.frame(seed)) for seed in mutator.seeds))
    jobs = list(mutator.null_sweep(every_seed="KAFKALITE_FUZZ_ITERATIONS" in os.environ))

    async def one(nullable: bool, where: str, frame: Frame) -> None:
        async with gate:
            outcome = await one_connection(host, port, [frame], stats, timeout=5.0)
        outcomes.setdefault(f"{'nullable' if nullable else 'not nullable'} {outcome}", []).append(where)

    await asyncio.gather(*(one(*job) for job in jobs))
    return outcomes


@pytest.mark.timeout(TIMEOUT)
def test_every_field_nulled(broker_log: ErrorLog, tmp_path) -> None:
    """Every field of every seed request nulled in turn, at every advertised version.

    A null the schema allows is answered (the connection stays open); one it does not allow is
    rejected like any undecodable body: the connection closes, as Kafka's parser does.
    """
    only_broker_log(broker_log)
    with Broker(data_dir=tmp_path / "data") as broker:
        host, port = broker.bootstrap_servers.rsplit(":", 1)
        advertised = advertised_versions(broker.bootstrap_servers)
        mutator = Mutator(all_seeds(advertised), advertised, random.Random(0))
        stats = Stats()
        outcomes = asyncio.run(_sweep(host, int(port), mutator, stats))
        answer = asyncio.run(healthy_request(host, int(port)))
        assert int.from_bytes(answer[:4], "big") == 7
    print({k: len(v) for k, v in outcomes.items()}, broker_log.closes.most_common(5), outcomes.get("nullable closed"))
    assert not broker_log.errors, broker_log.describe()
    assert not outcomes.get("not nullable open"), outcomes.get("not nullable open")
    closed = [where for where in outcomes.get("nullable closed", []) if "acks=0" not in where]
    assert not closed, closed
    assert not outcomes.get("nullable timeout"), outcomes.get("nullable timeout")
