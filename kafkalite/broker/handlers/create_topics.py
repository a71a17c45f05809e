"""CreateTopics (key 19), v0-v7 (v0-v1, which Kafka 4 removed, for old clients such as kafka-node).

Replication factor -1 or 1 (one broker; more is INVALID_REPLICATION_FACTOR), partitions -1 for
``num.partitions`` or from a manual assignment naming only this broker (else
INVALID_REPLICA_ASSIGNMENT). Illegal names answer INVALID_TOPIC_EXCEPTION, existing topics
TOPIC_ALREADY_EXISTS, unknown config names or values Kafka refuses INVALID_CONFIG. Configs are
stored with the topic; the answer (v5+) lists every topic config with its value and source.
``validate_only`` checks everything and creates nothing. A name given twice in one request is
answered once, INVALID_REQUEST, and neither entry is created (Kafka's rule); a failed topic
answers an empty config list.
"""

from __future__ import annotations

import uuid
from typing import Any

from kafkalite.broker.cluster import TopicError
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.config import TOPIC_CONFIGS, ConfigError, validate_topic_configs
from kafkalite.errors import ErrorCode

TOPIC_CONFIG_SOURCE = 1


def _result(name: str, code: ErrorCode, message: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "error_code": int(code),
        "error_message": message,
        "num_partitions": -1,
        "replication_factor": -1,
        "configs": [],
    }


def _assignment_problem(assignments: Any, node_id: int) -> str | None:
    indexes = sorted(a.partition_index for a in assignments)
    if indexes != list(range(len(indexes))):
        return "Partitions should be consecutive and start from 0."
    for a in assignments:
        brokers = list(a.broker_ids)
        if not brokers or len(set(brokers)) != len(brokers):
            return "The manual partition assignment includes an empty or duplicate replica list."
        unknown = [b for b in brokers if b != node_id]
        if unknown:
            return f"The manual partition assignment includes broker {unknown[0]}, but no such broker is registered."
    return None


@api(19, "CreateTopics", 0, 7)
async def handle_create_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    config = ctx.state.config
    results: list[dict[str, Any]] = []
    names = [ct.name for ct in request.topics]
    duplicates = {name for name in names if names.count(name) > 1}
    for name in sorted(duplicates):  # as Kafka: one error per duplicated name, none of its entries created
        results.append(
            _result(name, ErrorCode.INVALID_REQUEST, f"Create topics request contains duplicate topic {name}")
        )
    for ct in request.topics:
        name = ct.name
        if name in duplicates:
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
            problem = _assignment_problem(ct.assignments, config.node_id)
            if problem is not None:
                results.append(_result(name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem))
                continue
        if partitions == -1:
            partitions = config.num_partitions
        if replication == -1:
            replication = config.default_replication_factor
        try:
            cluster.check_new_topic(name, partitions, replication)
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
        if request.validate_only:
            entry["topic_id"] = uuid.uuid4()  # Kafka answers the id it would have given
        else:
            try:
                entry["topic_id"] = cluster.create_topic(name, partitions, configs).topic_id
            except OSError as exc:  # a full disk: nothing was created (see Cluster.create_topic)
                results.append(_result(name, ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot create topic {name}: {exc}"))
                continue
        results.append(entry)
    return {"throttle_time_ms": 0, "topics": results}
