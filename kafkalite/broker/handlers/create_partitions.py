"""CreatePartitions (key 37), v0-v3: grow a topic's partition count.

The count can only grow (INVALID_PARTITIONS otherwise); a manual assignment must name one
list per new partition holding only this broker (INVALID_REPLICA_ASSIGNMENT); in a simulated
cluster, known nodes as many as the topic's replication factor (Kafka's messages), and new
partitions without an assignment are placed by the replica manager. New partitions
start empty; clients see them on their next Metadata refresh. ``validate_only`` changes
nothing.

Limits (kafkalite.broker.limits): more than 10,000 partitions added in one request (summed over
the existing topics named once) fail every topic, POLICY_VIOLATION with Kafka 4.4's message,
before anything else is checked; a topic that would take the broker past
``max.broker.partitions`` fails alone, POLICY_VIOLATION.

With an authorizer, ALTER on the topic is needed (Kafka's ControllerApis.createPartitions): a
topic named once that the principal may not alter answers TOPIC_AUTHORIZATION_FAILED with no
message, whether it exists or not, and does not count towards the request's partition limit.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.create_topics import replica_list_problem
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.limits import (
    MAX_PARTITIONS_PER_REQUEST,
    PREPARE_IN_THREAD_MIN,
    TOO_MANY_ADDITIONAL_PARTITIONS_MESSAGE,
    broker_limit_problem,
    partition_count,
    prepare_partition_dirs,
)
from kafkalite.errors import ErrorCode


def _result(name: str, code: ErrorCode = ErrorCode.NONE, message: str | None = None) -> dict[str, Any]:
    return {"name": name, "error_code": int(code), "error_message": message}


def _problem(ctx: RequestContext, topic_request: Any) -> tuple[ErrorCode, str | None] | None:
    cluster = ctx.state.cluster
    nodes = ctx.state.nodes
    known = set(nodes.ids) if nodes.multi else {ctx.state.config.node_id}
    topic = cluster.topics.get(topic_request.name)
    if topic is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None  # Kafka's answer carries no message here
    current = len(topic.partitions)
    count = topic_request.count
    problem = _count_problem(current, count)
    if problem is not None:
        return problem
    assignments = topic_request.assignments
    if assignments is not None:
        if len(assignments) != count - current:
            return (
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"Attempted to add {count - current} additional partition(s), but only {len(assignments)} "
                "assignment(s) were specified.",
            )
        factor = _replication_factor(ctx, topic_request.name)
        for assignment in assignments:
            problem = replica_list_problem(list(assignment.broker_ids), known, factor)
            if problem is not None:
                return ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem
    return None


def _replication_factor(ctx: RequestContext, name: str) -> int:
    """The topic's replication factor: its first partition's replica count (one broker: 1)."""
    if not ctx.state.nodes.multi:
        return 1
    state = ctx.state.replicas.state(name, 0)
    return len(state.replicas) if state is not None else 1


@api(37, "CreatePartitions", 0, 3)
async def handle_create_partitions(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    names: dict[str, int] = {}
    for t in request.topics:
        names[t.name] = names.get(t.name, 0) + 1
    allowed = authorized_names(ctx, Operation.ALTER, ResourceType.TOPIC, [n for n, k in names.items() if k == 1])
    adding_in_all = 0
    for t in request.topics:
        existing = cluster.topics.get(t.name)
        if t.name in allowed and existing is not None:
            adding_in_all += max(0, t.count - len(existing.partitions))
    if adding_in_all > MAX_PARTITIONS_PER_REQUEST:  # Kafka's check, before any other
        return {
            "throttle_time_ms": 0,
            "results": [
                _result(t.name, ErrorCode.POLICY_VIOLATION, TOO_MANY_ADDITIONAL_PARTITIONS_MESSAGE)
                for t in request.topics
            ],
        }
    results: list[dict[str, Any]] = []
    reported: set[str] = set()
    held = partition_count(cluster)
    to_grow: list[tuple[str, int]] = []
    #: A simulated cluster's replica lists of the new partitions, by topic.
    placements: dict[str, list[list[int]]] = {}
    for topic_request in request.topics:
        name = topic_request.name
        if names[name] > 1:  # answered once, as Kafka does
            if name not in reported:
                reported.add(name)
                results.append(_result(name, ErrorCode.INVALID_REQUEST, "Duplicate topic name."))
            continue
        if name not in allowed:
            results.append(_result(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
            continue
        problem = _problem(ctx, topic_request)
        if problem is not None:
            results.append(_result(name, *problem))
            continue
        adding = topic_request.count - len(cluster.topics[name].partitions)
        over = broker_limit_problem(ctx.state.config, held, adding)
        if over is not None:
            results.append(_result(name, ErrorCode.POLICY_VIOLATION, over))
            continue
        held += adding
        if ctx.state.nodes.multi:
            current = len(cluster.topics[name].partitions)
            placements[name] = (
                [list(a.broker_ids) for a in topic_request.assignments] if topic_request.assignments is not None
                else ctx.state.replicas.place(adding, _replication_factor(ctx, name), current, topic=name)
            )
        to_grow.append((name, topic_request.count))
        results.append(_result(name))
    if request.validate_only or not to_grow:
        return {"throttle_time_ms": 0, "results": results}
    # Directories and first segments of large requests are made in a worker thread meanwhile.
    # (A simulated cluster's replicas are opened on their nodes at creation: nothing to prepare.)
    dirs = [] if ctx.state.replicating else [
        cluster.logs.partition_dir(name, i)
        for name, count in to_grow
        for i in range(len(cluster.topics[name].partitions), count)
    ]
    recheck = len(dirs) >= PREPARE_IN_THREAD_MIN
    prepared = await prepare_partition_dirs(dirs)
    by_name = {r["name"]: r for r in results}
    for name, count in to_grow:
        if recheck:  # others ran meanwhile: the topic may be gone or grown, or the limit reached
            problem = _recheck(ctx, name, count)
            if problem is not None:
                by_name[name].update(_result(name, *problem))
                continue
        if name in placements:  # before the logs open: each replica's on its node
            ctx.state.replicas.assign(name, len(cluster.topics[name].partitions), placements[name])
        try:
            cluster.add_partitions(name, count, prepared)
        except OSError as exc:  # a full disk: nothing was added (see Cluster.add_partitions)
            by_name[name].update(_result(name, ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot add partitions: {exc}"))
            continue
    return {"throttle_time_ms": 0, "results": results}


def _recheck(ctx: RequestContext, name: str, count: int) -> tuple[ErrorCode, str | None] | None:
    cluster = ctx.state.cluster
    topic = cluster.topics.get(name)
    if topic is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None
    current = len(topic.partitions)
    problem = _count_problem(current, count)
    if problem is not None:
        return problem
    over = broker_limit_problem(ctx.state.config, partition_count(cluster), count - current)
    return None if over is None else (ErrorCode.POLICY_VIOLATION, over)


def _count_problem(current: int, count: int) -> tuple[ErrorCode, str] | None:
    """Kafka's answer to a total that does not grow the topic."""
    if count < current:
        return (
            ErrorCode.INVALID_PARTITIONS,
            f"Topic currently has {current} partitions, which is higher than the requested {count}.",
        )
    if count == current:
        return ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partitions."
    return None
