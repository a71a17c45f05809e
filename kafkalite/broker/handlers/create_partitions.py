"""CreatePartitions (key 37), v0-v3: grow a topic's partition count.

The count can only grow (INVALID_PARTITIONS otherwise); a manual assignment must name one
list per new partition holding only this broker (INVALID_REPLICA_ASSIGNMENT). New partitions
start empty; clients see them on their next Metadata refresh. ``validate_only`` changes
nothing.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


def _result(name: str, code: ErrorCode = ErrorCode.NONE, message: str | None = None) -> dict[str, Any]:
    return {"name": name, "error_code": int(code), "error_message": message}


def _problem(ctx: RequestContext, topic_request: Any) -> tuple[ErrorCode, str | None] | None:
    cluster = ctx.state.cluster
    node = ctx.state.config.node_id
    topic = cluster.topics.get(topic_request.name)
    if topic is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None  # Kafka's answer carries no message here
    current = len(topic.partitions)
    count = topic_request.count
    if count < current:
        return (
            ErrorCode.INVALID_PARTITIONS,
            f"Topic currently has {current} partitions, which is higher than the requested {count}.",
        )
    if count == current:
        return ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partitions."
    assignments = topic_request.assignments
    if assignments is not None:
        if len(assignments) != count - current:
            return (
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"Attempted to add {count - current} additional partition(s), but only {len(assignments)} "
                "assignment(s) were specified.",
            )
        for assignment in assignments:
            brokers = list(assignment.broker_ids)
            unknown = [b for b in brokers if b != node]
            if unknown:
                return (
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"The manual partition assignment includes broker {unknown[0]}, but no such broker is registered.",
                )
            if len(brokers) != 1:
                return (
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    "The manual partition assignment includes an empty or duplicate replica list.",
                )
    return None


@api(37, "CreatePartitions", 0, 3)
async def handle_create_partitions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    names = [t.name for t in request.topics]
    results: list[dict[str, Any]] = []
    reported: set[str] = set()
    for topic_request in request.topics:
        name = topic_request.name
        if names.count(name) > 1:  # answered once, as Kafka does
            if name not in reported:
                reported.add(name)
                results.append(_result(name, ErrorCode.INVALID_REQUEST, "Duplicate topic name."))
            continue
        problem = _problem(ctx, topic_request)
        if problem is not None:
            results.append(_result(name, *problem))
            continue
        if not request.validate_only:
            try:
                cluster.add_partitions(name, topic_request.count)
            except OSError as exc:  # a full disk: nothing was added (see Cluster.add_partitions)
                results.append(_result(name, ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot add partitions: {exc}"))
                continue
        results.append(_result(name))
    return {"throttle_time_ms": 0, "results": results}
