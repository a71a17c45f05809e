"""Internal errors the request fuzzer found, each pinned by the request that exposed it.

The classes found and fixed where they arise:

- a null in a field the schema does not let be null (most of them, in every family of handlers):
  the codec rejects it as Kafka's parser does, and the connection closes (``tests/protocol/test_codec.py``,
  and the ``nulls`` conformance family beside Kafka's recorded answers);
- the zero topic id, which the codec reads as None, in a Produce v13: the direct response encoder
  writes it back as the zero UUID (``tests/protocol/test_produce_response.py``);
- a static member replaced while its JoinGroup or SyncGroup waits: each waiting request gets its
  own API's FENCED_INSTANCE_ID answer (here);
- a ListTransactions pattern that is not a regular expression: INVALID_REGULAR_EXPRESSION, as Kafka
  answers (the ``fuzz`` conformance family);
- a request header's client id with a negative length other than -1: null, as Kafka reads it (it was
  a closed connection, not an internal error; ``nulls/header-client-id-negative-length``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kafkalite.conformance.wire import Connection
from kafkalite.embedded import Broker
from kafkalite.errors import ErrorCode

GROUP = "fz-static"


@pytest.fixture
def broker(tmp_path) -> Iterator[Broker]:
    with Broker(data_dir=tmp_path / "data") as running:
        yield running


def join(conn: Connection, instance: str, member_id: str = "") -> int:
    return conn.send("JoinGroup", 5, {
        "group_id": GROUP, "session_timeout_ms": 10000, "rebalance_timeout_ms": 10000, "member_id": member_id,
        "group_instance_id": instance, "protocol_type": "consumer",
        "protocols": [{"name": "range", "metadata": {"$hex": ""}}],
    })


def wait_for_rebalance(leader: Connection, joined: dict) -> None:
    """Heartbeat as the leader until the group rebalances (another member's JoinGroup arrived)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        leader.send("Heartbeat", 3, {"group_id": GROUP, "generation_id": joined["generation_id"],
                                     "member_id": joined["member_id"], "group_instance_id": "i1"})
        answer = leader.receive(wait=10)
        assert isinstance(answer, dict), answer
        if answer["error_code"] == ErrorCode.REBALANCE_IN_PROGRESS:
            return
        time.sleep(0.02)
    raise AssertionError("the group never started rebalancing")


def test_replaced_static_member_waiting_in_join_gets_a_join_answer(broker: Broker) -> None:
    leader, follower, replacement = (Connection(broker.bootstrap_servers) for _ in range(3))
    try:
        join(leader, "i1")
        first = leader.receive(wait=10)
        assert isinstance(first, dict) and first["error_code"] == 0
        join(follower, "i2")  # a new member: a rebalance starts, and this join waits for the leader
        wait_for_rebalance(leader, first)
        join(replacement, "i2")  # the same instance again: the waiting member is fenced
        fenced = follower.receive(wait=10)
        assert isinstance(fenced, dict), fenced  # answered, not closed by an internal error
        assert fenced["error_code"] == ErrorCode.FENCED_INSTANCE_ID
        assert not follower.closed
    finally:
        for conn in (leader, follower, replacement):
            conn.close()


def test_replaced_static_member_waiting_in_sync_gets_a_sync_answer(broker: Broker) -> None:
    leader, follower, replacement = (Connection(broker.bootstrap_servers) for _ in range(3))
    try:
        join(leader, "i1")
        first = leader.receive(wait=10)
        assert isinstance(first, dict) and first["error_code"] == 0
        join(follower, "i2")  # a rebalance: the leader joins again, then both are answered
        wait_for_rebalance(leader, first)
        join(leader, "i1", first["member_id"])
        rejoined, joined = leader.receive(wait=10), follower.receive(wait=10)
        assert isinstance(rejoined, dict) and isinstance(joined, dict)
        assert rejoined["error_code"] == joined["error_code"] == 0
        # The follower's SyncGroup waits for the leader's assignment...
        follower.send("SyncGroup", 3, {
            "group_id": GROUP, "generation_id": joined["generation_id"], "member_id": joined["member_id"],
            "group_instance_id": "i2", "assignments": [],
        })
        join(replacement, "i2")  # ...when the same instance joins again: the waiting member is fenced
        fenced = follower.receive(wait=10)
        assert isinstance(fenced, dict), fenced
        assert fenced["error_code"] == ErrorCode.FENCED_INSTANCE_ID
    finally:
        for conn in (leader, follower, replacement):
            conn.close()
