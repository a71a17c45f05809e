"""Kafka's ``CurrentAssignmentBuilder`` (4.4) as one pure function: move a consumer-group member from
its current assignment towards its target assignment, revoking before assigning.

Per topic: *kept* = assigned & target, *to revoke* = assigned - kept, *to assign* = target - kept
minus the partitions another member still owns (``owner_epoch`` != -1; a partition the member is
itself revoking does not count as owned elsewhere). Then:

- something to revoke that the member still reports owning -> UNREVOKED_PARTITIONS at its current
  epoch, assigned := kept; it stays there until a heartbeat's owned partitions no longer list them;
- else something to assign -> the target epoch, assigned := kept | to-assign, UNRELEASED_PARTITIONS if
  some target partition is still owned elsewhere, otherwise STABLE;
- else the target epoch, UNRELEASED_PARTITIONS or STABLE likewise.

A partition is therefore never owned by two members, and members a change does not touch keep their
partitions and their epoch moves on (no stop-the-world). When the member's subscription changed and
its epoch is already the target's, partitions of topics it left are revoked at once (Kafka's
``updateCurrentAssignment``). Every result is checked against ``TRANSITIONS`` and the state
invariants; a violation raises ``IllegalTransition`` (a bug, never a client error).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Set

from kafkalite.coordinator.reconcile_types import MemberAssignmentState, MemberState, TopicPartitions

#: state -> the states a reconciliation may move it to
TRANSITIONS: Mapping[MemberState, frozenset[MemberState]] = {
    MemberState.STABLE: frozenset(
        {MemberState.STABLE, MemberState.UNREVOKED_PARTITIONS, MemberState.UNRELEASED_PARTITIONS}),
    MemberState.UNREVOKED_PARTITIONS: frozenset(
        {MemberState.UNREVOKED_PARTITIONS, MemberState.STABLE, MemberState.UNRELEASED_PARTITIONS}),
    MemberState.UNRELEASED_PARTITIONS: frozenset(
        {MemberState.UNRELEASED_PARTITIONS, MemberState.STABLE, MemberState.UNREVOKED_PARTITIONS}),
    MemberState.UNKNOWN: frozenset(
        {MemberState.STABLE, MemberState.UNREVOKED_PARTITIONS, MemberState.UNRELEASED_PARTITIONS}),
}

UNKNOWN_STATE_MESSAGE = (
    "The consumer group member is in a unknown state. The member must abandon all its partitions and rejoin.")


class IllegalTransition(AssertionError):
    """A reconciliation produced a state the transition table or the invariants forbid."""


class FencedMemberEpoch(Exception):
    """The member must be fenced (FENCED_MEMBER_EPOCH, 110): it is in a state this coordinator does not
    know and still holds partitions (Kafka's ``FencedMemberEpochException``)."""

    def __init__(self, message: str = UNKNOWN_STATE_MESSAGE) -> None:
        super().__init__(message)
        self.message = message


def reconcile(
    current: MemberAssignmentState,
    target_epoch: int,
    target: TopicPartitions,
    owned: TopicPartitions | None,
    owner_epoch: Callable[[uuid.UUID, int], int],
    *,
    subscribed: Set[uuid.UUID] | None = None,
    subscription_changed: bool = False,
) -> MemberAssignmentState:
    """The member's next assignment state (``current`` itself when nothing moves).

    ``owned`` is what the heartbeat reported (None when the request left the field out: then the
    member is assumed to still own everything it was asked to revoke). ``owner_epoch(topic_id,
    partition)`` is the epoch of the member currently owning the partition, -1 when free.
    ``subscribed`` are the topic ids the member subscribes to now (names and resolved regex; an
    unresolved regex counts as no topics): target partitions of other topics are treated as not
    targeted. None means every topic is subscribed. ``subscription_changed`` says the heartbeat changed
    the subscription, so left topics are revoked even before a new target exists.
    """
    step = _Step(current, target_epoch, target, owned, owner_epoch, subscribed)
    state = current.state
    if state == MemberState.STABLE:
        if current.member_epoch != target_epoch:
            result = step.compute_next(current.member_epoch)
        elif subscription_changed:
            result = step.drop_unsubscribed(current.member_epoch)
        else:
            result = current
    elif state == MemberState.UNREVOKED_PARTITIONS:
        if step.owns_any(current.pending_revocation):
            result = step.drop_unsubscribed(current.member_epoch) if subscription_changed else current
        else:
            result = step.compute_next(current.member_epoch)
    elif state == MemberState.UNRELEASED_PARTITIONS:
        result = step.compute_next(current.member_epoch)
    else:
        if owned is None or len(owned) > 0:
            raise FencedMemberEpoch()
        result = step.compute_next(target_epoch)
    _check(current, result)
    return result


def _check(before: MemberAssignmentState, after: MemberAssignmentState) -> None:
    if after is before:
        return
    if after.state not in TRANSITIONS[before.state]:
        raise IllegalTransition(f"{before.state.name} -> {after.state.name}")
    if after.state == MemberState.UNREVOKED_PARTITIONS and not after.pending_revocation:
        raise IllegalTransition("UNREVOKED_PARTITIONS with nothing pending revocation")
    if after.state != MemberState.UNREVOKED_PARTITIONS and after.pending_revocation and (
            after.state != before.state or after.pending_revocation != before.pending_revocation):
        raise IllegalTransition(f"{after.state.name} with partitions pending revocation")
    for topic_id, partitions in after.assigned.items():
        if partitions & after.pending_revocation.get(topic_id, frozenset()):
            raise IllegalTransition(f"partitions of {topic_id} both assigned and pending revocation")


def _merge(base: Mapping[uuid.UUID, frozenset[int]], extra: Mapping[uuid.UUID, Set[int]]
           ) -> dict[uuid.UUID, frozenset[int]]:
    merged = dict(base)
    for topic_id, partitions in extra.items():
        merged[topic_id] = merged.get(topic_id, frozenset()) | partitions
    return merged


class _Step:
    """One reconciliation's inputs, and Kafka's two ways of moving the member."""

    def __init__(self, current: MemberAssignmentState, target_epoch: int, target: TopicPartitions,
                 owned: TopicPartitions | None, owner_epoch: Callable[[uuid.UUID, int], int],
                 subscribed: Set[uuid.UUID] | None) -> None:
        self.current = current
        self.target_epoch = target_epoch
        self.target = target
        self.owned = owned
        self.owner_epoch = owner_epoch
        self.subscribed = subscribed

    def is_subscribed(self, topic_id: uuid.UUID) -> bool:
        return self.subscribed is None or topic_id in self.subscribed

    def owns_any(self, pending: TopicPartitions) -> bool:
        """Does the heartbeat still report owning one of ``pending``? (Yes when it did not say.)"""
        if self.owned is None:
            return True
        return any(partitions & pending.get(topic_id, frozenset()) for topic_id, partitions in self.owned.items())

    def _epoch_of(self, topic_id: uuid.UUID, partition: int) -> int:
        """The assignment epoch of a partition the member holds (assigned or pending revocation)."""
        return self.current.assignment_epochs.get(topic_id, {}).get(partition, 0)

    def _moved(self, state: MemberState, epoch: int, assigned: TopicPartitions, pending: TopicPartitions
               ) -> MemberAssignmentState:
        # Kafka's updateMemberEpoch: the previous epoch is the epoch before this step, even when unchanged.
        # Kept partitions keep their assignment epoch, revoked ones carry theirs while pending, newly
        # assigned ones get the target epoch (even one coming back from the member's own revocation).
        current = self.current
        epochs: dict[uuid.UUID, dict[int, int]] = {}
        for topic_id, partitions in assigned.items():
            before = current.assigned.get(topic_id, frozenset())
            epochs[topic_id] = {p: self._epoch_of(topic_id, p) if p in before else self.target_epoch
                                for p in partitions}
        for topic_id, partitions in pending.items():
            epochs.setdefault(topic_id, {}).update({p: self._epoch_of(topic_id, p) for p in partitions})
        return MemberAssignmentState(state=state, member_epoch=epoch, previous_member_epoch=self.current.member_epoch,
                                     assigned=dict(assigned), pending_revocation=dict(pending),
                                     assignment_epochs=epochs)

    def drop_unsubscribed(self, epoch: int) -> MemberAssignmentState:
        """Kafka's ``updateCurrentAssignment``: strip topics the member no longer subscribes to, to be
        revoked, without computing the rest of the target."""
        current = self.current
        assigned = current.assigned
        if self.subscribed is not None and not self.subscribed and not current.pending_revocation:
            new_assigned: dict[uuid.UUID, frozenset[int]] = {}
            new_pending: dict[uuid.UUID, frozenset[int]] = dict(assigned)
        else:
            left = {t: ps for t, ps in assigned.items() if not self.is_subscribed(t)}
            new_assigned = {t: ps for t, ps in assigned.items() if t not in left}
            new_pending = _merge(current.pending_revocation, left)
        if new_assigned == dict(assigned):
            return current
        if new_pending and self.owns_any(new_pending):
            return self._moved(MemberState.UNREVOKED_PARTITIONS, epoch, new_assigned, new_pending)
        # the left topics were revoked already: shrink the assignment, keep the state
        return self._moved(current.state, epoch, new_assigned, current.pending_revocation)

    def compute_next(self, epoch: int) -> MemberAssignmentState:
        """Kafka's ``computeNextAssignment``."""
        current = self.current
        has_unreleased = False
        new_assigned: dict[uuid.UUID, frozenset[int]] = {}
        new_pending: dict[uuid.UUID, frozenset[int]] = {}
        to_assign: dict[uuid.UUID, frozenset[int]] = {}
        for topic_id in {*self.target, *current.assigned}:
            wanted = self.target.get(topic_id, frozenset()) if self.is_subscribed(topic_id) else frozenset()
            held = current.assigned.get(topic_id, frozenset())
            kept = held & wanted
            revoking = current.pending_revocation.get(topic_id, frozenset())
            free = frozenset(p for p in wanted - kept if self.owner_epoch(topic_id, p) == -1 or p in revoking)
            if free != wanted - kept:
                has_unreleased = True
            if kept:
                new_assigned[topic_id] = kept
            if held - kept:
                new_pending[topic_id] = held - kept
            if free:
                to_assign[topic_id] = free

        if new_pending and self.owns_any(new_pending):
            return self._moved(MemberState.UNREVOKED_PARTITIONS, epoch, new_assigned, new_pending)
        state = MemberState.UNRELEASED_PARTITIONS if has_unreleased else MemberState.STABLE
        return self._moved(state, self.target_epoch, _merge(new_assigned, to_assign), {})
