"""reconcile() -- Kafka's CurrentAssignmentBuilder: revoke before assign, unreleased partitions,
lost responses, subscription changes, the unknown state, and the guarded transition table."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

import pytest

from kafkalite.coordinator.reconcile import (
    TRANSITIONS,
    FencedMemberEpoch,
    IllegalTransition,
    _check,
    reconcile,
)
from kafkalite.coordinator.reconcile_types import MemberAssignmentState, MemberState

T1 = uuid.UUID(int=1)
T2 = uuid.UUID(int=2)


def tp(**topics: set[int]) -> dict[uuid.UUID, frozenset[int]]:
    ids = {"t1": T1, "t2": T2}
    return {ids[name]: frozenset(ps) for name, ps in topics.items() if ps}


def free(topic_id: uuid.UUID, partition: int) -> int:
    return -1


def owned_by(owners: Mapping[tuple[uuid.UUID, int], int]) -> Callable[[uuid.UUID, int], int]:
    return lambda topic_id, partition: owners.get((topic_id, partition), -1)


def core(state: MemberAssignmentState) -> tuple[object, ...]:
    """The fields Kafka's member record has besides the per-partition assignment epochs."""
    return (state.state, state.member_epoch, state.previous_member_epoch, dict(state.assigned),
            dict(state.pending_revocation))


def stable(epoch: int, **topics: set[int]) -> MemberAssignmentState:
    return MemberAssignmentState(MemberState.STABLE, epoch, epoch - 1, tp(**topics), {})


def test_join_gets_free_partitions_at_the_target_epoch() -> None:
    new = reconcile(MemberAssignmentState(), 5, tp(t1={0, 1}), {}, free)
    assert core(new) == core(MemberAssignmentState(MemberState.STABLE, 5, 0, tp(t1={0, 1}), {}))


def test_nothing_to_do_returns_the_same_state() -> None:
    current = stable(5, t1={0, 1})
    assert reconcile(current, 5, tp(t1={0, 1}), tp(t1={0, 1}), free) is current


def test_revoke_before_assign_keeps_the_epoch_until_the_member_lets_go() -> None:
    current = stable(5, t1={0, 1})
    target = tp(t1={1, 2})
    step1 = reconcile(current, 6, target, tp(t1={0, 1}), free)
    assert step1.state == MemberState.UNREVOKED_PARTITIONS
    assert step1.member_epoch == 5 and step1.previous_member_epoch == 5  # Kafka's updateMemberEpoch(same)
    assert step1.assigned == tp(t1={1}) and step1.pending_revocation == tp(t1={0})

    # still reporting partition 0 (or not reporting at all): no progress
    assert reconcile(step1, 6, target, tp(t1={0, 1}), free) is step1
    assert reconcile(step1, 6, target, None, free) is step1

    # partition 0 gone from the owned list: the new epoch, with partition 2
    step2 = reconcile(step1, 6, target, tp(t1={1}), free)
    assert core(step2) == core(MemberAssignmentState(MemberState.STABLE, 6, 5, tp(t1={1, 2}), {}))


def test_revocation_already_done_moves_straight_on() -> None:
    """The member reports it no longer owns what must be revoked: no UNREVOKED step."""
    new = reconcile(stable(5, t1={0, 1}), 6, tp(t1={1}), tp(t1={1}), free)
    assert core(new) == core(MemberAssignmentState(MemberState.STABLE, 6, 5, tp(t1={1}), {}))


def test_partition_owned_elsewhere_is_unreleased_then_picked_up() -> None:
    owners = {(T1, 2): 5}
    step1 = reconcile(stable(5, t1={0}), 6, tp(t1={0, 1, 2}), tp(t1={0}), owned_by(owners))
    assert step1.state == MemberState.UNRELEASED_PARTITIONS
    assert step1.member_epoch == 6 and step1.assigned == tp(t1={0, 1})
    # still owned: nothing changes but the state is recomputed
    again = reconcile(step1, 6, tp(t1={0, 1, 2}), tp(t1={0, 1}), owned_by(owners))
    assert again.state == MemberState.UNRELEASED_PARTITIONS and again.assigned == tp(t1={0, 1})
    # released by its owner
    step2 = reconcile(again, 6, tp(t1={0, 1, 2}), tp(t1={0, 1}), free)
    assert step2.state == MemberState.STABLE and step2.assigned == tp(t1={0, 1, 2})


