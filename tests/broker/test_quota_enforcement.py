"""Quota enforcement in the dispatcher: throttle_time_ms in the response, the mute, the empty throttled fetch."""

from __future__ import annotations

import asyncio
from typing import Any

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.dispatcher import Dispatcher
from kafkalite.broker.quotas import Alteration, entity_of
from kafkalite.conformance.wire import build_records, build_request, decode_response


def frame(name: str, version: int, body: dict[str, Any], client_id: str) -> bytes:
    request = build_request(name, version, body)
    request.with_header(correlation_id=7, client_id=client_id)
    return bytes(request.encode(header=True, framed=False))


def produce(acks: int, client_id: str) -> bytes:
    records = build_records({"records": [{"value": {"$repeat": ["x", 1000]}}], "timestamp": 1})
    body = {"acks": acks, "timeout_ms": 30000,
            "topic_data": [{"name": "b", "partition_data": [{"index": 0, "records": {"$hex": records.hex()}}]}]}
    return frame("Produce", 10, body, client_id)


def fetch(client_id: str) -> bytes:
    body = {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20,
            "topics": [{"topic": "b", "partitions": [{"partition": 0, "fetch_offset": 0,
                                                      "partition_max_bytes": 1 << 20}]}]}
    return frame("Fetch", 12, body, client_id)


def set_quota(state: BrokerState, client_id: str, key: str, value: float | None) -> None:
    state.quotas.alter([Alteration(entity_of([("client-id", client_id)]), [(key, value)])], False)


def dispatch(dispatcher: Dispatcher, data: bytes) -> memoryview | None:
    return asyncio.run(dispatcher.dispatch(data, "127.0.0.1:5000"))


def test_without_quotas_nothing_is_recorded(state: BrokerState) -> None:
    dispatcher = Dispatcher(state)
    assert not state.quotas.active
    response = dispatch(dispatcher, produce(1, "free"))
    assert response is not None
    assert decode_response("Produce", 10, bytes(response[4:]))["throttle_time_ms"] == 0
    assert dispatcher.mute_ms == 0 and state.quotas._sensors == {}


def test_produce_over_its_byte_rate_is_throttled_and_muted(state: BrokerState) -> None:
    dispatcher = Dispatcher(state)
    set_quota(state, "slow", "producer_byte_rate", 10.0)
    data = produce(1, "slow")
    response = dispatch(dispatcher, data)
    assert response is not None
    # len(data) bytes at once over the 10 s minimum window, against 10 B/s: (O - T) / T * W.
    expected = round((len(data) / 10 - 10) / 10 * 10_000)
    assert decode_response("Produce", 10, bytes(response[4:]))["throttle_time_ms"] == expected
    assert dispatcher.mute_ms == expected
    # Another client id is not throttled.
    dispatcher.mute_ms = 0
    response = dispatch(dispatcher, produce(1, "other"))
    assert response is not None
    assert decode_response("Produce", 10, bytes(response[4:]))["throttle_time_ms"] == 0
    assert dispatcher.mute_ms == 0


def test_acks0_produce_over_quota_has_no_answer_but_is_muted(state: BrokerState) -> None:
    dispatcher = Dispatcher(state)
    set_quota(state, "slow", "producer_byte_rate", 10.0)
    assert dispatch(dispatcher, produce(0, "slow")) is None
    assert dispatcher.mute_ms > 0


def test_a_throttled_fetch_answers_without_data(state: BrokerState) -> None:
    dispatcher = Dispatcher(state)
    dispatch(dispatcher, produce(1, "loader"))
    state.write_behind.write_all()
    set_quota(state, "reader", "consumer_byte_rate", 10.0)
    response = dispatch(dispatcher, fetch("reader"))
    assert response is not None
    answer = decode_response("Fetch", 12, bytes(response[4:]))
    assert answer["throttle_time_ms"] > 0 and answer["responses"] == [] and answer["error_code"] == 0
    assert dispatcher.mute_ms == answer["throttle_time_ms"]
    # Without the quota the same fetch returns the record.
    set_quota(state, "reader", "consumer_byte_rate", None)
    dispatcher.mute_ms = 0
    response = dispatch(dispatcher, fetch("reader"))
    assert response is not None
    answer = decode_response("Fetch", 12, bytes(response[4:]))
    assert answer["throttle_time_ms"] == 0 and answer["responses"][0]["partitions"][0]["high_watermark"] == 1
