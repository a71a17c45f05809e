"""The cluster admin handlers in process: reassignments, elections, the quorum, log dirs, config resources.

A ``StubReplicas`` stands in for the N-node replica manager where a test needs partitions with
several replicas or a reassignment under way; it keeps states only and records what the handlers
ask of it (the real N-node logic is replication.py's, tested there).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kafkalite.broker.handlers.alter_replica_log_dirs import handle_alter_replica_log_dirs
from kafkalite.broker.handlers.create_topics import replica_list_problem
from kafkalite.broker.handlers.describe_log_dirs import handle_describe_log_dirs
from kafkalite.broker.handlers.describe_quorum import handle_describe_quorum
from kafkalite.broker.handlers.elect_leaders import handle_elect_leaders
from kafkalite.broker.handlers.list_config_resources import handle_list_config_resources
from kafkalite.broker.handlers.partition_reassignments import (
    handle_alter_partition_reassignments,
    handle_list_partition_reassignments,
)
from kafkalite.broker.handlers.registry import RequestContext
from kafkalite.broker.log_dirs import node_log_dirs
from kafkalite.broker.nodes import Node, Nodes
from kafkalite.broker.quorum import IDLE_RECORD_MS, Quorum
from kafkalite.broker.replication import PartitionState, ReplicaManager
from kafkalite.clock import ManualClock
from kafkalite.errors import ErrorCode
from kafkalite.protocol.codec import decode_request, encode_response, message_classes
from kafkalite.protocol.header import RequestHeader


def answer(state: Any, key: int, version: int, handler: Any, **fields: Any) -> dict[str, Any]:
    """Encode as a client does, decode as the broker does, answer, and check the answer encodes."""
    request_class, _ = message_classes(key)  # type: ignore[misc]
    decoded = decode_request(key, version, bytes(request_class(version=version, **fields).encode()))
    ctx = RequestContext(state, RequestHeader(key, version, 1, "test", 0), "127.0.0.1:1")
    body = asyncio.run(handler(ctx, decoded))
    assert encode_response(key, version, body)
    return body


class StubReplicas(ReplicaManager):
    """Partition states set by the test; elect/reassign answers scripted, calls recorded."""

    def __init__(self, nodes: Nodes, cluster: Any) -> None:
        super().__init__(Nodes([Node(1, "127.0.0.1", 9001)]), cluster)  # the single-broker manager
        self.nodes = nodes
        self.states: dict[tuple[str, int], PartitionState] = {}
        self.elections: dict[tuple[str, int], tuple[ErrorCode, str | None]] = {}
        self.calls: list[tuple[str, int, Any]] = []

    def state(self, topic: str, index: int) -> PartitionState | None:
        if (topic, index) in self.states:
            return self.states[(topic, index)]
        return PartitionState([1], [1], 1) if self.cluster.partition(topic, index) is not None else None

    def elect(self, topic: str, index: int, kind: Any) -> tuple[ErrorCode, str | None]:
        self.calls.append((topic, index, kind))
        return self.elections.get((topic, index), (ErrorCode.ELECTION_NOT_NEEDED, None))

    def reassign(self, topic: str, index: int, replicas: list[int] | None) -> tuple[ErrorCode, str | None]:
        self.calls.append((topic, index, replicas))
        return ErrorCode.NONE, None


@pytest.fixture
def three(state: Any) -> StubReplicas:
    """Nodes 1..3 registered (3 stopped) and a stub replica manager on the ``state`` fixture."""
    state.nodes = Nodes([Node(i, "127.0.0.1", 9000 + i) for i in (1, 2, 3)])
    state.nodes.stop(3)
    stub = StubReplicas(state.nodes, state.cluster)
    state.replicas = stub
    return stub


# ---- reassignments ----------------------------------------------------------------------------------


def test_assignment_problems_in_kafkas_order() -> None:
    assert replica_list_problem([], {1}, None) == "The manual partition assignment includes an empty replica list."
    assert replica_list_problem([3, 9, 3], {1, 3}, None) == (
        "The manual partition assignment includes the broker 3 more than once.")
    assert replica_list_problem([9, 1], {1}, None) == (
        "The manual partition assignment includes broker 9, but no such broker is registered.")
    assert replica_list_problem([2, 1], {1, 2}, None) is None


def test_reassignment_to_a_stopped_but_registered_node_is_handed_on(state: Any, three: StubReplicas) -> None:
    body = answer(state, 45, 1, handle_alter_partition_reassignments, timeout_ms=1000,
                  allow_replication_factor_change=True, topics=[("a", [(0, [1, 3]), (1, [4])])])
    got = [(p["partition_index"], p["error_code"]) for p in body["responses"][0]["partitions"]]
    assert got == [(0, 0), (1, ErrorCode.INVALID_REPLICA_ASSIGNMENT)]
    assert three.calls == [("a", 0, [1, 3])]


def test_replication_factor_change_counts_the_original_replicas(state: Any, three: StubReplicas) -> None:
    three.states[("a", 0)] = PartitionState(replicas=[1, 2, 3], isr=[1, 2], leader=1,
                                            adding_replicas=[3], removing_replicas=[])
    body = answer(state, 45, 1, handle_alter_partition_reassignments, timeout_ms=1000,
                  allow_replication_factor_change=False, topics=[("a", [(0, [2, 3]), (1, [1, 2])])])
    got = [(p["error_code"], p["error_message"]) for p in body["responses"][0]["partitions"]]
    assert got == [(0, None), (ErrorCode.INVALID_REPLICATION_FACTOR, "The replication factor is changed from 1 to 2")]


def test_cancel_and_list_a_reassignment_in_progress(state: Any, three: StubReplicas) -> None:
    three.states[("a", 2)] = PartitionState(replicas=[3, 1, 2], isr=[1, 2], leader=1,
                                            adding_replicas=[3], removing_replicas=[2])
    listed = answer(state, 46, 0, handle_list_partition_reassignments, timeout_ms=1000, topics=None)
    assert listed["topics"] == [{"name": "a", "partitions": [
        {"partition_index": 2, "replicas": [3, 1, 2], "adding_replicas": [3], "removing_replicas": [2]}]}]
    named = answer(state, 46, 0, handle_list_partition_reassignments, timeout_ms=1000,
                   topics=[("a", [0, 2, 7]), ("missing", [0])])
    assert [p["partition_index"] for t in named["topics"] for p in t["partitions"]] == [2]
    body = answer(state, 45, 0, handle_alter_partition_reassignments, timeout_ms=1000,
                  topics=[("a", [(2, None), (0, None)])])
    got = [(p["error_code"], p["error_message"]) for p in body["responses"][0]["partitions"]]
    assert got == [(0, None), (ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, None)]
    assert three.calls == [("a", 2, None)]


# ---- elections --------------------------------------------------------------------------------------


def test_all_partitions_lists_only_the_elections_needed_with_kafkas_messages(state: Any, three: StubReplicas) -> None:
    three.elections[("a", 1)] = (ErrorCode.NONE, None)
    three.elections[("a", 2)] = (ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, "some other wording")
    body = answer(state, 43, 2, handle_elect_leaders, election_type=0, topic_partitions=None, timeout_ms=1000)
    assert body["replica_election_results"] == [
        {"topic": "a", "partition_result": [
            {"partition_id": 1, "error_code": 0, "error_message": None},
            {"partition_id": 2, "error_code": ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
             "error_message": "The preferred leader was not available."}]},
        {"topic": "b", "partition_result": []},
    ]
    assert {kind for _, _, kind in three.calls} == {"preferred"}


def test_v0_is_a_preferred_election(state: Any, three: StubReplicas) -> None:
    answer(state, 43, 0, handle_elect_leaders, topic_partitions=[("b", [0])], timeout_ms=1000)
    assert three.calls == [("b", 0, "preferred")]


# ---- the quorum -------------------------------------------------------------------------------------


def test_quorum_leader_moves_with_a_majority_and_offsets_freeze_on_stopped_voters() -> None:
    clock = ManualClock()
    nodes = Nodes([Node(i, "h", 9000 + i) for i in (1, 2, 3)])
    quorum = Quorum(nodes, clock)
    assert (quorum.leader_id, quorum.leader_epoch, quorum.high_watermark()) == (1, 1, 0)
    clock.advance(10 * IDLE_RECORD_MS)
    nodes.stop(1)
    assert (quorum.leader_id, quorum.leader_epoch) == (2, 2)
    clock.advance(4 * IDLE_RECORD_MS)
    states = {v.replica_id: v for v in quorum.voter_states()}
    assert states[1].log_end_offset == 10 and states[2].log_end_offset == 14 == quorum.high_watermark()
    assert states[1].last_fetch_timestamp == clock.now_ms() - 4 * IDLE_RECORD_MS
    nodes.stop(2, clean=False)
    assert quorum.leader_id == -1  # one voter of three: no majority
    nodes.start(1)
    assert (quorum.leader_id, quorum.leader_epoch) == (1, 3)
    nodes.start(2)
    assert (quorum.leader_id, quorum.leader_epoch) == (1, 3)


@pytest.mark.parametrize("version", [0, 1, 2])
def test_describe_quorum_versions(state: Any, version: int) -> None:
    body = answer(state, 55, version, handle_describe_quorum,
                  topics=[("__cluster_metadata", [(0,)]), ("other", [(0,)])])
    ok, unknown = body["topics"][0]["partitions"][0], body["topics"][1]["partitions"][0]
    assert ok["leader_id"] == state.config.node_id and [v["replica_id"] for v in ok["current_voters"]] == [1]
    assert unknown["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert [n["node_id"] for n in body["nodes"]] == [state.config.node_id]


# ---- log dirs and config resources ------------------------------------------------------------------


def test_log_dirs_of_the_single_broker(state: Any) -> None:
    body = answer(state, 35, 4, handle_describe_log_dirs, topics=None)
    (result,) = body["results"]
    assert result["log_dir"] == str(state.config.data_dir.resolve())
    assert [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in result["topics"]] == [
        ("a", [0, 1, 2]), ("b", [0])]
    moved = answer(state, 34, 2, handle_alter_replica_log_dirs,
                   dirs=[(result["log_dir"], [("a", [0, 5])]), ("/elsewhere", [("b", [0])])])
    assert moved["results"] == [
        {"topic_name": "a", "partitions": [{"partition_index": 0, "error_code": 0},
                                           {"partition_index": 5, "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}]},
        {"topic_name": "b", "partitions": [{"partition_index": 0, "error_code": ErrorCode.LOG_DIR_NOT_FOUND}]},
    ]


def test_a_node_hosting_no_replica_lists_its_dir_empty_and_refuses_moves(state: Any, three: StubReplicas) -> None:
    three.states[("a", 0)] = PartitionState(replicas=[2], isr=[2], leader=2)
    body = answer(state, 35, 4, handle_describe_log_dirs, topics=[("a", [0, 1])])
    # (The stub's partitions keep the single broker's logs: reported in the dir they are really in.)
    assert [p["partition_index"] for r in body["results"] for t in r["topics"] for p in t["partitions"]] == [1]
    log_dir = str(node_log_dirs(state, 1)[0])
    moved = answer(state, 34, 1, handle_alter_replica_log_dirs, dirs=[(log_dir, [("a", [0])])])
    assert moved["results"][0]["partitions"] == [{"partition_index": 0, "error_code": ErrorCode.REPLICA_NOT_AVAILABLE}]


def test_list_config_resources_order_and_refusal(state: Any) -> None:
    body = answer(state, 74, 1, handle_list_config_resources, resource_types=[2, 8, 4])
    assert [(r["resource_type"], r["resource_name"]) for r in body["config_resources"]] == [
        (8, "1"), (4, "1"), (2, "a"), (2, "b")]
    assert answer(state, 74, 0, handle_list_config_resources)["config_resources"] == []
    refused = answer(state, 74, 1, handle_list_config_resources, resource_types=[1])
    assert (refused["error_code"], refused["config_resources"]) == (ErrorCode.UNSUPPORTED_VERSION, [])
