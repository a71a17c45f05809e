"""ReplicaManager with several nodes: placement, replication, HW, ISR, elections, epochs, persistence.

A real BrokerState over 3 nodes (no event loop: followers copy at once after each append).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.nodes import Node, Nodes
from kafkalite.broker.replication import PlacementError, striped_placement
from kafkalite.clock import ManualClock
from kafkalite.config import BrokerConfig
from kafkalite.errors import ErrorCode
from kafkalite.records.batch import iter_headers, read_leader_epoch, validate_batches
from tests.helpers import simple_batch


def _nodes(n: int) -> Nodes:
    return Nodes([Node(i, "127.0.0.1", 9000 + i) for i in range(1, n + 1)])


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[..., BrokerState]]:
    states: list[BrokerState] = []

    def _make(n: int = 3, **props: str) -> BrokerState:
        config = BrokerConfig.from_properties({"log.dirs": str(tmp_path / "data"), **props})
        state = BrokerState(config, ManualClock(), nodes=_nodes(n))
        state.open()
        states.append(state)
        return state

    yield _make
    for state in states:
        if not state.closing:
            state.close()


def _create(state: BrokerState, name: str, assignment: list[list[int]], configs: dict[str, str] | None = None) -> None:
    state.replicas.assign(name, 0, assignment)
    state.cluster.create_topic(name, len(assignment), configs)


def _produce(state: BrokerState, topic: str, index: int, n: int = 1, tag: str = "m") -> int:
    plog = state.cluster.partition(topic, index)
    assert plog is not None
    data = simple_batch(n, tag=tag)
    result = plog.append(data, validate_batches(data))
    state.appended(topic, index, plog)
    return result.last_offset + 1


def _leo(state: BrokerState, node: int, topic: str, index: int) -> int:
    plog = state.replicas.logs.replica(node, topic, index)
    assert plog is not None
    return plog.log_end_offset


def _bytes(state: BrokerState, node: int, topic: str, index: int) -> bytes:
    plog = state.replicas.logs.replica(node, topic, index)
    assert plog is not None
    plog.flush()
    return b"".join(seg.log_path.read_bytes() for seg in plog.segments)


def test_striped_placement_spreads_leaders_and_never_repeats_a_broker() -> None:
    brokers = [(i, None, False) for i in (1, 2, 3)]
    placed = striped_placement(brokers, 6, 3, random.Random(7))
    assert all(sorted(p) == [1, 2, 3] for p in placed)
    leaders = [p[0] for p in placed]
    assert sorted(leaders) == [1, 1, 2, 2, 3, 3]
    with pytest.raises(PlacementError, match="only 3 broker"):
        striped_placement(brokers, 1, 4, random.Random(1))


def test_placement_keeps_stopped_brokers_off_the_leader_slot() -> None:
    brokers = [(1, None, False), (2, None, True), (3, None, False)]
    for p in striped_placement(brokers, 10, 2, random.Random(3)):
        assert p[0] != 2 and len(set(p)) == 2


def test_replicas_copy_the_leader_and_files_live_under_node_dirs(make_cluster, tmp_path: Path) -> None:
    state = make_cluster()
    _create(state, "t", [[1, 2, 3], [2, 3, 1]])
    end = _produce(state, "t", 0, 5)
    st = state.replicas.state("t", 0)
    assert st is not None and st.leader == 1 and st.isr == [1, 2, 3]
    assert [_leo(state, n, "t", 0) for n in (1, 2, 3)] == [end] * 3
    assert state.cluster.partition("t", 0).high_watermark == end
    assert _bytes(state, 1, "t", 0) == _bytes(state, 2, "t", 0) == _bytes(state, 3, "t", 0)
    for node in (1, 2, 3):
        assert (tmp_path / "data" / f"node-{node}" / "t-0").is_dir()
    assert not (tmp_path / "data" / "t-0").exists()
    assert state.cluster.partition("t", 1) is state.replicas.logs.replica(2, "t", 1)


def test_replication_factor_one_lives_on_one_node_only(make_cluster, tmp_path: Path) -> None:
    state = make_cluster()
    _create(state, "one", [[2]])
    assert (tmp_path / "data" / "node-2" / "one-0").is_dir()
    assert not (tmp_path / "data" / "node-1" / "one-0").exists()
    assert state.replicas.leader_problem("one", 0, 2) == ErrorCode.NONE
    assert state.replicas.leader_problem("one", 0, 1) == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_paused_follower_holds_the_high_watermark_then_leaves_the_isr(make_cluster) -> None:
    state = make_cluster()
    _create(state, "t", [[1, 2, 3]])
    _produce(state, "t", 0, 2)
    state.nodes.pause_replication(3)
    end = _produce(state, "t", 0, 3)
    plog = state.cluster.partition("t", 0)
    assert plog.high_watermark == 2 and plog.log_end_offset == end
    state.clock.advance(29_000)
    state.tick()
    assert state.replicas.state("t", 0).isr == [1, 2, 3]
    state.clock.advance(2_000)
    state.tick()
    assert state.replicas.state("t", 0).isr == [1, 2]
    assert plog.high_watermark == end
    state.nodes.resume_replication(3)
    st = state.replicas.state("t", 0)
    assert st.isr == [1, 2, 3] and _leo(state, 3, "t", 0) == end


def test_stopped_leader_moves_leadership_and_advances_epochs(make_cluster) -> None:
    state = make_cluster()
    _create(state, "t", [[1, 2, 3]])
    _produce(state, "t", 0, 4)
    before = state.replicas.state("t", 0)
    state.nodes.stop(1)
    st = state.replicas.state("t", 0)
    assert st.leader == 2 and st.isr == [2, 3]
    assert st.leader_epoch == before.leader_epoch + 1 and st.partition_epoch > before.partition_epoch
    assert state.cluster.partition("t", 0) is state.replicas.logs.replica(2, "t", 0)
    end = _produce(state, "t", 0, 2)
    assert state.cluster.partition("t", 0).high_watermark == end
    assert tuple(state.cluster.partition("t", 0).epoch_cache.entries[-1]) == (1, 4)
    data = bytes(state.cluster.partition("t", 0).read(0, 1 << 20))
    assert [(h.base_offset, read_leader_epoch(data, h.position)) for h in iter_headers(data)] == [(0, 0), (4, 1)]
    state.nodes.start(1)
    st = state.replicas.state("t", 0)
    assert st.isr == [2, 3, 1] and _leo(state, 1, "t", 0) == end
    assert _bytes(state, 1, "t", 0) == _bytes(state, 2, "t", 0)
    assert state.replicas.elect("t", 0, "preferred") == (ErrorCode.NONE, None)
    assert state.replicas.state("t", 0).leader == 1
    assert state.replicas.elect("t", 0, "preferred")[0] == ErrorCode.ELECTION_NOT_NEEDED


def test_min_isr_and_acks_all(make_cluster) -> None:
    state = make_cluster()
    _create(state, "t", [[1, 2, 3]], {"min.insync.replicas": "2"})
    assert state.replicas.min_isr_problem("t", 0) == ErrorCode.NONE
    state.nodes.stop(3)
    assert state.replicas.min_isr_problem("t", 0) == ErrorCode.NONE
    state.nodes.stop(2)
    assert state.replicas.min_isr_problem("t", 0) == ErrorCode.NOT_ENOUGH_REPLICAS

    async def run() -> ErrorCode:
        end = _produce(state, "t", 0, 1)
        return await state.replicas.wait_replicated("t", 0, end, 1000)

    assert asyncio.run(run()) == ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND


def test_acks_all_waits_for_a_paused_follower_until_it_leaves(make_cluster) -> None:
    state = make_cluster(**{"replica.lag.time.max.ms": "200"})
    _create(state, "t", [[1, 2, 3]])
    state.nodes.pause_replication(2)

    async def run() -> tuple[ErrorCode, ErrorCode]:
        end = _produce(state, "t", 0, 1)
        timed_out = await state.replicas.wait_replicated("t", 0, end, 50)
        waiting = asyncio.ensure_future(state.replicas.wait_replicated("t", 0, end, 5000))
        await asyncio.sleep(0)
        state.clock.advance(1000)
        state.tick()
        return timed_out, await waiting

    assert asyncio.run(run()) == (ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NONE)
    assert state.replicas.state("t", 0).isr == [1, 3]


def test_offline_partition_and_unclean_election_truncates_the_old_leader(make_cluster) -> None:
    state = make_cluster()
    _create(state, "clean", [[1, 2]])
    _create(state, "dirty", [[1, 2]], {"unclean.leader.election.enable": "true"})
    for topic in ("clean", "dirty"):
        _produce(state, topic, 0, 2)
    state.nodes.pause_replication(2)
    state.clock.advance(31_000)
    for topic in ("clean", "dirty"):
        _produce(state, topic, 0, 3)  # only node 1 has offsets 2..4
    state.tick()
    assert state.replicas.state("dirty", 0).isr == [1]
    state.nodes.resume_replication(2)
    state.nodes.pause_replication(2)  # (resume copied: pause again and diverge once more)
    state.clock.advance(31_000)
    for topic in ("clean", "dirty"):
        _produce(state, topic, 0, 3, tag="lost")
    state.tick()
    leo2 = _leo(state, 2, "dirty", 0)
    state.nodes.stop(1)
    clean = state.replicas.state("clean", 0)
    assert clean.leader == -1 and clean.isr == [1]
    assert state.replicas.leader_problem("clean", 0, 2) == ErrorCode.LEADER_NOT_AVAILABLE
    dirty = state.replicas.state("dirty", 0)
    assert dirty.leader == 2 and dirty.isr == [2]
    assert state.cluster.partition("dirty", 0).log_end_offset == leo2
    _produce(state, "dirty", 0, 1, tag="new")
    state.nodes.resume_replication(2)
    state.nodes.start(1)
    assert state.replicas.state("clean", 0).leader == 1
    dirty = state.replicas.state("dirty", 0)
    assert dirty.leader == 2 and dirty.isr == [2, 1]
    assert _bytes(state, 1, "dirty", 0) == _bytes(state, 2, "dirty", 0)
    assert _leo(state, 1, "dirty", 0) == leo2 + 1


def test_states_survive_a_restart(make_cluster) -> None:
    state = make_cluster()
    _create(state, "t", [[3, 1, 2]])
    _produce(state, "t", 0, 3)
    state.nodes.stop(3)
    before = state.replicas.state("t", 0)
    state.close()
    state.closing = True
    again = make_cluster()
    after = again.replicas.state("t", 0)
    assert (after.replicas, after.leader, after.leader_epoch) == (before.replicas, before.leader, before.leader_epoch)
    assert again.cluster.partition("t", 0).log_end_offset == 3
    assert [tuple(e) for e in again.cluster.partition("t", 0).epoch_cache.entries] == [(0, 0), (1, 3)]
    assert again.cluster.partition("t", 0).leader_epoch == after.leader_epoch == 1
    assert again.cluster.partition("t", 0).high_watermark == 3


def test_coordinators_spread_and_move(make_cluster) -> None:
    state = make_cluster()
    nodes = {state.replicas.coordinator_node("group", f"g{i}") for i in range(40)}
    assert nodes == {1, 2, 3}
    node = state.replicas.coordinator_node("group", "g1")
    assert state.replicas.coordinator_problem("group", "g1", node) == ErrorCode.NONE
    moved = state.replicas.move_coordinator("group", "g1")
    assert moved != node and state.replicas.coordinator_node("group", "g1") == moved
    assert state.replicas.coordinator_problem("group", "g1", node) == ErrorCode.NOT_COORDINATOR
    state.nodes.stop(moved)
    assert state.replicas.coordinator_node("group", "g1") not in (moved, -1)


def test_reassignment_adds_catches_up_then_removes(make_cluster, tmp_path: Path) -> None:
    state = make_cluster()
    _create(state, "t", [[1, 2]])
    end = _produce(state, "t", 0, 3)
    assert state.replicas.reassign("t", 0, [3, 2]) == (ErrorCode.NONE, None)
    st = state.replicas.state("t", 0)
    assert st.replicas == [3, 2] and st.adding_replicas == [] and st.leader == 3  # first of the target in the ISR
    assert _leo(state, 3, "t", 0) == end
    assert state.replicas.logs.replica(1, "t", 0) is None
    assert state.replicas.reassign("t", 0, None)[0] == ErrorCode.NO_REASSIGNMENT_IN_PROGRESS
    assert state.replicas.reassign("t", 0, [4])[0] == ErrorCode.INVALID_REPLICA_ASSIGNMENT


def test_single_broker_answers_unchanged(tmp_path: Path) -> None:
    config = BrokerConfig.from_properties({"log.dirs": str(tmp_path / "one")})
    state = BrokerState(config, ManualClock())
    state.open()
    try:
        assert not state.replicas.clustered
        state.cluster.create_topic("t", 1)
        st = state.replicas.state("t", 0)
        assert st is not None and (st.replicas, st.isr, st.leader, st.leader_epoch) == ([1], [1], 1, 0)
        assert (tmp_path / "one" / "t-0").is_dir()
    finally:
        state.close()
