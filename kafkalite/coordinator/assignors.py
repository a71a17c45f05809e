"""Server-side assignors as Kafka 4.4 has them: ``uniform`` and ``range`` for KIP-848 consumer groups,
``simple`` for KIP-932 share groups. Pure and deterministic (see ``assignment.py`` for the shapes)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from kafkalite.coordinator.assignment import Assignment, Assignor, MemberSpec, TopicSpec


class UniformAssignor:
    """Kafka's ``UniformAssignor``: balance first, then stickiness."""

    name = "uniform"

    def assign(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec]) -> Assignment:
        raise NotImplementedError


class RangeAssignor:
    """Kafka's ``RangeAssignor`` (server side): contiguous ranges per topic, co-partitioned."""

    name = "range"

    def assign(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec]) -> Assignment:
        raise NotImplementedError


class SimpleAssignor:
    """Kafka's share-group ``SimpleAssignor``."""

    name = "simple"

    def assign(self, members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, TopicSpec]) -> Assignment:
        raise NotImplementedError


#: ``group.consumer.assignors`` names -> assignor
CONSUMER_ASSIGNORS: dict[str, Assignor] = {"uniform": UniformAssignor(), "range": RangeAssignor()}
#: ``group.share.assignors`` names -> assignor
SHARE_ASSIGNORS: dict[str, Assignor] = {"simple": SimpleAssignor()}
