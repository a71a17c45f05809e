"""Client telemetry (KIP-714) as Apache Kafka answers it with no metrics subscription configured.

Kafka 4.4 leaves GetTelemetrySubscriptions (71) and PushTelemetry (72) out of ApiVersions unless
a telemetry receiver plugin is configured, so the Java client, which asks only when the broker
advertises them, never sends them to a default broker; a request sent anyway is still answered.
This module keeps what those answers depend on, per client instance: the assigned instance id,
the subscription id (Kafka's: CRC32C of the subscribed metric names and push interval, XOR the
instance id's hash), and the timestamps that throttle requests arriving before the push interval.
Nothing is subscribed, so a client is told to push no metrics, and pushed bytes are dropped
(there is no receiver). Pure state: ``now_ms`` comes in with each call; no I/O, no asyncio.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import crc32c

from kafkalite.errors import ErrorCode

#: Kafka's defaults: ClientMetricsConfigs.DEFAULT_INTERVAL_MS and telemetry.max.bytes.
DEFAULT_PUSH_INTERVAL_MS = 300_000
TELEMETRY_MAX_BYTES = 1_048_576
#: The codecs Kafka accepts for pushed metrics, in its order: zstd, lz4, gzip, snappy.
ACCEPTED_COMPRESSION_TYPES = [4, 3, 1, 2]
#: Any codec Kafka knows (none included) is accepted in a push, not only the advertised ones.
KNOWN_COMPRESSION_TYPES = frozenset(range(5))
#: Kafka bounds its instance cache at 16k client connections per broker.
MAX_INSTANCES = 16_384

_ZERO = uuid.UUID(int=0)
_METADATA_TOPIC_ID = uuid.UUID(int=1)
RESERVED_IDS = frozenset({_ZERO, _METADATA_TOPIC_ID})


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _s64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def java_uuid_hash(value: uuid.UUID) -> int:
    """``org.apache.kafka.common.Uuid.hashCode()``: the two longs XORed, then folded to an int."""
    h = _s64(value.int >> 64) ^ _s64(value.int & 0xFFFFFFFFFFFFFFFF)
    return _s32((h >> 32) ^ h)


def subscription_id(metrics: list[str], push_interval_ms: int, instance_id: uuid.UUID) -> int:
    """Kafka's subscription id: CRC32C of ``str(set_of_metrics) + interval`` XOR the id's hash."""
    text = "[" + ", ".join(metrics) + "]" + str(push_interval_ms)
    return _s32(crc32c.crc32c(text.encode()) ^ java_uuid_hash(instance_id))


@dataclass
class ClientInstance:
    """What the broker remembers of one client instance (Kafka's ClientMetricsInstance)."""

    instance_id: uuid.UUID
    subscription_id: int
    push_interval_ms: int = DEFAULT_PUSH_INTERVAL_MS
    metrics: list[str] = field(default_factory=list)
    # "Never" rather than 0: the broker's clock may start near 0, and a first request is never throttled.
    last_get_ms: int = -(2**62)
    last_push_ms: int = -(2**62)
    terminating: bool = False

    def may_get(self, now_ms: int) -> bool:
        """A GetTelemetrySubscriptions is accepted once a push interval passed since the last request."""
        if now_ms - max(self.last_get_ms, self.last_push_ms) >= self.push_interval_ms:
            self.last_get_ms = now_ms
            return True
        return False

    def may_push(self, now_ms: int) -> bool:
        """A push right after a Get is accepted (clients jitter the interval); else one per interval."""
        accept = self.last_get_ms > self.last_push_ms or now_ms - self.last_push_ms >= self.push_interval_ms
        if accept:
            self.last_push_ms = now_ms
        return accept


class ClientTelemetry:
    """The broker's client instances, least recently used first, bounded like Kafka's cache."""

    def __init__(self, max_instances: int = MAX_INSTANCES) -> None:
        self.max_instances = max_instances
        self.instances: OrderedDict[uuid.UUID, ClientInstance] = OrderedDict()

    def _instance(self, instance_id: uuid.UUID) -> ClientInstance:
        instance = self.instances.get(instance_id)
        if instance is None:
            # No subscriptions exist: no metrics, the default interval.
            instance = ClientInstance(instance_id, subscription_id([], DEFAULT_PUSH_INTERVAL_MS, instance_id))
            self.instances[instance_id] = instance
            while len(self.instances) > self.max_instances:
                self.instances.popitem(last=False)
        else:
            self.instances.move_to_end(instance_id)
        return instance

    def _new_id(self) -> uuid.UUID:
        while True:
            candidate = uuid.uuid4()
            if candidate not in RESERVED_IDS and candidate not in self.instances:
                return candidate

    def get_subscriptions(self, instance_id: uuid.UUID | None, now_ms: int) -> dict[str, Any]:
        """The GetTelemetrySubscriptions response body."""
        if instance_id is None or instance_id == _ZERO:
            instance_id = self._new_id()
        instance = self._instance(instance_id)
        if not instance.may_get(now_ms):
            # Kafka answers a Get inside the push interval with THROTTLING_QUOTA_EXCEEDED.
            return _get_error(ErrorCode.THROTTLING_QUOTA_EXCEEDED)
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NONE,
            "client_instance_id": instance_id,
            "subscription_id": instance.subscription_id,
            "accepted_compression_types": list(ACCEPTED_COMPRESSION_TYPES),
            "push_interval_ms": instance.push_interval_ms,
            "telemetry_max_bytes": TELEMETRY_MAX_BYTES,
            "delta_temporality": True,
            "requested_metrics": list(instance.metrics),
        }

    def push(self, instance_id: uuid.UUID | None, subscription: int, terminating: bool, compression_type: int,
             metrics: bytes | None, now_ms: int) -> ErrorCode:
        """The PushTelemetry error code, checked in Kafka's order; the metrics themselves are dropped."""
        if instance_id is None or instance_id in RESERVED_IDS:
            return ErrorCode.INVALID_REQUEST
        instance = self._instance(instance_id)
        try:
            if instance.terminating:
                return ErrorCode.INVALID_REQUEST
            if not instance.may_push(now_ms) and not terminating:
                return ErrorCode.THROTTLING_QUOTA_EXCEEDED
            if subscription != instance.subscription_id:
                return ErrorCode.UNKNOWN_SUBSCRIPTION_ID
            if compression_type not in KNOWN_COMPRESSION_TYPES:
                return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
            if metrics is not None and len(metrics) > TELEMETRY_MAX_BYTES:
                return ErrorCode.TELEMETRY_TOO_LARGE
            return ErrorCode.NONE
        finally:
            instance.terminating = terminating


def _get_error(error: ErrorCode) -> dict[str, Any]:
    return {
        "throttle_time_ms": 0,
        "error_code": int(error),
        "client_instance_id": _ZERO,
        "subscription_id": 0,
        "accepted_compression_types": [],
        "push_interval_ms": 0,
        "telemetry_max_bytes": 0,
        "delta_temporality": False,
        "requested_metrics": [],
    }
