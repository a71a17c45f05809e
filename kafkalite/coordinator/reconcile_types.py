"""The member assignment state of a KIP-848 consumer group member (Kafka's ``MemberState`` and the
fields ``CurrentAssignmentBuilder`` moves), shared by ``reconcile.py`` (the pure transition) and
``consumer_group.py`` (which persists it as ConsumerGroupCurrentMemberAssignment records)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum


class MemberState(IntEnum):
    """Kafka's ``org.apache.kafka.coordinator.group.modern.MemberState`` values (persisted as ints)."""

    STABLE = 0
    UNREVOKED_PARTITIONS = 1
    UNRELEASED_PARTITIONS = 2
    UNKNOWN = 127


TopicPartitions = Mapping[uuid.UUID, frozenset[int]]


@dataclass(frozen=True, slots=True)
class MemberAssignmentState:
    state: MemberState = MemberState.STABLE
    member_epoch: int = 0
    previous_member_epoch: int = -1
    assigned: TopicPartitions = field(default_factory=dict)
    pending_revocation: TopicPartitions = field(default_factory=dict)
    #: topic id -> partition -> the member epoch at which it was assigned, for the partitions of
    #: ``assigned`` and ``pending_revocation`` (Kafka 4.4 keeps it per partition: an OffsetCommit with an
    #: older member epoch is accepted for a partition assigned at or before that epoch). A partition
    #: missing here counts as assigned at epoch 0, as Kafka reads records written without epochs.
    assignment_epochs: Mapping[uuid.UUID, Mapping[int, int]] = field(default_factory=dict)

    def assignment_epoch(self, topic_id: uuid.UUID, partition: int) -> int | None:
        """The epoch ``partition`` was assigned at, or None when it is neither assigned nor pending revocation."""
        if partition in self.assigned.get(topic_id, ()) or partition in self.pending_revocation.get(topic_id, ()):
            return self.assignment_epochs.get(topic_id, {}).get(partition, 0)
        return None
