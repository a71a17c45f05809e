"""Step features of the conformance runner that need no broker: retry conditions, own-name filters, values."""

from __future__ import annotations

from kafka.protocol.consumer import ConsumerProtocolSubscription

from kafkalite.conformance.runner import _keep_own, _should_retry
from kafkalite.conformance.wire import consumer_subscription, encode_special


def test_retry_until_no_error_and_until_values() -> None:
    assert _should_retry(None, {"error_code": 27}) is False
    assert _should_retry("no_error", {"error_code": 27}) is True
    assert _should_retry("no_error", {"error_code": 0}) is False
    assert _should_retry({"error_code": 27}, {"error_code": 0}) is True
    assert _should_retry({"error_code": 27}, {"error_code": 27}) is False
    assert _should_retry({"groups.0.group_state": "Stable"}, {"groups": [{"group_state": "Stable"}]}) is False
    assert _should_retry({"groups.0.group_state": "Stable"}, {"groups": []}) is True  # not there yet


def test_keep_own_drops_items_without_the_runs_names() -> None:
    listing = {"error_code": 0, "groups": [{"group_id": "${group}"}, {"group_id": "cf-other-run"},
                                           {"group_id": "x-${group2}"}]}
    assert _keep_own(listing, ["groups"]) == {"error_code": 0, "groups": [{"group_id": "${group}"},
                                                                          {"group_id": "x-${group2}"}]}
    nested = {"results": [{"items": [{"n": "${txn}"}, {"n": "other"}]}, {"items": [{"n": "other"}]}]}
    assert _keep_own(nested, ["results.*.items"]) == {"results": [{"items": [{"n": "${txn}"}]}, {"items": []}]}
    assert _keep_own({"groups": None}, ["groups", "absent.path"]) == {"groups": None}


def test_subscription_value_decodes_as_the_consumer_protocol() -> None:
    data = encode_special({"$subscription": ["t1", "t2"]})
    assert data == consumer_subscription(["t1", "t2"])
    decoded = ConsumerProtocolSubscription.decode(data, version=0)
    assert list(decoded.topics) == ["t1", "t2"] and decoded.user_data is None
