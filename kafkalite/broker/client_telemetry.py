"""Client telemetry (KIP-714): client instances, their subscriptions, and pushed metrics.

Per client instance the broker keeps what Kafka's ClientMetricsManager keeps: the assigned
instance id, the client's attributes as first seen (client id, software name and version from
its ApiVersions, source address and port), the subscription it matches (the union of the
metrics of every matching CLIENT_METRICS subscription, the shortest interval; see
client_metrics_configs.py), the subscription id (Kafka's: CRC32C of the subscribed metric names
and push interval, XOR the instance id's hash), and the timestamps that throttle requests
arriving before the push interval. A subscription change re-evaluates an instance at its next
request, with fresh timestamps, so the client gets its new subscription at once.

Kafka 4.4 advertises GetTelemetrySubscriptions (71) and PushTelemetry (72) in ApiVersions only
when a telemetry receiver plugin is configured. kafkalite's receiver is its Prometheus endpoint:
with ``--metrics-port`` the APIs are advertised and pushed metrics are decoded and kept for
/metrics (telemetry_metrics.py); without it they are answered but not advertised, and pushed
bytes are dropped, as Kafka without a plugin. Pure state: ``now_ms`` comes in with each call.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import crc32c

from kafkalite.broker.client_metrics_configs import ClientMetricsConfigs
from kafkalite.broker.telemetry_metrics import (
    CLIENT_LABELS,
    BadPayload,
    PayloadTooLarge,
    TelemetryMetrics,
    decode,
    decompress,
)
from kafkalite.errors import ErrorCode

log = logging.getLogger(__name__)

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
#: After these push errors a Get is answered even inside the push interval (the client must re-subscribe).
_GET_AFTER_ERRORS = frozenset({ErrorCode.UNKNOWN_SUBSCRIPTION_ID, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE})


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
    #: The match attributes as first seen (Kafka's ClientMetricsInstanceMetadata).
    attributes: dict[str, str | None] = field(default_factory=dict)
    #: The subscriptions' version this instance was evaluated against.
    subscription_version: int = 0
    # "Never" rather than 0: the broker's clock may start near 0, and a first request is never throttled.
    last_get_ms: int = -(2**62)
    last_push_ms: int = -(2**62)
    terminating: bool = False
    last_error: ErrorCode = ErrorCode.NONE

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

    def labels(self) -> tuple[str, ...]:
        """The client's labels on /metrics (telemetry_metrics.CLIENT_LABELS)."""
        return tuple(self.attributes.get(name) or "" for name in CLIENT_LABELS)


def kafka_uuid(value: uuid.UUID) -> str:
    """``org.apache.kafka.common.Uuid.toString()``: URL-safe base64 of the 16 bytes, unpadded.

    The form a Java client prints for its ``clientInstanceId()`` and Kafka matches ``client_instance_id`` with.
    """
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def client_attributes(instance_id: uuid.UUID, client_id: str | None, software: tuple[str, str] | None,
                      peer: str) -> dict[str, str | None]:
    """The attributes a subscription's ``match`` is checked against, as Kafka takes them from a request."""
    host, _, port = peer.rpartition(":")
    return {
        "client_instance_id": kafka_uuid(instance_id),
        "client_id": client_id,
        "client_software_name": software[0] if software else None,
        "client_software_version": software[1] if software else None,
        "client_source_address": host.strip("[]") or None,
        "client_source_port": port or None,
    }


