"""Step features of the conformance runner that need no broker: retry conditions, own-name filters, values."""

from __future__ import annotations

from kafka.protocol.consumer import ConsumerProtocolSubscription

from kafkalite.conformance.runner import _own_names_only, _should_retry
from kafkalite.conformance.wire import consumer_subscription, encode_special


def test_retry_until_no_error_and_until_values() -> None:
    assert _should_retry(None, {"error_code": 27}) is False
    assert _should_retry("no_error", {"error_code": 27}) is True
    assert _should_retry("no_error", {"error_code": 0}) is False
    assert _should_retry({"error_code": 27}, {"error_code": 0}) is True
    assert _should_retry({"error_code": 27}, {"error_code": 27}) is False
    assert _should_retry({"groups.0.group_state": "Stable"}, {"groups": [{"group_state": "Stable"}]}) is False
    assert _should_retry({"groups.0.group_state": "Stable"}, {"groups": []}) is True  # not there yet
    # "#" is a length: Kafka's broker applies ACL changes after the write answered
    assert _should_retry({"resources.#": 0}, {"resources": [{"resource_name": "t"}]}) is True
    assert _should_retry({"resources.#": 0}, {"resources": []}) is False


def test_own_names_only_keeps_items_with_a_run_name_in_any_string_field() -> None:
    listing = {"error_code": 0, "groups": [{"group_id": "cf-g-1", "state": "Empty"}, {"group_id": "cf-other-run"},
                                           {"group_id": "x-cf-g2-1"}]}
    assert _own_names_only(listing, ["groups"], ["cf-g-1", "cf-g2-1"]) == {
        "error_code": 0, "groups": [{"group_id": "cf-g-1", "state": "Empty"}, {"group_id": "x-cf-g2-1"}]}
    nested = {"results": [{"items": [{"n": "cf-t-1"}, {"n": "other"}]}, {"items": [{"n": "other"}]}]}
    assert _own_names_only(nested, ["results", "*", "items"], ["cf-t-1"]) == {
        "results": [{"items": [{"n": "cf-t-1"}]}, {"items": []}]}
    assert _own_names_only({"groups": None}, ["groups"], ["x"]) == {"groups": None}


def test_subscription_value_decodes_as_the_consumer_protocol() -> None:
    data = encode_special({"$subscription": ["t1", "t2"]})
    assert data == consumer_subscription(["t1", "t2"])
    decoded = ConsumerProtocolSubscription.decode(data, version=0)
    assert list(decoded.topics) == ["t1", "t2"] and decoded.user_data is None
