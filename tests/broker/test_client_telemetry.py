"""The client telemetry state: Kafka's subscription ids, throttling by push interval, and its bounds."""

from __future__ import annotations

import uuid

from kafkalite.broker.client_telemetry import ClientTelemetry, subscription_id
from kafkalite.errors import ErrorCode

NOW = 1_800_000_000_000
INTERVAL = 300_000


def test_subscription_id_matches_kafka() -> None:
    # Observed from Apache Kafka 4.4.0 (no subscriptions) for this assigned instance id.
    instance = uuid.UUID("a4d39383-9c0a-48d5-91ea-7d189f5cefbe")
    assert subscription_id([], INTERVAL, instance) == -492301778


def test_get_is_throttled_until_a_push_interval_passed() -> None:
    telemetry = ClientTelemetry()
    first = telemetry.get_subscriptions(None, NOW)
    instance = first["client_instance_id"]
    assert first["error_code"] == 0 and first["requested_metrics"] == []
    early = telemetry.get_subscriptions(instance, NOW + INTERVAL - 1)
    assert early["error_code"] == ErrorCode.THROTTLING_QUOTA_EXCEEDED
    later = telemetry.get_subscriptions(instance, NOW + INTERVAL)
    assert later["error_code"] == 0
    assert later["client_instance_id"] == instance
    assert later["subscription_id"] == first["subscription_id"]


def test_unknown_instance_id_is_adopted() -> None:
    # After a broker restart a client keeps its id; Kafka creates the instance again.
    telemetry = ClientTelemetry()
    instance = uuid.uuid4()
    answer = telemetry.get_subscriptions(instance, NOW)
    assert answer["error_code"] == 0 and answer["client_instance_id"] == instance


def test_push_rules_in_kafkas_order() -> None:
    telemetry = ClientTelemetry()
    first = telemetry.get_subscriptions(None, NOW)
    instance, sub = first["client_instance_id"], first["subscription_id"]
    assert telemetry.push(uuid.UUID(int=1), sub, False, 0, b"", NOW) == ErrorCode.INVALID_REQUEST  # reserved id
    assert telemetry.push(instance, sub, False, 0, b"x", NOW + 10) == ErrorCode.NONE  # right after the Get
    assert telemetry.push(instance, sub, False, 0, b"x", NOW + 20) == ErrorCode.THROTTLING_QUOTA_EXCEEDED
    later = NOW + 10 + INTERVAL
    assert telemetry.push(instance, sub + 1, False, 0, b"", later) == ErrorCode.UNKNOWN_SUBSCRIPTION_ID
    later += INTERVAL
    assert telemetry.push(instance, sub, False, 9, b"", later) == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    later += INTERVAL
    assert telemetry.push(instance, sub, False, 0, b"x" * 1_048_577, later) == ErrorCode.TELEMETRY_TOO_LARGE
    # A terminating push is accepted inside the interval; nothing is accepted after it.
    assert telemetry.push(instance, sub, True, 4, b"", later + 1) == ErrorCode.NONE
    assert telemetry.push(instance, sub, True, 4, b"", later + 2) == ErrorCode.INVALID_REQUEST


def test_instances_are_bounded_least_recently_used_first() -> None:
    telemetry = ClientTelemetry(max_instances=2)
    ids = [telemetry.get_subscriptions(None, NOW)["client_instance_id"] for _ in range(2)]
    telemetry.get_subscriptions(ids[0], NOW + INTERVAL)  # touch the first
    telemetry.get_subscriptions(None, NOW)
    assert ids[0] in telemetry.instances
    assert ids[1] not in telemetry.instances
    assert len(telemetry.instances) == 2


def test_first_push_of_an_unknown_instance_is_not_throttled_on_a_young_clock() -> None:
    """As Kafka: an instance id never handed out gets UNKNOWN_SUBSCRIPTION_ID, however early in the clock."""
    telemetry = ClientTelemetry()
    assert telemetry.push(uuid.uuid4(), 0, False, 0, b"", 1_000) == ErrorCode.UNKNOWN_SUBSCRIPTION_ID
