"""DeleteTopics (key 20), v0-v6: by name (all versions) or by topic id (v6); v0 is beyond Kafka 4.

The partition directories are removed and every group's committed offsets for the topic are
dropped, as Kafka's coordinator does for deleted partitions. An entry naming both a name and
an id is INVALID_REQUEST, as in Kafka.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

ZERO_UUID = uuid.UUID(int=0)


log = logging.getLogger(__name__)

@api(20, "DeleteTopics", 0, 6)
async def handle_delete_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    wanted: list[tuple[str | None, uuid.UUID]] = (
        [(t.name, t.topic_id or ZERO_UUID) for t in request.topics]
        if ctx.version >= 6
        else [(name, ZERO_UUID) for name in request.topic_names]
    )
    responses: list[dict[str, Any]] = []
    for name, topic_id in wanted:
        topic = cluster.topics.get(name) if name is not None else cluster.by_id.get(topic_id)
        entry: dict[str, Any] = {
            "name": name, "topic_id": topic_id, "error_code": ErrorCode.NONE, "error_message": None
        }
        if name is not None and topic_id != ZERO_UUID:
            entry["error_code"] = int(ErrorCode.INVALID_REQUEST)
            entry["error_message"] = "You may not specify both topic name and topic id."
        elif topic is None:
            code = ErrorCode.UNKNOWN_TOPIC_ID if name is None else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            entry["error_code"] = int(code)
            entry["error_message"] = (
                "This server does not host this topic ID."
                if name is None
                else ("This server does not host this topic-partition.")
            )
        else:
            entry["name"] = topic.name
            entry["topic_id"] = topic.topic_id
            partitions = len(topic.partitions)
            cluster.delete_topic(topic.name)  # works on a full disk (see Cluster.delete_topic)
            try:
                ctx.state.groups.delete_topic_offsets(topic.name)
            except OSError as exc:  # the topic is gone; its offsets only linger in the group log
                log.warning("could not record the deleted offsets of topic %s: %s", topic.name, exc)
            for index in range(partitions):  # parked fetches answer UNKNOWN_TOPIC_OR_PARTITION now
                ctx.state.notifier.notify((topic.name, index))
        responses.append(entry)
    return {"throttle_time_ms": 0, "responses": responses}
