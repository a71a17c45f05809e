"""CreateTopics (key 19), v0-v7 (v0-v1, which Kafka 4 removed, for old clients such as kafka-node).

Replication factor -1 or 1 (one broker; more is INVALID_REPLICATION_FACTOR), partitions -1 for
``num.partitions`` or from a manual assignment naming only this broker (else
INVALID_REPLICA_ASSIGNMENT). A simulated cluster takes a replication factor up to its live
nodes, placed by the replica manager, or manual assignments naming its nodes (Kafka's
messages). Illegal names answer INVALID_TOPIC_EXCEPTION, existing topics TOPIC_ALREADY_EXISTS,
unknown config names or values Kafka refuses INVALID_CONFIG. Configs are
stored with the topic; the answer (v5+) lists every topic config with its value and source.
``validate_only`` checks everything and creates nothing. A name given twice in one request is
answered once, INVALID_REQUEST, and neither entry is created (Kafka's rule), as is
``__cluster_metadata`` (Kafka's own metadata log); a failed topic answers an empty config list.

Limits (kafkalite.broker.limits): more than 10,000 partitions asked for in one request, or more
than 10,000 metadata records (topics + partitions + configs) to write, fail every topic with
POLICY_VIOLATION and Kafka's message, before anything is created; a topic that would take the
broker past ``max.broker.partitions`` fails alone, POLICY_VIOLATION.

With an authorizer (Kafka's ControllerApis.createTopics): CREATE on the cluster allows every
topic, otherwise CREATE on the topic is needed; a topic the principal may not create answers
TOPIC_AUTHORIZATION_FAILED ("Authorization failed."), after the others, and does not count
towards the request's limits. A created topic's configs, partition count and replication factor
are answered only with DESCRIBE_CONFIGS on it; otherwise its topic_config_error_code is
TOPIC_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from kafkalite.broker.acls import authorized_cluster, authorized_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.cluster import TopicError
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.limits import (
    MAX_PARTITIONS_PER_REQUEST,
    MAX_RECORDS_PER_USER_OP,
    PREPARE_IN_THREAD_MIN,
    TOO_MANY_PARTITIONS_MESSAGE,
    TOO_MANY_RECORDS_MESSAGE,
    broker_limit_problem,
    partition_count,
    prepare_partition_dirs,
)
from kafkalite.config import TOPIC_CONFIGS, ConfigError, validate_topic_configs
from kafkalite.errors import ErrorCode

TOPIC_CONFIG_SOURCE = 1
#: Kafka's KRaft metadata log: never a topic a client may create (Kafka answers INVALID_REQUEST).
CLUSTER_METADATA_TOPIC = "__cluster_metadata"
#: Creating this many partitions (directories and files) takes long enough to let others in after.
YIELD_EVERY_PARTITIONS = 200


def _result(name: str, code: ErrorCode, message: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "error_code": int(code),
        "error_message": message,
        "num_partitions": -1,
        "replication_factor": -1,
        "configs": [],
    }


def replica_list_problem(brokers: list[int], known: set[int], replication_factor: int | None) -> str | None:
    """Kafka's validateManualPartitionAssignment: one partition's replica list, in Kafka's words."""
    if not brokers:
        return "The manual partition assignment includes an empty replica list."
    previous = None
    for broker in sorted(brokers):
        if broker not in known:
            return f"The manual partition assignment includes broker {broker}, but no such broker is registered."
        if broker == previous:
            return f"The manual partition assignment includes the broker {broker} more than once."
        previous = broker
    if replication_factor is not None and len(brokers) != replication_factor:
        return (
            f"The manual partition assignment includes a partition with {len(brokers)} replica(s), but this is "
            f"not consistent with previous partitions, which have {replication_factor} replica(s)."
        )
    return None


def _assignment_problem(assignments: Any, known: set[int]) -> str | None:
    indexes = sorted(a.partition_index for a in assignments)
    if indexes != list(range(len(indexes))):
        return "Partitions should be consecutive and start from 0."
    factor = len(assignments[0].broker_ids)
    for a in assignments:
        problem = replica_list_problem(list(a.broker_ids), known, factor)
        if problem is not None:
            return problem
    return None