def test_unreleased_only_moves_epoch_and_waits() -> None:
    new = reconcile(stable(5, t1={0}), 6, tp(t1={0, 1}), tp(t1={0}), owned_by({(T1, 1): 6}))
    assert core(new) == core(MemberAssignmentState(MemberState.UNRELEASED_PARTITIONS, 6, 5, tp(t1={0}), {}))


def test_own_pending_revocation_is_not_unreleased() -> None:
    """A partition the member itself is revoking comes back in the target: it is not owned elsewhere."""
    current = MemberAssignmentState(MemberState.UNREVOKED_PARTITIONS, 5, 4, tp(t1={1}), tp(t1={0}))
    new = reconcile(current, 7, tp(t1={0, 1}), tp(t1={1}), owned_by({(T1, 0): 5}))
    assert core(new) == core(MemberAssignmentState(MemberState.STABLE, 7, 5, tp(t1={0, 1}), {}))


def test_lost_response_reconcile_is_idempotent_and_keeps_previous_epoch() -> None:
    """The response that moved the member to epoch 6 was lost: the member heartbeats again (with epoch 5
    and its old partitions, which the coordinator accepts as the previous epoch) and gets the same answer."""
    moved = reconcile(stable(5, t1={0}), 6, tp(t1={0, 1}), tp(t1={0}), free)
    assert moved.member_epoch == 6 and moved.previous_member_epoch == 5
    assert reconcile(moved, 6, tp(t1={0, 1}), tp(t1={0}), free) is moved


def test_target_of_an_unsubscribed_topic_counts_as_empty() -> None:
    new = reconcile(stable(5, t1={0}), 6, tp(t1={0}, t2={0}), tp(t1={0}), free, subscribed={T1})
    assert new.assigned == tp(t1={0})


def test_subscription_change_revokes_left_topics_before_the_new_target() -> None:
    current = stable(6, t1={0}, t2={1})
    new = reconcile(current, 6, tp(t1={0}, t2={1}), tp(t1={0}, t2={1}), free, subscribed={T1},
                    subscription_changed=True)
    assert core(new) == core(MemberAssignmentState(MemberState.UNREVOKED_PARTITIONS, 6, 6, tp(t1={0}), tp(t2={1})))
    # revoked: move on, still at the target epoch
    done = reconcile(new, 6, tp(t1={0}, t2={1}), tp(t1={0}), free, subscribed={T1})
    assert core(done) == core(MemberAssignmentState(MemberState.STABLE, 6, 6, tp(t1={0}), {}))


def test_subscription_change_already_revoked_just_shrinks() -> None:
    current = stable(6, t1={0}, t2={1})
    new = reconcile(current, 6, tp(t1={0}, t2={1}), tp(t1={0}), free, subscribed={T1}, subscription_changed=True)
    assert core(new) == core(MemberAssignmentState(MemberState.STABLE, 6, 6, tp(t1={0}), {}))


def test_unsubscribing_from_everything_revokes_everything() -> None:
    current = stable(6, t1={0}, t2={1})
    new = reconcile(current, 6, tp(t1={0}, t2={1}), tp(t1={0}, t2={1}), free, subscribed=set(),
                    subscription_changed=True)
    assert new.state == MemberState.UNREVOKED_PARTITIONS
    assert new.assigned == {} and new.pending_revocation == tp(t1={0}, t2={1})


def test_subscription_change_without_left_topics_changes_nothing() -> None:
    current = stable(6, t1={0})
    new = reconcile(current, 6, tp(t1={0}), tp(t1={0}), free, subscribed={T1, T2}, subscription_changed=True)
    assert new is current


