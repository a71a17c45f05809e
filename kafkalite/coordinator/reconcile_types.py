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
