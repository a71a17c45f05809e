"""Server-side assignors as Kafka 4.4 has them: ``uniform`` and ``range`` for KIP-848 consumer groups
(``group.consumer.assignors``), ``simple`` for KIP-932 share groups (``group.share.assignors``).

Pure and deterministic (shapes in ``assignment.py``). Each follows Kafka's builder step by step --
same quotas, same tie-breaks, same walk orders -- so that for the same members (in the same order)
and the same topics it gives the same assignment as Kafka; tests/coordinator/test_assignors_differential.py
runs Kafka's own classes on a set of cases to hold that. Where Kafka walks a Java ``HashSet``/``HashMap``
and the walk decides the outcome, ``_javahash`` replays Java's order.

Member order is the order of the ``members`` mapping (Kafka's is its group's member map order); a
member's current partitions are walked in ascending order. Every member appears in the result, with an
empty mapping when it gets nothing; topics with no partitions are left out.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Callable, Mapping

from kafkalite.coordinator._javahash import (
    JavaHashMap,
    JavaHashSet,
    collection_capacity,
    int_hash,
    sized_capacity,
    topic_partition_hash,
    uuid_hash,
    uuid_sort_key,
)
from kafkalite.coordinator.assignment import Assignment, Assignor, MemberSpec, TopicSpec

_MutableAssignment = dict[uuid.UUID, set[int]]
TopicPartition = tuple[uuid.UUID, int]


class PartitionAssignorError(Exception):
    """Kafka's ``PartitionAssignorException``: the input cannot be assigned (a member subscribes to a
    topic missing from the topic metadata, or partitions were left over)."""


def _num_partitions(topics: Mapping[uuid.UUID, TopicSpec], topic_id: uuid.UUID) -> int:
    spec = topics.get(topic_id)
    if spec is None:
        raise PartitionAssignorError(
            f"Members are subscribed to topic {topic_id} which doesn't exist in the topic metadata.")
    return spec.partitions


def _is_homogeneous(members: Mapping[str, MemberSpec]) -> bool:
    """Kafka's SubscriptionType.HOMOGENEOUS: every member subscribes to the same topics."""
    subscriptions = iter(members.values())
    first = next(subscriptions).subscribed
    return all(m.subscribed == first for m in subscriptions)


def _copy(current: Mapping[uuid.UUID, frozenset[int]]) -> _MutableAssignment:
    return {t: set(ps) for t, ps in current.items()}


def _freeze(member_ids: list[str], assignment: Mapping[str, Mapping[uuid.UUID, set[int] | frozenset[int]]]
            ) -> Assignment:
    return {m: {t: frozenset(ps) for t, ps in assignment.get(m, {}).items() if ps} for m in member_ids}


# --------------------------------------------------------------------------------------------- uniform


class UniformAssignor:
    """Kafka's ``UniformAssignor``: balance first (member sizes differ by at most one where the
    subscriptions allow), then stickiness; the homogeneous builder when every member subscribes to the
    same topics, the heterogeneous one otherwise. Racks are not used (as in Kafka 4.4)."""

    name = "uniform"

    def assign(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec]) -> Assignment:
        if not members:
            return {}
        if _is_homogeneous(members):
            return _uniform_homogeneous(members, topics)
        return _UniformHeterogeneous(members, topics).build()


