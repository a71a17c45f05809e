"""What server-side assignors (KIP-848 consumer groups, KIP-932 share groups) take and give.

Kafka's ``GroupSpec``/``SubscribedTopicDescriber``/``GroupAssignment`` reduced to plain frozen
values, so an assignor is a pure function, tested on its own and compared with Kafka's. Topics are
named by their topic id, as in Kafka (an assignment outlives a topic's renaming in Kafka's records;
here it keeps the records independent of the topic table).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

#: member id -> topic id -> partitions
Assignment = dict[str, dict[uuid.UUID, frozenset[int]]]


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """One member as an assignor sees it."""

    member_id: str
    instance_id: str | None
    rack: str | None
    subscribed: frozenset[uuid.UUID]  # resolved topic ids (names and regex already resolved)
    current: Mapping[uuid.UUID, frozenset[int]] = field(default_factory=dict)  # its current target, for stickiness


@dataclass(frozen=True, slots=True)
class TopicSpec:
    topic_id: uuid.UUID
    name: str
    partitions: int
    #: partition -> racks of its replicas (inputs only: 4.4's builders ignore racks)
    racks: Mapping[int, frozenset[str]] = field(default_factory=dict)


class Assignor(Protocol):
    """A server-side assignor: deterministic, no I/O, no clock."""

    name: str

    def assign(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec]) -> Assignment: ...
