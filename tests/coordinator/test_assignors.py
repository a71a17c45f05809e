"""The server-side assignors on their own: balance, stickiness, co-partitioning, static member order,
heterogeneous subscriptions, share-group sharing. (Exact answers against Kafka's own classes are in
test_assignors_differential.py.)"""

from __future__ import annotations

import random
import uuid
from collections import Counter

import pytest

from kafkalite.coordinator.assignment import Assignment, MemberSpec, TopicSpec
from kafkalite.coordinator.assignors import (
    CONSUMER_ASSIGNORS,
    SHARE_ASSIGNORS,
    PartitionAssignorError,
    RangeAssignor,
    SimpleAssignor,
    UniformAssignor,
)

T1, T2, T3 = (uuid.UUID(int=i) for i in (11, 22, 33))


def topics(**counts: int) -> dict[uuid.UUID, TopicSpec]:
    ids = {"t1": T1, "t2": T2, "t3": T3}
    return {ids[n]: TopicSpec(ids[n], n, c) for n, c in counts.items()}


def member(member_id: str, *subscribed: uuid.UUID, instance: str | None = None,
           current: dict[uuid.UUID, frozenset[int]] | None = None) -> MemberSpec:
    return MemberSpec(member_id, instance, None, frozenset(subscribed), current or {})


def sizes(assignment: Assignment) -> dict[str, int]:
    return {m: sum(len(ps) for ps in a.values()) for m, a in assignment.items()}


def owners(assignment: Assignment) -> Counter[tuple[uuid.UUID, int]]:
    return Counter((t, p) for a in assignment.values() for t, ps in a.items() for p in ps)


def with_current(members: dict[str, MemberSpec], assignment: Assignment) -> dict[str, MemberSpec]:
    return {m: MemberSpec(s.member_id, s.instance_id, s.rack, s.subscribed, assignment.get(m, {}))
            for m, s in members.items()}


def test_registries() -> None:
    assert list(CONSUMER_ASSIGNORS) == ["uniform", "range"]  # Kafka's default order: uniform first
    assert list(SHARE_ASSIGNORS) == ["simple"]
    assert all(a.name == n for n, a in {**CONSUMER_ASSIGNORS, **SHARE_ASSIGNORS}.items())


@pytest.mark.parametrize("assignor", [UniformAssignor(), RangeAssignor(), SimpleAssignor()])
def test_empty_group_and_every_member_listed(assignor: UniformAssignor) -> None:
    assert assignor.assign({}, topics(t1=3)) == {}
    result = assignor.assign({"a": member("a", T1), "b": member("b"), "c": member("c", T1)}, topics(t1=1))
    assert set(result) == {"a", "b", "c"} and result["b"] == {}


def test_unknown_topic_is_an_assignor_error() -> None:
    with pytest.raises(PartitionAssignorError):
        UniformAssignor().assign({"a": member("a", T1)}, {})


@pytest.mark.parametrize("seed", range(20))
def test_uniform_homogeneous_balanced_complete_and_sticky(seed: int) -> None:
    rng = random.Random(seed)
    spec = topics(t1=rng.randint(1, 20), t2=rng.randint(1, 20))
    members = {f"m{i}": member(f"m{i}", T1, T2) for i in range(rng.randint(1, 8))}
    first = UniformAssignor().assign(members, spec)
    counts = sizes(first)
    assert max(counts.values()) - min(counts.values()) <= 1
    assert set(owners(first).values()) == {1} and len(owners(first)) == sum(s.partitions for s in spec.values())

    # a member joins: only what it takes moves
    members = with_current(members, first)
    members["new"] = member("new", T1, T2)
    second = UniformAssignor().assign(members, spec)
    moved = sum(len(ps - second[m].get(t, frozenset())) for m, a in first.items() for t, ps in a.items())
    assert moved == sizes(second)["new"]
    assert max(sizes(second).values()) - min(sizes(second).values()) <= 1

    # a member leaves: the others keep everything they had
    members = with_current(members, second)
    gone = rng.choice(sorted(members))
    del members[gone]
    third = UniformAssignor().assign(members, spec)
    for m, a in second.items():
        if m != gone:
            assert all(ps <= third[m].get(t, frozenset()) for t, ps in a.items())
    assert max(sizes(third).values()) - min(sizes(third).values()) <= 1


def test_uniform_heterogeneous_only_subscribers_and_balanced() -> None:
    members = {"a": member("a", T1), "b": member("b", T1, T2), "c": member("c", T1, T2)}
    result = UniformAssignor().assign(members, topics(t1=6, t2=6))
    for m, a in result.items():
        assert set(a) <= members[m].subscribed
    assert set(owners(result).values()) == {1} and len(owners(result)) == 12
    assert sorted(sizes(result).values()) == [4, 4, 4]


