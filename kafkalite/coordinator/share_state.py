"""The persisted state of one share partition (group x topic-partition): Kafka's share coordinator
keeps it in ``__share_group_state`` as ShareSnapshot/ShareUpdate records; here
``ShareStateStore`` keeps it in ``share_state.log`` through a ``CoordinatorLog``.

ACQUIRED is never persisted (Kafka does not either): after a restart in-flight records come back
AVAILABLE with their last persisted delivery count. The share fetch path
(``broker/share/``) writes a partition's state after every acknowledgement, release, lock timeout
and archive; the share-group admin APIs (DescribeShareGroupOffsets, Alter/DeleteShareGroupOffsets)
read and reset it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol


class RecordState(IntEnum):
    """Kafka's ``RecordState`` ids (persisted)."""

    AVAILABLE = 0
    ACQUIRED = 1
    ACKNOWLEDGED = 2
    ARCHIVED = 4


@dataclass(frozen=True, slots=True)
class StateBatch:
    first_offset: int
    last_offset: int
    state: RecordState
    delivery_count: int


@dataclass(frozen=True, slots=True)
class PartitionShareState:
    start_offset: int  # the SPSO; -1 until initialized
    state_epoch: int = 0
    leader_epoch: int = 0
    batches: tuple[StateBatch, ...] = field(default_factory=tuple)


ShareKey = tuple[str, uuid.UUID, int]  # group id, topic id, partition


class ShareStateReader(Protocol):
    """What ``broker/share/`` needs from the store."""

    def read(self, group_id: str, topic_id: uuid.UUID, partition: int) -> PartitionShareState | None: ...

    def write(self, group_id: str, topic_id: uuid.UUID, partition: int, state: PartitionShareState) -> None:
        """Persist (OSError if the disk refuses: the caller answers with an error and keeps its memory as before)."""
        ...

    def delete(self, group_id: str, topic_id: uuid.UUID, partition: int) -> None: ...