def test_unknown_state_fences_a_member_holding_partitions() -> None:
    current = MemberAssignmentState(MemberState.UNKNOWN, 5, 4, tp(t1={0}), {})
    with pytest.raises(FencedMemberEpoch) as err:
        reconcile(current, 6, tp(t1={0}), tp(t1={0}), free)
    assert "unknown state" in err.value.message
    with pytest.raises(FencedMemberEpoch):
        reconcile(current, 6, tp(t1={0}), None, free)
    # with nothing owned it is reconciled from scratch at the target epoch
    new = reconcile(current, 6, tp(t1={0, 1}), {}, free)
    assert core(new) == core(MemberAssignmentState(MemberState.STABLE, 6, 5, tp(t1={0, 1}), {}))


def test_never_owned_twice_across_a_handover() -> None:
    """Two members swap a partition: the receiver gets it only once the giver has revoked it."""
    owners: dict[tuple[uuid.UUID, int], int] = {(T1, 0): 5, (T1, 1): 5}
    a, b = stable(5, t1={0, 1}), MemberAssignmentState()
    a = reconcile(a, 6, tp(t1={0}), tp(t1={0, 1}), owned_by(owners))
    b = reconcile(b, 6, tp(t1={1}), {}, owned_by(owners))
    assert a.state == MemberState.UNREVOKED_PARTITIONS and b.state == MemberState.UNRELEASED_PARTITIONS
    held_by_a = a.assigned.get(T1, frozenset()) | a.pending_revocation.get(T1, frozenset())
    assert not held_by_a & b.assigned.get(T1, frozenset())
    a = reconcile(a, 6, tp(t1={0}), tp(t1={0}), owned_by(owners))
    del owners[(T1, 1)]
    owners[(T1, 0)] = a.member_epoch
    b = reconcile(b, 6, tp(t1={1}), {}, owned_by(owners))
    assert a.assigned == tp(t1={0}) and b.assigned == tp(t1={1}) and b.state == MemberState.STABLE


def test_transition_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(MemberState)


def test_guard_rejects_illegal_results() -> None:
    before = stable(5, t1={0})
    with pytest.raises(IllegalTransition):
        _check(before, MemberAssignmentState(MemberState.UNKNOWN, 6, 5, {}, {}))
    with pytest.raises(IllegalTransition):
        _check(before, MemberAssignmentState(MemberState.UNREVOKED_PARTITIONS, 5, 5, tp(t1={0}), {}))
    with pytest.raises(IllegalTransition):
        _check(before, MemberAssignmentState(MemberState.STABLE, 6, 5, tp(t1={0}), tp(t1={0})))


def test_assignment_epochs_follow_the_partitions() -> None:
    """Kafka 4.4 keeps the epoch each partition was assigned at (OffsetCommit with an older member epoch is
    accepted for a partition assigned at or before it): kept partitions keep theirs, new ones get the
    target epoch, revoked ones keep theirs while pending."""
    first = reconcile(MemberAssignmentState(), 3, tp(t1={0, 1}), {}, free)
    assert first.assignment_epochs == {T1: {0: 3, 1: 3}}
    second = reconcile(first, 5, tp(t1={1, 2}), tp(t1={0, 1}), free)
    assert second.state == MemberState.UNREVOKED_PARTITIONS
    assert second.assignment_epochs == {T1: {1: 3, 0: 3}}
    assert second.assignment_epoch(T1, 0) == 3 and second.assignment_epoch(T1, 2) is None
    third = reconcile(second, 5, tp(t1={1, 2}), tp(t1={1}), free)
    assert third.assignment_epochs == {T1: {1: 3, 2: 5}}
    assert third.assignment_epoch(T1, 0) is None and third.assignment_epoch(T1, 2) == 5


def test_missing_assignment_epoch_reads_as_zero() -> None:
    assert stable(5, t1={0}).assignment_epoch(T1, 0) == 0