def _uniform_homogeneous(members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec]) -> Assignment:
    """``UniformHomogeneousAssignmentBuilder``: a quota per member (total // members, the remainder as
    one extra for some); each keeps its owned partitions up to its quota, the rest are handed out in
    member order. A member only takes an extra slot it fills with partitions it owns, unless the
    members after it could not absorb the remainder."""
    member_ids = list(members)
    first = members[member_ids[0]].subscribed
    if not first:
        return _freeze(member_ids, {})
    # Kafka copies the subscription into a HashSet<Uuid> and walks it to list the free partitions.
    subscribed: JavaHashSet[uuid.UUID] = JavaHashSet(uuid_hash, collection_capacity(len(first)))
    for topic_id in sorted(first, key=uuid_sort_key):
        subscribed.add(topic_id)
    assigned = {(t, p) for m in members.values() for t, ps in m.current.items() for p in ps}
    unassigned: list[TopicPartition] = []
    total = 0
    for topic_id in subscribed:
        count = _num_partitions(topics, topic_id)
        unassigned.extend((topic_id, p) for p in range(count) if (topic_id, p) not in assigned)
        total += count

    member_count = len(member_ids)
    minimum_quota, extra_left = divmod(total, member_count)
    target: dict[str, _MutableAssignment] = {}
    unfilled: list[tuple[str, int]] = []
    for index, member_id in enumerate(member_ids):
        old = members[member_id].current
        new = _copy(old)
        quota, has_extra = minimum_quota, False
        if extra_left > 0:
            quota, has_extra = quota + 1, True
        for topic_id, partitions in old.items():
            if topic_id not in subscribed:
                new.pop(topic_id, None)
            elif len(partitions) <= quota:
                quota -= len(partitions)
            else:
                for partition in sorted(partitions):
                    if quota > 0:
                        quota -= 1
                        continue
                    new[topic_id].discard(partition)
                    if not new[topic_id]:
                        del new[topic_id]
                    unassigned.append((topic_id, partition))
        if quota > 0 and has_extra and member_count - index > extra_left:
            # the extra slot is still empty and enough members follow to take the remainder
            quota, has_extra = quota - 1, False
        if quota > 0:
            unfilled.append((member_id, quota))
        if has_extra:
            extra_left -= 1
        target[member_id] = new

    next_free = 0
    for member_id, quota in unfilled:
        for _ in range(quota):
            if next_free >= len(unassigned):
                break
            topic_id, partition = unassigned[next_free]
            next_free += 1
            target[member_id].setdefault(topic_id, set()).add(partition)
    if next_free < len(unassigned):
        raise PartitionAssignorError("Partitions were left unassigned")
    return _freeze(member_ids, target)


