"""Step options of the conformance runner: own_names_only, key_by, retry_until values, ApiVersions decoding."""

from kafkalite.conformance import runner
from kafkalite.conformance.wire import _api_versions_body


def test_own_names_only_keeps_the_runs_topics() -> None:
    answer = {"results": [{"topics": [{"name": "cf-x-topic-1"}, {"name": "other"}, {"name": "__consumer_offsets"}]}]}
    kept = runner._own_names_only(answer, ["results", "*", "topics"], ["cf-x-topic-1"])
    assert kept == {"results": [{"topics": [{"name": "cf-x-topic-1"}]}]}
    assert answer["results"][0]["topics"][1] == {"name": "other"}  # the answer itself is not changed


def test_key_by_turns_a_keyed_list_into_a_dict() -> None:
    response = {"api_keys": [{"api_key": 18, "min_version": 0, "max_version": 4}], "results": [
        {"configs": [{"name": "retention.ms", "value": "1"}]}]}
    keyed = runner._key_by(response, ["api_keys"], "api_key")
    keyed = runner._key_by(keyed, ["results", "*", "configs"], "name")
    assert keyed == {"api_keys": {"18": {"min_version": 0, "max_version": 4}},
                     "results": [{"configs": {"retention.ms": {"value": "1"}}}]}


def test_retry_until_values() -> None:
    answer = {"results": [{"error_code": 0, "configs": [{"value": "5"}]}]}
    assert not runner._should_retry(None, answer)
    assert not runner._should_retry("no_error", answer)
    assert not runner._should_retry({"results.0.configs.0.value": "5"}, answer)
    assert runner._should_retry({"results.0.configs.0.value": "5", "results.0.configs.1.value": "5"}, answer)


def test_api_versions_error_body_at_the_version_asked() -> None:
    # INVALID_REQUEST at v3 (flexible): error, empty compact array, throttle, no tags.
    body = bytes.fromhex("002a" "01" "00000000" "00")
    decoded = _api_versions_body(body, 3)
    assert decoded.error_code == 42 and list(decoded.api_keys) == []
    # UNSUPPORTED_VERSION in v0 for a v3 request: falls back to v0.
    v0 = bytes.fromhex("0023" "00000001" "0012" "0000" "0004")
    decoded = _api_versions_body(v0, 3)
    assert decoded.error_code == 35 and [(k.api_key, k.max_version) for k in decoded.api_keys] == [(18, 4)]
