"""The cluster family's runner pieces: placement relabelling, the random controller id, node control steps,
connections to one node, and scenarios that cannot run on the broker given."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from kafkalite.conformance import corpus, runner
from kafkalite.conformance.normalize import Normaliser
from kafkalite.conformance.wire import Connection


def _partition(index: int, replicas: list[int], isr: list[int], leader: int) -> dict[str, object]:
    return {"partition_index": index, "leader_id": leader, "replica_nodes": replicas, "isr_nodes": isr,
            "offline_replicas": []}


def test_placement_relabels_nodes_by_first_appearance_in_the_topic() -> None:
    # Kafka's striped placement started at node 3 here; at node 1 it would read [1,2,3],[2,3,1]: the same shape.
    topic = {"name": "t", "partitions": [_partition(1, [1, 2, 3], [1, 2, 3], 1), _partition(0, [3, 1, 2], [3, 1], 3)]}
    relabelled = runner._relabel_topic(topic)
    assert relabelled["partitions"] == [
        _partition(0, ["<n1>", "<n2>", "<n3>"], ["<n1>", "<n2>"], "<n1>"),  # type: ignore[list-item,arg-type]
        _partition(1, ["<n2>", "<n3>", "<n1>"], ["<n2>", "<n3>", "<n1>"], "<n2>"),  # type: ignore[list-item,arg-type]
    ]
    started_at_one = {"name": "t", "partitions": [_partition(0, [1, 2, 3], [1, 2], 1),
                                                  _partition(1, [2, 3, 1], [2, 3, 1], 2)]}
    assert runner._relabel_topic(started_at_one) == relabelled


def test_placement_keeps_no_leader_and_relabels_each_partition_apart_when_asked() -> None:
    topic = {"partitions": [_partition(0, [2, 3], [], -1), _partition(1, [3, 1], [3, 1], 3)]}
    each = runner._relabel_each_partition(topic)
    assert [p["replica_nodes"] for p in each["partitions"]] == [["<n1>", "<n2>"], ["<n1>", "<n2>"]]
    assert each["partitions"][0]["leader_id"] == -1


def test_controller_id_of_a_cluster_is_any_listed_broker() -> None:
    answer = {"controller_id": 2, "brokers": [{"node_id": 1}, {"node_id": 2}, {"node_id": 3}]}
    assert runner._any_broker(answer)["controller_id"] == "<a broker>"
    stopped = {"controller_id": 1, "brokers": [{"broker_id": 2}, {"broker_id": 3}]}
    assert runner._any_broker(stopped)["controller_id"] == 1  # a stopped node as controller still differs


def test_isr_membership_compares_not_its_order() -> None:
    normalise = Normaliser({})
    assert normalise({"isr_nodes": [3, 1, 2]}) == {"isr_nodes": [1, 2, 3]}
    assert normalise({"replica_nodes": [3, 1, 2]}) == {"replica_nodes": [3, 1, 2]}


class _Control:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def stop_node(self, node_id: int) -> None:
        self.calls.append(f"stop {node_id}")

    def start_node(self, node_id: int) -> None:
        self.calls.append(f"start {node_id}")


def _scenario(steps: list[dict[str, object]], nodes: int = 3) -> corpus.Scenario:
    return corpus.Scenario("cluster3", "x", "", steps, nodes=nodes)  # type: ignore[arg-type]


def test_control_steps_call_the_control_and_are_not_compared() -> None:
    control = _Control()
    transcript = runner.run(_scenario([{"stop_node": 2}, {"start_node": 2}]), "127.0.0.1:1", control=control)
    assert control.calls == ["stop 2", "start 2"]
    assert transcript == [{"step": 0, "control": "stop_node 2", "compare": False},
                          {"step": 1, "control": "start_node 2", "compare": False}]
    with pytest.raises(runner.NoNodeControl):
        runner.run(_scenario([{"stop_node": 1}]), "127.0.0.1:1")


def test_cluster_problem_names_what_is_missing() -> None:
    stops = _scenario([{"stop_node": 1}])
    assert "needs a cluster of 3 nodes; the broker lists 1" in runner.cluster_problem(stops, 1, _Control())
    assert "node control" in runner.cluster_problem(stops, 3, None)
    assert runner.cluster_problem(stops, 3, _Control()) == ""
    assert runner.cluster_problem(_scenario([], nodes=1), 1, None) == ""


def test_cluster_family_loads_as_three_nodes_with_its_setup() -> None:
    scenarios = corpus.load(["cluster3"])
    assert scenarios and all(s.nodes == 3 and s.setup.nodes == 3 for s in scenarios)
    assert scenarios[0].setup.kafkalite_args({}) == ["--brokers", "3"]
    stops = [i for i, s in enumerate(scenarios) if any("stop_node" in step for step in s.steps)]
    assert stops and stops == list(range(len(scenarios) - len(stops), len(scenarios)))  # last: the rest see 3 up


@pytest.fixture
def refused_then_listening() -> Iterator[str]:
    """A bootstrap list whose first address refuses (a stopped node) and whose second accepts."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead = closed.getsockname()[1]
    closed.close()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    yield f"127.0.0.1:{dead},127.0.0.1:{server.getsockname()[1]}"
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


def test_connection_goes_to_the_first_address_that_accepts(refused_then_listening: str) -> None:
    conn = Connection(refused_then_listening, timeout=5)
    try:
        assert conn.sock.getpeername()[1] == int(refused_then_listening.rsplit(":", 1)[1])
    finally:
        conn.close()