def _clash(ctx: RequestContext, name: str, partitions: int) -> tuple[ErrorCode, str] | None:
    """What another request changed while this one yielded: the name taken, or the limit reached."""
    cluster = ctx.state.cluster
    try:
        cluster.check_new_topic(name, partitions, 1)
    except TopicError as exc:
        return exc.code, exc.message
    over = broker_limit_problem(ctx.state.config, partition_count(cluster), partitions)
    return None if over is None else (ErrorCode.POLICY_VIOLATION, over)


def _requested_partitions(topics: Any, duplicates: set[str], default: int) -> int:
    """Kafka's validateTotalNumberOfPartitions: what the request asks for, before any check."""
    total = 0
    for ct in topics:
        if ct.name in duplicates:
            continue
        if ct.assignments:
            total += len(ct.assignments)
        elif ct.num_partitions == -1:
            total += default
        elif ct.num_partitions > 0:
            total += ct.num_partitions
    return total


def _refuse_all(topics: Any, message: str) -> dict[str, Any]:
    return {
        "throttle_time_ms": 0,
        "topics": [_result(ct.name, ErrorCode.POLICY_VIOLATION, message) for ct in topics],
    }


@api(19, "CreateTopics", 0, 7)
async def handle_create_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    config = ctx.state.config
    results: list[dict[str, Any]] = []
    names = [ct.name for ct in request.topics]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    duplicates = {name for name, n in counts.items() if n > 1}
    unique = [name for name, n in counts.items() if n == 1 and name != CLUSTER_METADATA_TOPIC]
    creatable = (
        set(unique) if authorized_cluster(ctx, Operation.CREATE)
        else authorized_names(ctx, Operation.CREATE, ResourceType.TOPIC, unique)
    )
    describable = authorized_names(ctx, Operation.DESCRIBE_CONFIGS, ResourceType.TOPIC, unique)
    refused = [
        _result(name, ErrorCode.INVALID_REQUEST, f"Creation of internal topic {name} is prohibited.")
        if name == CLUSTER_METADATA_TOPIC
        else _result(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Authorization failed.")
        for name, n in counts.items()
        if n == 1 and (name == CLUSTER_METADATA_TOPIC or name not in creatable)
    ]
    skipped = duplicates | {r["name"] for r in refused}
    if _requested_partitions(request.topics, skipped, config.num_partitions) > MAX_PARTITIONS_PER_REQUEST:
        return _refuse_all(request.topics, TOO_MANY_PARTITIONS_MESSAGE)
    held = partition_count(cluster)
    records = 0
    nodes = ctx.state.nodes
    known_nodes = set(nodes.ids) if nodes.multi else {config.node_id}
    live_nodes = len(nodes.alive_ids()) if nodes.multi else 1
    #: (answer, partitions, configs, replica lists: a simulated cluster's, else None)
    to_create: list[tuple[dict[str, Any], int, dict[str, str], list[list[int]] | None]] = []
    for name in sorted(duplicates):  # as Kafka: one error per duplicated name, none of its entries created
        results.append(
            _result(name, ErrorCode.INVALID_REQUEST, "Duplicate topic name.")  # Kafka 4.4's words
        )
    for ct in request.topics:
        name = ct.name
        if name in skipped:
            continue
        partitions = ct.num_partitions
        replication = ct.replication_factor
        if ct.assignments:
            if partitions != -1 or replication != -1:
                results.append(
                    _result(
                        name,
                        ErrorCode.INVALID_REQUEST,
                        "Both numPartitions or replicationFactor and replicasAssignments were set.",
                    )
                )
                continue
            partitions = len(ct.assignments)
            replication = len(ct.assignments[0].broker_ids)
            problem = _assignment_problem(ct.assignments, known_nodes)
            if problem is not None:
                results.append(_result(name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem))
                continue
        if partitions == -1:
            partitions = config.num_partitions
        if replication == -1:
            replication = config.default_replication_factor
        placement: list[list[int]] | None = None
        try:
            cluster.check_new_topic(name, partitions, replication, live_nodes)
            if nodes.multi:
                placement = (
                    [list(a.broker_ids) for a in sorted(ct.assignments, key=lambda a: a.partition_index)]
                    if ct.assignments else ctx.state.replicas.place(partitions, replication)
                )
            nulls = [c.name for c in ct.configs if c.value is None]
            if nulls:
                raise TopicError(ErrorCode.INVALID_CONFIG, f"Null value not supported for topic configs: {nulls[0]}")
            try:
                configs = validate_topic_configs({c.name: c.value for c in ct.configs})
            except ConfigError as exc:
                raise TopicError(ErrorCode.INVALID_CONFIG, str(exc)) from None
        except TopicError as exc:
            results.append(_result(name, exc.code, exc.message))
            continue
        records += 1 + partitions + len(configs)  # TopicRecord, PartitionRecords, ConfigRecords
        over = broker_limit_problem(config, held, partitions)
        if over is not None:
            results.append(_result(name, ErrorCode.POLICY_VIOLATION, over))
            continue
        held += partitions
        sources = ctx.state.configs.default_sources()
        entry: dict[str, Any] = {
            "name": name,
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "num_partitions": partitions,
            "replication_factor": replication,
            "configs": [
                {
                    "name": key,
                    "value": configs.get(key, default),
                    "read_only": False,
                    "config_source": TOPIC_CONFIG_SOURCE if key in configs else sources[key],
                    "is_sensitive": False,
                }
                for key, default in sorted(config.topic_defaults.items())
                if not TOPIC_CONFIGS[key][0].internal
            ],
        }
        if name not in describable:  # Kafka leaves them at their defaults
            entry.update(configs=[], num_partitions=-1, replication_factor=-1,
                         topic_config_error_code=int(ErrorCode.TOPIC_AUTHORIZATION_FAILED))
        results.append(entry)
        to_create.append((entry, partitions, configs, placement))
    results += refused
    if records > MAX_RECORDS_PER_USER_OP:  # Kafka's BoundedList overflows, validate_only or not
        return _refuse_all(request.topics, TOO_MANY_RECORDS_MESSAGE)
    if request.validate_only:
        for entry, _, _, _ in to_create:
            entry["topic_id"] = uuid.uuid4()  # Kafka answers the id it would have given
        return {"throttle_time_ms": 0, "topics": results}
    # Directories and first segments of large requests are made in a worker thread meanwhile.
    # (A simulated cluster's replicas are opened on their nodes at creation: nothing to prepare.)
    dirs = [] if ctx.state.replicating else [
        cluster.logs.partition_dir(e["name"], i) for e, partitions, _, _ in to_create for i in range(partitions)
    ]
    recheck = len(dirs) >= PREPARE_IN_THREAD_MIN
    prepared = await prepare_partition_dirs(dirs)
    since_yield = 0
    created: list[dict[str, Any]] = []
    try:
        for entry, partitions, configs, placement in to_create:
            if since_yield >= YIELD_EVERY_PARTITIONS:
                await asyncio.sleep(0)  # let other connections be served between topics
                since_yield = 0
                recheck = True
            if recheck:  # others ran meanwhile: the name may be taken or the limit reached
                clash = _clash(ctx, entry["name"], partitions)
                if clash is not None:
                    entry.update(_result(entry["name"], *clash))
                    continue
            if placement is not None:  # before the logs open: each replica's on its node
                ctx.state.replicas.assign(entry["name"], 0, placement)
            entry["topic_id"] = cluster.create_topic(
                entry["name"], partitions, configs, save=False, prepared=prepared
            ).topic_id
            created.append(entry)
            since_yield += partitions
    finally:
        if to_create:
            try:
                # Once per request: an fsynced rewrite of topics.json per topic was most of the cost.
                cluster.save_topics()
            except OSError as exc:  # a full disk: undo, so memory and topics.json agree
                for entry in created:
                    cluster.discard_topic(entry["name"])
                    entry.update(_result(entry["name"], ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot create topic: {exc}"))
    return {"throttle_time_ms": 0, "topics": results}
