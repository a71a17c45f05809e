"""CreateTopics (key 19), v2-v7.

Replication factor -1 or 1 (one broker), partitions -1 for ``num.partitions`` or from a manual
assignment; configs are stored with the topic and checked against the known topic configs.
``validate_only`` checks everything and creates nothing.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.cluster import TopicError
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.config import TOPIC_CONFIG_DEFAULTS
from kafkalite.errors import ErrorCode

DEFAULT_CONFIG_SOURCE = 5
TOPIC_CONFIG_SOURCE = 1


def _result(name: str, code: ErrorCode, message: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "error_code": int(code),
        "error_message": message,
        "num_partitions": -1,
        "replication_factor": -1,
        "configs": None,
    }


@api(19, "CreateTopics", 2, 7)
async def handle_create_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    config = ctx.state.config
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    for ct in request.topics:
        name = ct.name
        if name in seen:
            results.append(
                _result(name, ErrorCode.INVALID_REQUEST, f"Create topics request contains duplicate topic {name}")
            )
            continue
        seen.add(name)
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
        if partitions == -1:
            partitions = config.num_partitions
        if replication == -1:
            replication = config.default_replication_factor
        configs = {c.name: c.value for c in ct.configs if c.value is not None}
        unknown = sorted(set(configs) - set(TOPIC_CONFIG_DEFAULTS))
        try:
            cluster.check_new_topic(name, partitions, replication)
            if unknown:
                raise TopicError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {unknown[0]}")
        except TopicError as exc:
            results.append(_result(name, exc.code, exc.message))
            continue
        entry: dict[str, Any] = {
            "name": name,
            "error_code": 0,
            "error_message": None,
            "num_partitions": partitions,
            "replication_factor": replication,
            "configs": [
                {
                    "name": key,
                    "value": configs.get(key, default),
                    "read_only": False,
                    "config_source": TOPIC_CONFIG_SOURCE if key in configs else DEFAULT_CONFIG_SOURCE,
                    "is_sensitive": False,
                }
                for key, default in sorted(config.topic_defaults.items())
            ],
        }
        if not request.validate_only:
            entry["topic_id"] = cluster.create_topic(name, partitions, configs).topic_id
        results.append(entry)
    return {"throttle_time_ms": 0, "topics": results}