class ClientTelemetry:
    """The broker's client instances, least recently used first, bounded like Kafka's cache."""

    def __init__(self, configs: ClientMetricsConfigs | None = None, max_instances: int = MAX_INSTANCES) -> None:
        self.max_instances = max_instances
        self.instances: OrderedDict[uuid.UUID, ClientInstance] = OrderedDict()
        self.configs = configs if configs is not None else ClientMetricsConfigs(None)
        #: The receiver (the Prometheus endpoint's store); None: pushed metrics are dropped, 71/72 not advertised.
        self.receiver: TelemetryMetrics | None = None
        #: Connection (peer) -> (software name, version) its ApiVersions named, for ``match``.
        self.software: OrderedDict[str, tuple[str, str]] = OrderedDict()
        #: Connection (peer) -> the instance last created on it, forgotten with it (as Kafka does).
        self.by_peer: dict[str, uuid.UUID] = {}

    def enable_receiver(self) -> TelemetryMetrics:
        if self.receiver is None:
            self.receiver = TelemetryMetrics()
        return self.receiver

    def client_software(self, peer: str, name: str, version: str) -> None:
        """Remember what a connection's ApiVersions (v3+) named (bounded like the instance cache)."""
        self.software[peer] = (name, version)
        self.software.move_to_end(peer)
        while len(self.software) > self.max_instances:
            self.software.popitem(last=False)

    def connection_closed(self, peer: str) -> None:
        """Forget what a closed connection told: its software, and the instance created on it."""
        self.software.pop(peer, None)
        instance_id = self.by_peer.pop(peer, None)
        if instance_id is not None:
            self.instances.pop(instance_id, None)

    def _evaluate(self, instance_id: uuid.UUID, attributes: dict[str, str | None]) -> ClientInstance:
        metrics, interval = self.configs.subscribed(attributes)
        return ClientInstance(instance_id, subscription_id(metrics, interval, instance_id), interval, metrics,
                              attributes, self.configs.version)

    def _instance(self, instance_id: uuid.UUID, client_id: str | None = None, peer: str = "") -> ClientInstance:
        instance = self.instances.get(instance_id)
        if instance is None:
            attributes = client_attributes(instance_id, client_id, self.software.get(peer), peer)
            instance = self.instances[instance_id] = self._evaluate(instance_id, attributes)
            self._created_on(peer, instance_id)
            while len(self.instances) > self.max_instances:
                self.instances.popitem(last=False)
        else:
            if instance.subscription_version < self.configs.version:
                # Re-evaluated as Kafka does: a new instance (fresh timestamps) with the first attributes.
                instance = self.instances[instance_id] = self._evaluate(instance_id, instance.attributes)
                self._created_on(peer, instance_id)
            self.instances.move_to_end(instance_id)
        return instance

    def _created_on(self, peer: str, instance_id: uuid.UUID) -> None:
        if peer:
            self.by_peer[peer] = instance_id
            if len(self.by_peer) > self.max_instances:
                del self.by_peer[next(iter(self.by_peer))]

    def _new_id(self) -> uuid.UUID:
        while True:
            candidate = uuid.uuid4()
            if candidate not in RESERVED_IDS and candidate not in self.instances:
                return candidate

    def get_subscriptions(self, instance_id: uuid.UUID | None, now_ms: int, client_id: str | None = None,
                          peer: str = "") -> dict[str, Any]:
        """The GetTelemetrySubscriptions response body."""
        if instance_id is None or instance_id == _ZERO:
            instance_id = self._new_id()
        instance = self._instance(instance_id, client_id, peer)
        if not instance.may_get(now_ms) and instance.last_error not in _GET_AFTER_ERRORS:
            # Kafka answers a Get inside the push interval with THROTTLING_QUOTA_EXCEEDED.
            return _get_error(ErrorCode.THROTTLING_QUOTA_EXCEEDED)
        instance.last_error = ErrorCode.NONE
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
             metrics: bytes | None, now_ms: int, client_id: str | None = None, peer: str = "") -> ErrorCode:
        """The PushTelemetry error code, checked in Kafka's order; the metrics go to the receiver, if any."""
        if instance_id is None or instance_id in RESERVED_IDS:
            return ErrorCode.INVALID_REQUEST
        instance = self._instance(instance_id, client_id, peer)
        error = self._check_push(instance, subscription, terminating, compression_type, metrics, now_ms)
        instance.terminating = terminating
        if error == ErrorCode.NONE and metrics and self.receiver is not None:
            error = self._receive(instance, compression_type, bytes(metrics), now_ms)
        instance.last_error = error
        return error

    def _check_push(self, instance: ClientInstance, subscription: int, terminating: bool, compression_type: int,
                    metrics: bytes | None, now_ms: int) -> ErrorCode:
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

    def _receive(self, instance: ClientInstance, compression_type: int, payload: bytes, now_ms: int) -> ErrorCode:
        """Decode and keep a push; a payload too large inflated or not OTLP is refused as Kafka's exporter does."""
        assert self.receiver is not None
        try:
            points = decode(decompress(compression_type, payload, TELEMETRY_MAX_BYTES))
        except PayloadTooLarge:
            return ErrorCode.TELEMETRY_TOO_LARGE
        except BadPayload as exc:
            log.debug("telemetry from %s not decoded: %s", instance.instance_id, exc)
            return ErrorCode.INVALID_RECORD
        self.receiver.record(instance.labels(), points, instance.push_interval_ms, now_ms)
        return ErrorCode.NONE


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
