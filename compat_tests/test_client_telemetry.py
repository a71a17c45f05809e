"""Client telemetry (KIP-714) on the wire, as Apache Kafka 4.4 answers it with no receiver plugin.

Kafka then leaves GetTelemetrySubscriptions and PushTelemetry out of ApiVersions (so the Java
client never asks), yet answers them when sent. Every expectation here was observed from Kafka
4.4.0 with the same requests (``telemetry_exchange(ReferenceKafka().start().bootstrap)``).
"""

from __future__ import annotations

import uuid
from typing import Any

from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse

from compat_tests.brokerproc import BrokerProcess
from compat_tests.rawclient import RawClient
from kafkalite.broker.client_telemetry import subscription_id
from kafkalite.protocol.messages import (
    GetTelemetrySubscriptionsRequest,
    GetTelemetrySubscriptionsResponse,
    PushTelemetryRequest,
    PushTelemetryResponse,
)

ZERO = uuid.UUID(int=0)


def telemetry_exchange(bootstrap: str) -> dict[str, Any]:
    """The answers to one client's first Get, an early second Get, and a few pushes."""
    with RawClient(bootstrap) as client:
        versions = client.call(ApiVersionsRequest(version=3, client_software_name="t", client_software_version="1"),
                               ApiVersionsResponse)
        first = client.call(GetTelemetrySubscriptionsRequest(version=0, client_instance_id=ZERO),
                            GetTelemetrySubscriptionsResponse)
        again = client.call(GetTelemetrySubscriptionsRequest(version=0, client_instance_id=first.client_instance_id),
                            GetTelemetrySubscriptionsResponse)

        def push(instance: uuid.UUID, subscription: int, terminating: bool = False, codec: int = 0) -> int:
            request = PushTelemetryRequest(version=0, client_instance_id=instance, subscription_id=subscription,
                                           terminating=terminating, compression_type=codec, metrics=b"")
            return int(client.call(request, PushTelemetryResponse).error_code)

        return {
            "advertised": sorted({k.api_key for k in versions.api_keys} & {71, 72}),
            "first": first,
            "again": again,
            "push_zero_id": push(ZERO, first.subscription_id),
            "push": push(first.client_instance_id, first.subscription_id),
            "push_early": push(first.client_instance_id, first.subscription_id),
            "push_terminating_wrong_subscription": push(first.client_instance_id, first.subscription_id + 1, True),
            "push_after_terminating": push(first.client_instance_id, first.subscription_id, True),
        }


def test_telemetry_is_answered_but_not_advertised(broker: BrokerProcess) -> None:
    result = telemetry_exchange(broker.bootstrap)
    assert result["advertised"] == []
    first = result["first"]
    assert first.error_code == 0 and first.throttle_time_ms == 0
    assert first.client_instance_id not in (None, ZERO)
    assert first.subscription_id == subscription_id([], 300_000, first.client_instance_id)
    assert first.accepted_compression_types == [4, 3, 1, 2]  # zstd, lz4, gzip, snappy
    assert first.push_interval_ms == 300_000
    assert first.telemetry_max_bytes == 1_048_576
    assert first.delta_temporality is True
    assert first.requested_metrics == []  # no subscription: push nothing
    # A second Get within the push interval is throttled, with an empty body.
    assert result["again"].error_code == 89  # THROTTLING_QUOTA_EXCEEDED
    assert result["again"].client_instance_id in (None, ZERO)
    assert result["push_zero_id"] == 42  # INVALID_REQUEST
    assert result["push"] == 0  # right after a Get: accepted (and dropped: no receiver)
    assert result["push_early"] == 89
    assert result["push_terminating_wrong_subscription"] == 117  # UNKNOWN_SUBSCRIPTION_ID
    assert result["push_after_terminating"] == 42  # nothing is accepted after a terminating push