def test_uniform_heterogeneous_chain_is_balanced_per_topic_only() -> None:
    """A chain of overlapping subscriptions: Kafka 4.4's builder balances each topic among its
    subscribers, not the whole group (its class comment says so; the Java classes answer the same)."""
    members = {"a": member("a", T1), "b": member("b", T1, T2), "c": member("c", T2, T3), "d": member("d", T3)}
    result = UniformAssignor().assign(members, topics(t1=6, t2=6, t3=6))
    assert sizes(result) == {"a": 3, "b": 4, "c": 5, "d": 6}
    assert set(owners(result).values()) == {1} and len(owners(result)) == 18


def test_uniform_heterogeneous_sticky_when_a_subscription_changes() -> None:
    members = {"a": member("a", T1, T2), "b": member("b", T1, T2), "c": member("c", T1)}
    spec = topics(t1=4, t2=4)
    first = UniformAssignor().assign(members, spec)
    members = with_current(members, first)
    members["c"] = MemberSpec("c", None, None, frozenset({T1, T2}), first["c"])
    second = UniformAssignor().assign(members, spec)
    kept = sum(len(ps & second[m].get(t, frozenset())) for m, a in first.items() for t, ps in a.items())
    assert kept >= 6  # at most two of the eight partitions move to balance 3/3/2
    assert sorted(sizes(second).values()) == [2, 3, 3]


def test_range_contiguous_and_co_partitioned() -> None:
    members = {m: member(m, T1, T2) for m in ("c", "a", "b")}
    result = RangeAssignor().assign(members, topics(t1=7, t2=7))
    assert result["a"] == {T1: frozenset({0, 1, 2}), T2: frozenset({0, 1, 2})}
    assert result["b"] == {T1: frozenset({3, 4}), T2: frozenset({3, 4})}
    assert result["c"] == {T1: frozenset({5, 6}), T2: frozenset({5, 6})}


def test_range_static_members_first_by_instance_id_and_keep_ranges_across_a_bounce() -> None:
    members = {"z": member("z", T1, instance="i-2"), "y": member("y", T1, instance="i-1"), "a": member("a", T1)}
    result = RangeAssignor().assign(members, topics(t1=6))
    assert result["y"] == {T1: frozenset({0, 1})}  # i-1
    assert result["z"] == {T1: frozenset({2, 3})}  # i-2
    assert result["a"] == {T1: frozenset({4, 5})}  # dynamic members after the static ones
    # a rolling bounce: each static member rejoins under a new member id, same instance id
    bounced = {"new-z": member("new-z", T1, instance="i-2"), "new-y": member("new-y", T1, instance="i-1"),
               "a": member("a", T1)}
    again = RangeAssignor().assign(bounced, topics(t1=6))
    assert again["new-y"] == result["y"] and again["new-z"] == result["z"] and again["a"] == result["a"]


def test_range_heterogeneous_per_topic_subscribers() -> None:
    members = {"a": member("a", T1), "b": member("b", T1, T2), "c": member("c", T2)}
    result = RangeAssignor().assign(members, topics(t1=3, t2=4))
    assert result == {"a": {T1: frozenset({0, 1})}, "b": {T1: frozenset({2}), T2: frozenset({0, 1})},
                      "c": {T2: frozenset({2, 3})}}


def test_simple_more_members_than_partitions_shares_partitions() -> None:
    members = {m: member(m, T1) for m in "abcde"}
    result = SimpleAssignor().assign(members, topics(t1=2))
    assert all(sizes(result)[m] >= 1 for m in members)
    shared = owners(result)
    assert set(shared) == {(T1, 0), (T1, 1)} and sorted(shared.values()) == [3, 3]  # ceil(5/2) each


def test_simple_fewer_members_balanced_and_sticky() -> None:
    members = {m: member(m, T1, T2) for m in "ab"}
    spec = topics(t1=5, t2=4)
    first = SimpleAssignor().assign(members, spec)
    assert sorted(sizes(first).values()) == [4, 5] and set(owners(first).values()) == {1}
    members = with_current(members, first)
    members["c"] = member("c", T1, T2)
    second = SimpleAssignor().assign(members, spec)
    assert sorted(sizes(second).values()) == [3, 3, 3]
    kept = sum(len(ps & second[m].get(t, frozenset())) for m, a in first.items() for t, ps in a.items())
    assert kept == 6


def test_simple_heterogeneous_per_topic() -> None:
    members = {"a": member("a", T1), "b": member("b", T2), "c": member("c", T1, T2)}
    result = SimpleAssignor().assign(members, topics(t1=4, t2=4))
    assert set(result["a"]) == {T1} and set(result["b"]) == {T2}
    assert len(result["c"][T1]) == 2 and len(result["c"][T2]) == 2


def test_simple_only_assignable_partitions() -> None:
    members = {m: member(m, T1) for m in "ab"}
    result = SimpleAssignor().assign(members, topics(t1=4), assignable={T1: frozenset({1, 2})})
    assert set(owners(result)) == {(T1, 1), (T1, 2)}
