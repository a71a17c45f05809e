"""Broker configuration: Kafka's own names and defaults, set from flags and env vars.

Defaults follow Apache Kafka so tests written against Kafka meet the same limits, with the
two development-friendly exceptions the design guide names (initial rebalance delay 0,
minimum session timeout 1 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FSYNC_POLICIES = ("never", "interval", "always")

# Topic-level configs with their broker-level defaults (Kafka's names and values).
TOPIC_CONFIG_DEFAULTS: dict[str, str] = {
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "delete.retention.ms": "86400000",
    "file.delete.delay.ms": "60000",
    "flush.messages": "9223372036854775807",
    "flush.ms": "9223372036854775807",
    "index.interval.bytes": "4096",
    "max.compaction.lag.ms": "9223372036854775807",
    "max.message.bytes": "1048588",
    "message.timestamp.after.max.ms": "3600000",
    "message.timestamp.before.max.ms": "9223372036854775807",
    "message.timestamp.type": "CreateTime",
    "min.cleanable.dirty.ratio": "0.5",
    "min.compaction.lag.ms": "0",
    "min.insync.replicas": "1",
    "preallocate": "false",
    "retention.bytes": "-1",
    "retention.ms": "604800000",
    "segment.bytes": "1073741824",
    "segment.index.bytes": "10485760",
    "segment.jitter.ms": "0",
    "segment.ms": "604800000",
    "unclean.leader.election.enable": "false",
}


@dataclass
class BrokerConfig:
    """Everything ``kafkalite serve`` can be told; one instance per broker."""

    host: str = "127.0.0.1"
    port: int = 9092
    advertised_host: str | None = None
    advertised_port: int | None = None
    data_dir: Path = field(default_factory=lambda: Path("kafkalite-data"))
    node_id: int = 1
    auto_create_topics: bool = True
    num_partitions: int = 1
    default_replication_factor: int = 1
    message_max_bytes: int = 1048588
    socket_request_max_bytes: int = 100 * 1024 * 1024
    fsync: str = "never"
    fsync_interval_ms: int = 1000
    group_initial_rebalance_delay_ms: int = 0
    group_min_session_timeout_ms: int = 1000
    group_max_session_timeout_ms: int = 1800000
    transaction_max_timeout_ms: int = 900000
    topic_defaults: dict[str, str] = field(default_factory=lambda: dict(TOPIC_CONFIG_DEFAULTS))

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if self.fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {self.fsync!r}")
        self.topic_defaults["max.message.bytes"] = str(self.message_max_bytes)

    @property
    def advertised(self) -> tuple[str, int]:
        """The address clients are told to connect to (Metadata, FindCoordinator)."""
        host = self.advertised_host or self.host
        if host in ("0.0.0.0", "::", ""):
            host = "localhost"
        return host, self.advertised_port or self.port
