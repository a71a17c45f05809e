"""Kafka's ``CurrentAssignmentBuilder`` as one pure function: move a consumer-group member from its
current assignment towards its target, revoking before assigning."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from kafkalite.coordinator.reconcile_types import MemberAssignmentState, TopicPartitions


def reconcile(
    current: MemberAssignmentState,
    target_epoch: int,
    target: TopicPartitions,
    owned: TopicPartitions | None,
    owner_epoch: Callable[[uuid.UUID, int], int],
) -> MemberAssignmentState:
    """The member's next assignment state. ``owned`` is what the heartbeat reported (None when the
    request left the field out); ``owner_epoch(topic_id, partition)`` is the epoch of the member that
    currently owns the partition, -1 when free."""
    raise NotImplementedError
