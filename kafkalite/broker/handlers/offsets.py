"""The per-partition part shared by OffsetCommit and TxnOffsetCommit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from kafkalite.broker.handlers.registry import RequestContext
from kafkalite.errors import ErrorCode

# (topic, partition, offset, leader epoch, metadata) -> error code
StoreOffset = Callable[[str, int, int, int, str | None], int]


def every_partition(topics: Iterable[Any], code: int) -> list[dict[str, Any]]:
    """Each requested partition answered ``code`` (Kafka's getErrorResponse of the commit requests)."""
    return [
        {"name": t.name,
         "partitions": [{"partition_index": p.partition_index, "error_code": code} for p in t.partitions]}
        for t in topics
    ]


def commit_partitions(
    ctx: RequestContext, topics: Any, group_error: int, store: StoreOffset, leader_epoch_version: int,
    denied: AbstractSet[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Apply ``store`` to every requested partition unless the group-level check failed.

    An unknown partition answers UNKNOWN_TOPIC_OR_PARTITION even then: Kafka's KafkaApis checks
    partitions before its coordinator sees the group.

    Topics in ``denied`` (no READ) are TOPIC_AUTHORIZATION_FAILED first: Kafka refuses them
    before its coordinator looks at the group.
    """
    results: list[dict[str, Any]] = []
    for topic in topics:
        rows: list[dict[str, Any]] = []
        refused = bool(denied) and topic.name in denied
        for part in topic.partitions:
            if refused:
                code = int(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            elif ctx.state.cluster.partition(topic.name, part.partition_index) is None:
                code = int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)  # Kafka checks before the group
            else:
                code = group_error
                if not code:
                    epoch = part.committed_leader_epoch if ctx.version >= leader_epoch_version else -1
                    code = store(topic.name, part.partition_index, part.committed_offset, epoch,
                                 part.committed_metadata)
            rows.append({"partition_index": part.partition_index, "error_code": code})
        results.append({"name": topic.name, "partitions": rows})
    return results