class _MemberAssignmentBalancer:
    """Kafka's ``MemberAssignmentBalancer``: walks the least loaded members upwards and the most loaded
    ones downwards (members sorted by current size, then index), level by level."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes
        self.sorted: list[int] = []
        self.least_end = 0
        self.least_count = -1
        self.next_least = 0
        self.most_start = 0
        self.most_end = 0
        self.most_count = 1
        self.next_most = -1

    def initialize(self, members: list[int]) -> int:
        sizes = self.sizes
        self.sorted = sorted(members, key=lambda i: (sizes[i], i))
        self.least_end, self.least_count, self.next_least = 0, sizes[self.sorted[0]] - 1, 0
        self.most_start = self.most_end = len(self.sorted)
        self.most_count = sizes[self.sorted[-1]] + 1
        self.next_most = len(self.sorted) - 1
        return sizes[self.sorted[-1]] - sizes[self.sorted[0]]

    def next_least_loaded(self) -> int:
        if self.next_least >= self.least_end:
            self.least_count += 1
            while self.least_end < len(self.sorted) and self.sizes[self.sorted[self.least_end]] == self.least_count:
                self.least_end += 1
            self.next_least = 0
        member = self.sorted[self.next_least]
        self.next_least += 1
        return member

    def next_most_loaded(self) -> int:
        if self.next_most < self.most_start:
            if self.most_end <= self.most_start and self.most_start > 0:
                self.most_count = self.sizes[self.sorted[self.most_start - 1]]
            else:
                self.most_count -= 1
            while self.most_start > 0 and self.sizes[self.sorted[self.most_start - 1]] == self.most_count:
                self.most_start -= 1
            self.next_most = self.most_end - 1
        if self.next_most < 0:
            return -1
        member = self.sorted[self.next_most]
        self.next_most -= 1
        return member

    def exclude_most_loaded(self) -> None:
        at = self.next_most + 1
        self.sorted[at], self.sorted[self.most_end - 1] = self.sorted[self.most_end - 1], self.sorted[at]
        self.most_end -= 1

    def is_balanced(self) -> bool:
        return self.most_count - self.least_count <= 1


class _UniformHeterogeneous:
    """``UniformHeterogeneousAssignmentBuilder``: keep owned partitions of still-subscribed topics, hand
    out the free ones topic by topic (most partitions per subscriber first) to the least loaded
    subscribers, then move partitions from the most to the least loaded subscribers of each topic,
    round after round (at most 16), until a whole round moves nothing."""

    MAX_ITERATION_COUNT = 16

    def __init__(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec]) -> None:
        self.members = members
        self.member_ids = list(members)
        self.partition_counts: dict[uuid.UUID, int] = {}
        self.subscribers: dict[uuid.UUID, list[int]] = {}
        for index, member_id in enumerate(self.member_ids):
            for topic_id in sorted(members[member_id].subscribed, key=uuid_sort_key):
                self.partition_counts[topic_id] = _num_partitions(topics, topic_id)
                self.subscribers.setdefault(topic_id, []).append(index)
        self.sizes = [0] * len(self.member_ids)
        self.owners = {t: [-1] * n for t, n in self.partition_counts.items()}
        self.target: dict[str, _MutableAssignment] = {}

    def _topic_order(self, topic_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        def compare(a: uuid.UUID, b: uuid.UUID) -> int:
            pa, sa = self.partition_counts[a], len(self.subscribers[a])
            pb, sb = self.partition_counts[b], len(self.subscribers[b])
            by_share = pb * sa - pa * sb  # partitions per subscriber, descending
            if by_share:
                return 1 if by_share > 0 else -1
            if sa != sb:
                return -1 if sa < sb else 1
            ka, kb = uuid_sort_key(a), uuid_sort_key(b)
            return -1 if ka < kb else (1 if ka > kb else 0)

        return sorted(topic_ids, key=functools.cmp_to_key(compare))

    def build(self) -> Assignment:
        if not self.partition_counts:
            return _freeze(self.member_ids, {})
        for index, member_id in enumerate(self.member_ids):
            member = self.members[member_id]
            new = _copy(member.current)
            for topic_id, partitions in member.current.items():
                if topic_id in member.subscribed:
                    self.sizes[index] += len(partitions)
                    for partition in partitions:
                        self.owners[topic_id][partition] = index
                else:
                    del new[topic_id]
            self.target[member_id] = new

        free = {t: [p for p, owner in enumerate(owners) if owner == -1] for t, owners in self.owners.items()}
        balancer = _MemberAssignmentBalancer(self.sizes)
        for topic_id in self._topic_order([t for t, ps in free.items() if ps]):
            balancer.initialize(self.subscribers[topic_id])
            for partition in free[topic_id]:
                self._assign(topic_id, partition, balancer.next_least_loaded())

        movable = [t for t in self.partition_counts if len(self.subscribers[t]) >= 2]
        if movable:
            self._balance_topics(movable)
        return _freeze(self.member_ids, self.target)

    def _balance_topics(self, topic_ids: list[uuid.UUID]) -> None:
        ordered = self._topic_order(topic_ids)
        last_moved = -1
        balancer = _MemberAssignmentBalancer(self.sizes)
        for _ in range(self.MAX_ITERATION_COUNT):
            for index, topic_id in enumerate(ordered):
                if index == last_moved:
                    return  # a whole round without a move
                if self._balance_topic(topic_id, balancer) > 0 or last_moved == -1:
                    last_moved = index

    def _balance_topic(self, topic_id: uuid.UUID, balancer: _MemberAssignmentBalancer) -> int:
        moved = 0
        if balancer.initialize(self.subscribers[topic_id]) <= 1:
            return moved
        owners = self.owners[topic_id]
        partitions = sorted(range(self.partition_counts[topic_id]), key=lambda p: (owners[p], p))
        start: dict[int, int] = {}
        end: dict[int, int] = {}
        for i, partition in enumerate(partitions):
            start.setdefault(owners[partition], i)
            end[owners[partition]] = i + 1
        while not balancer.is_balanced():
            most = -1
            while True:
                most = balancer.next_most_loaded()
                if most == -1:
                    break
                if most not in end or end[most] - start[most] <= 0:
                    balancer.exclude_most_loaded()
                    continue
                break
            if most == -1:
                break
            partition = partitions[end[most] - 1]
            end[most] -= 1
            least = balancer.next_least_loaded()
            if balancer.is_balanced():
                break
            self._assign(topic_id, partition, least)
            moved += 1
        return moved

    def _assign(self, topic_id: uuid.UUID, partition: int, member: int) -> None:
        previous = self.owners[topic_id][partition]
        if previous != -1:
            owned = self.target[self.member_ids[previous]].get(topic_id)
            if owned is not None:
                owned.discard(partition)
                if not owned:
                    del self.target[self.member_ids[previous]][topic_id]
            self.sizes[previous] -= 1
        self.target[self.member_ids[member]].setdefault(topic_id, set()).add(partition)
        self.owners[topic_id][partition] = member
        self.sizes[member] += 1


# ----------------------------------------------------------------------------------------------- range


class RangeAssignor:
    """Kafka's server-side ``RangeAssignor``: per topic, contiguous ranges in member order -- static
    members first by instance id, then the others by member id -- the first ``partitions % members``
    members one partition more. With identical subscriptions and equal partition counts the topics
    are co-partitioned (the same partition numbers go to the same member). Not sticky."""

    name = "range"

    def assign(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec]) -> Assignment:
        if not members:
            return {}

        def order(a: str, b: str) -> int:
            ia, ib = members[a].instance_id, members[b].instance_id
            if ia is not None and ib is not None:
                return -1 if ia < ib else (1 if ia > ib else 0)
            if ia is not None:
                return -1
            if ib is not None:
                return 1
            return -1 if a < b else (1 if a > b else 0)

        ordered = sorted(members, key=functools.cmp_to_key(order))
        subscribers: dict[uuid.UUID, int] = {}
        for member_id in ordered:
            for topic_id in members[member_id].subscribed:
                if topic_id not in subscribers:
                    if topic_id not in topics:
                        raise PartitionAssignorError("Member is subscribed to a non-existent topic")
                    subscribers[topic_id] = 0
                subscribers[topic_id] += 1
        next_start = dict.fromkeys(subscribers, 0)
        extra_left = {t: topics[t].partitions % n for t, n in subscribers.items()}
        result: dict[str, _MutableAssignment] = {}
        for member_id in ordered:
            mine: _MutableAssignment = {}
            for topic_id in sorted(members[member_id].subscribed, key=uuid_sort_key):
                count = topics[topic_id].partitions
                quota = count // subscribers[topic_id]
                if extra_left[topic_id] > 0:
                    quota += 1
                    extra_left[topic_id] -= 1
                begin = next_start[topic_id]
                stop = min(begin + quota, count)
                next_start[topic_id] = stop
                if begin < stop:
                    mine[topic_id] = set(range(begin, stop))
            result[member_id] = mine
        return _freeze(list(members), result)


# ---------------------------------------------------------------------------------------------- simple


class SimpleAssignor:
    """Kafka's share-group ``SimpleAssignor`` (4.4: homogeneous and heterogeneous builders). A share
    partition may go to several members: each partition to ``ceil(members / partitions)`` of them,
    each member a fair count; sticky -- it first drops what is no longer subscribed, what overfills a
    member and what is shared too widely, then fills the gaps.

    ``assignable`` (topic id -> partitions) limits the partitions handed out to those whose share
    state is initialized, as Kafka's ``GroupSpec.isPartitionAssignable``; None means all.
    """

    name = "simple"

    def assign(
        self,
        members: Mapping[str, MemberSpec],
        topics: Mapping[uuid.UUID, TopicSpec],
        assignable: Mapping[uuid.UUID, frozenset[int]] | None = None,
    ) -> Assignment:
        if not members:
            return {}

        def is_assignable(topic_id: uuid.UUID, partition: int) -> bool:
            return assignable is None or partition in assignable.get(topic_id, frozenset())

        if _is_homogeneous(members):
            return _SimpleHomogeneous(members, topics, is_assignable).build()
        return _SimpleHeterogeneous(members, topics, is_assignable).build()


def _desired_counts(desired_sharing: int, partition_count: int, member_count: int) -> list[int]:
    """Each member's fair count: ``ceil(x * (i + 1)) - ceil(x * i)`` with x the exact share, so the
    counts add up to the total (the same double arithmetic as Kafka)."""
    precise = desired_sharing * partition_count / member_count
    return [math.ceil(precise * (i + 1)) - math.ceil(precise * i) for i in range(member_count)]


class _SimpleBase:
    def __init__(self, members: Mapping[str, MemberSpec]) -> None:
        self.member_ids = list(members)
        self.old: list[Mapping[uuid.UUID, frozenset[int]]] = [members[m].current for m in self.member_ids]
        self.new: dict[int, _MutableAssignment] = {}

    def _new_of(self, member: int) -> _MutableAssignment:
        mine = self.new.get(member)
        if mine is None:
            mine = self.new[member] = _copy(self.old[member])
        return mine

    def _result(self) -> Assignment:
        combined = {m: self.new.get(i, self.old[i]) for i, m in enumerate(self.member_ids)}
        return _freeze(self.member_ids, combined)


def _fill(
    by_partition: JavaHashMap[TopicPartition, JavaHashSet[int]] | JavaHashMap[int, JavaHashSet[int]],
    unfilled: JavaHashSet[int],
    desired_sharing: int,
    give: Callable[[object, int], int],
) -> None:
    """The shared ``assignRemainingPartitions`` loop: one pass over the partitions, cycling through the
    unfilled members; ``give(partition, member)`` records the pair and returns the member's new count
    (a member is dropped from ``unfilled`` when it reaches its desired count)."""
    if not len(unfilled):
        return
    members = list(unfilled)
    at = 0
    assigned_this_round = False
    for partition, holders in by_partition.items():
        to_make = desired_sharing - len(holders)
        while to_make > 0:
            if at >= len(members):
                if not assigned_this_round:
                    break
                members, at, assigned_this_round = list(unfilled), 0, False
                if not members:
                    break
            member = members[at]
            at += 1
            if member not in holders:
                to_make -= 1
                assigned_this_round = True
                if give(partition, member):
                    unfilled.remove(member)
        if not len(unfilled):
            break


class _SimpleHomogeneous(_SimpleBase):
    def __init__(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec],
                 is_assignable: Callable[[uuid.UUID, int], bool]) -> None:
        super().__init__(members)
        self.subscribed = sorted(members[self.member_ids[0]].subscribed, key=uuid_sort_key)
        self.targets: list[TopicPartition] = []
        for topic_id in self.subscribed:
            count = _num_partitions(topics, topic_id)
            self.targets.extend((topic_id, p) for p in range(count) if is_assignable(topic_id, p))
        member_count, target_count = len(self.member_ids), len(self.targets)
        self.sharing = 0 if target_count == 0 else (member_count + target_count - 1) // target_count
        self.desired = _desired_counts(self.sharing, target_count, member_count)
        self.by_partition: JavaHashMap[TopicPartition, JavaHashSet[int]] = JavaHashMap(
            topic_partition_hash, sized_capacity(target_count))
        self.by_member: JavaHashMap[int, JavaHashSet[TopicPartition]] = JavaHashMap(
            int_hash, sized_capacity(member_count))
        self.unfilled: JavaHashSet[int] = JavaHashSet(int_hash, sized_capacity(member_count))
        self.overfilled: JavaHashSet[int] = JavaHashSet(int_hash, sized_capacity(member_count))

    def build(self) -> Assignment:
        if not self.subscribed:
            return _freeze(self.member_ids, {})
        subscribed = set(self.subscribed)
        for member, old in enumerate(self.old):
            count = 0
            for topic_id, partitions in old.items():
                if topic_id in subscribed:
                    for partition in sorted(partitions):
                        tp = (topic_id, partition)
                        count += 1
                        self.by_partition.compute_if_absent(tp, lambda: JavaHashSet(int_hash)).add(member)
                        self.by_member.compute_if_absent(member, lambda: JavaHashSet(topic_partition_hash)).add(tp)
                else:
                    self._new_of(member).pop(topic_id, None)
            if count < self.desired[member]:
                self.unfilled.add(member)
            elif count > self.desired[member]:
                self.overfilled.add(member)

        for member in self.overfilled:  # revoke from overfilled members
            mine = self.by_member[member]
            if len(mine) > self.desired[member]:
                for tp in list(mine):
                    self._new_of(member)[tp[0]].discard(tp[1])
                    self.by_partition[tp].remove(member)
                    mine.remove(tp)
                    if len(mine) == self.desired[member]:
                        break

        for tp, holders in self.by_partition.items():  # revoke over-shared partitions
            left = len(holders)
            if left > self.sharing:
                for member in list(holders):
                    shared = self._new_of(member).get(tp[0])
                    if shared is not None and tp[1] in shared:
                        shared.discard(tp[1])
                        left -= 1
                        holders.remove(member)
                        self.by_member[member].remove(tp)
                        self.unfilled.add(member)
                    if left <= self.sharing:
                        break

        for tp in self.targets:
            self.by_partition.compute_if_absent(tp, lambda: JavaHashSet(int_hash))

        def give(partition: object, member: int) -> int:
            assert isinstance(partition, tuple)
            self._new_of(member).setdefault(partition[0], set()).add(partition[1])
            mine = self.by_member.compute_if_absent(member, lambda: JavaHashSet(topic_partition_hash))
            mine.add(partition)
            return len(mine) >= self.desired[member]

        _fill(self.by_partition, self.unfilled, self.sharing, give)
        return self._result()


class _SimpleHeterogeneous(_SimpleBase):
    """Balance per topic among its subscribers, then combine (a member subscribed to two topics gets its
    share of each)."""

    def __init__(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec],
                 is_assignable: Callable[[uuid.UUID, int], bool]) -> None:
        super().__init__(members)
        self.subscribers: dict[uuid.UUID, list[int]] = {}
        for index, member_id in enumerate(self.member_ids):
            for topic_id in members[member_id].subscribed:
                self.subscribers.setdefault(topic_id, []).append(index)
        self.targets = {t: [p for p in range(_num_partitions(topics, t)) if is_assignable(t, p)]
                        for t in self.subscribers}

    def build(self) -> Assignment:
        if not self.subscribers:
            return _freeze(self.member_ids, {})
        for topic_id in sorted(self.subscribers, key=uuid_sort_key):
            self._build_topic(topic_id)
        return self._result()

    def _build_topic(self, topic_id: uuid.UUID) -> None:
        targets, subscribers = self.targets[topic_id], self.subscribers[topic_id]
        target_count, subscriber_count = len(targets), len(subscribers)
        sharing = 0 if target_count == 0 else (subscriber_count + target_count - 1) // target_count
        desired = [0] * len(self.member_ids)
        for position, count in enumerate(_desired_counts(sharing, target_count, subscriber_count)):
            desired[subscribers[position]] = count
        by_partition: JavaHashMap[int, JavaHashSet[int]] = JavaHashMap(int_hash, sized_capacity(target_count))
        by_member: JavaHashMap[int, JavaHashSet[int]] = JavaHashMap(int_hash, sized_capacity(subscriber_count))

        for member, old in enumerate(self.old):
            for partition in sorted(old.get(topic_id, ())):
                by_partition.compute_if_absent(partition, lambda: JavaHashSet(int_hash)).add(member)
                by_member.compute_if_absent(member, lambda: JavaHashSet(int_hash)).add(partition)

        for member, mine in by_member.items():  # revoke from overfilled members
            for partition in list(mine):
                if len(mine) <= desired[member]:
                    break
                by_partition[partition].remove(member)
                mine.remove(partition)
                self._new_of(member)[topic_id].discard(partition)

        for partition, holders in by_partition.items():  # revoke over-shared partitions
            left = len(holders)
            if left > sharing:
                for member in list(holders):
                    partitions = self._new_of(member).get(topic_id)
                    if partitions is not None and partition in partitions:
                        partitions.discard(partition)
                        left -= 1
                        holders.remove(member)
                        by_member[member].remove(partition)
                    if left <= sharing:
                        break

        for partition in targets:
            by_partition.compute_if_absent(partition, lambda: JavaHashSet(int_hash, sized_capacity(subscriber_count)))

        unfilled: JavaHashSet[int] = JavaHashSet(int_hash, sized_capacity(len(self.member_ids)))
        for member in subscribers:
            mine_or_none = by_member.get(member)
            if (0 if mine_or_none is None else len(mine_or_none)) < desired[member]:
                unfilled.add(member)

        def give(partition: object, member: int) -> int:
            assert isinstance(partition, int)
            self._new_of(member).setdefault(topic_id, set()).add(partition)
            mine = by_member.compute_if_absent(member, lambda: JavaHashSet(int_hash))
            mine.add(partition)
            return len(mine) >= desired[member]

        _fill(by_partition, unfilled, sharing, give)


#: ``group.consumer.assignors`` names -> assignor
CONSUMER_ASSIGNORS: dict[str, Assignor] = {"uniform": UniformAssignor(), "range": RangeAssignor()}
#: ``group.share.assignors`` names -> assignor
SHARE_ASSIGNORS: dict[str, Assignor] = {"simple": SimpleAssignor()}
