"""Injected errors in each API's own shape, at every version kafkalite answers (fault_responses.py).

Each builder is given a request naming one topic with two partitions (or two groups, keys,
topics) and must encode at every supported version, with the error in every entry.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from kafkalite.broker.fault_responses import BUILDERS, error_body
from kafkalite.broker.handlers import APIS
from kafkalite.errors import ErrorCode
from kafkalite.protocol import codec

TOPIC_ID = uuid.uuid4()


def _partition(i: int) -> SimpleNamespace:
    return SimpleNamespace(index=i, partition=i, partition_index=i)


def _request() -> SimpleNamespace:
    topic = SimpleNamespace(
        name="t", topic="t", topic_id=TOPIC_ID, partitions=[_partition(0), _partition(1)],
        partition_data=[_partition(0), _partition(1)], partition_indexes=[0, 1],
    )
    txn_topic = SimpleNamespace(name="t", partitions=[0, 1])
    return SimpleNamespace(
        topic_data=[topic], topics=[topic], session_id=7, acks=1,
        groups=[SimpleNamespace(group_id="g1", topics=None), SimpleNamespace(group_id="g2", topics=None)],
        coordinator_keys=["k1", "k2"], groups_names=["g1", "g2"], topic_names=["t", "u"],
        v3_and_below_topics=[txn_topic],
    )


def _describe_groups_request() -> SimpleNamespace:
    return SimpleNamespace(groups=["g1", "g2"])


def _cases() -> list[tuple[int, int]]:
    return [(key, version) for key in sorted(BUILDERS) for version in range(APIS[key].min_version,
                                                                             APIS[key].max_version + 1)]


def _errors(value: Any, found: list[int]) -> list[int]:
    """Every error code in a decoded response (its to_dict form), depth first."""
    if isinstance(value, (list, tuple)):
        for item in value:
            _errors(item, found)
    elif isinstance(value, dict):
        for name, child in value.items():
            if name in ("error_code", "partition_error_code") and isinstance(child, int):
                found.append(child)
            else:
                _errors(child, found)
    return found


@pytest.mark.parametrize(("api_key", "version"), _cases())
def test_error_everywhere_at_every_version(api_key: int, version: int) -> None:
    request = _describe_groups_request() if api_key == 15 else _request()
    error = ErrorCode.NOT_LEADER_OR_FOLLOWER
    body = error_body(api_key, version, request, error)
    encoded = codec.encode_response(api_key, version, body)
    response = codec.message_classes(api_key)[1].decode(encoded, version=version)  # type: ignore[index]
    codes = _errors(response.to_dict(), [])
    assert codes and set(codes) <= {int(error), 0}, codes
    assert int(error) in codes


def test_fetch_whole_request_errors_are_top_level() -> None:
    body = error_body(1, 13, _request(), ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    assert body["error_code"] == ErrorCode.FETCH_SESSION_ID_NOT_FOUND and body["responses"] == []
    body = error_body(1, 12, _request(), ErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert body["error_code"] == 0 and body["session_id"] == 7
    assert [p["error_code"] for p in body["responses"][0]["partitions"]] == [6, 6]


def test_apis_without_a_builder_use_the_top_level_code() -> None:
    assert error_body(11, 9, SimpleNamespace(), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) == {"error_code": 14}
