"""Effective settings of one KIP-848 consumer group or KIP-932 share group: the broker's
``group.consumer.*`` / ``group.share.*`` defaults, overridden by the group's own GROUP config
resource (``consumer.*`` / ``share.*``, set through IncrementalAlterConfigs). The GROUP config store
(``group_configs.py``) resolves them; coordinators and the share fetch path only read these values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConsumerGroupSettings:
    heartbeat_interval_ms: int = 5000
    session_timeout_ms: int = 45000
    assignment_interval_ms: int = 1000


@dataclass(frozen=True, slots=True)
class ShareGroupSettings:
    heartbeat_interval_ms: int = 5000
    session_timeout_ms: int = 45000
    record_lock_duration_ms: int = 30000
    delivery_count_limit: int = 5
    partition_max_record_locks: int = 2000
    auto_offset_reset: str = "latest"  # "earliest", "latest" or "by_duration:<ISO-8601>"
    isolation_level: str = "read_uncommitted"
    renew_acknowledge_enable: bool = True
