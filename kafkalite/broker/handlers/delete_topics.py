"""DeleteTopics (key 20), v0-v6: by name (all versions) or by topic id (v6); v0 is beyond Kafka 4.

The partition directories are removed and every group's committed offsets for the topic are
dropped, as Kafka's coordinator does for deleted partitions. An entry naming both a name and
an id is INVALID_REQUEST, as in Kafka.

With an authorizer (Kafka's ControllerApis.deleteTopics): DELETE on the cluster allows every
topic; otherwise DELETE on the topic is needed, and what the answer reveals depends on DESCRIBE.
By name: not describable answers TOPIC_AUTHORIZATION_FAILED whether the topic exists or not;
describable but unknown answers UNKNOWN_TOPIC_OR_PARTITION; describable but not deletable
TOPIC_AUTHORIZATION_FAILED. By id: an unknown id answers UNKNOWN_TOPIC_ID; a known one that may
not be deleted TOPIC_AUTHORIZATION_FAILED, naming the topic only if it is describable.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from kafkalite.broker.acls import DENIED_MESSAGES, authorized_cluster, authorized_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode

ZERO_UUID = uuid.UUID(int=0)


log = logging.getLogger(__name__)
DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED

@api(20, "DeleteTopics", 0, 6)
async def handle_delete_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    wanted: list[tuple[str | None, uuid.UUID]] = (
        [(t.name, t.topic_id or ZERO_UUID) for t in request.topics]
        if ctx.version >= 6
        else [(name, ZERO_UUID) for name in request.topic_names]
    )
    named = {name for name, _ in wanted if name is not None}
    named |= {t.name for name, i in wanted if name is None and (t := cluster.by_id.get(i)) is not None}
    if authorized_cluster(ctx, Operation.DELETE):
        describable = deletable = named
    else:
        describable = authorized_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, named)
        deletable = authorized_names(ctx, Operation.DELETE, ResourceType.TOPIC, named)
    responses: list[dict[str, Any]] = []
    for name, topic_id in wanted:
        topic = cluster.topics.get(name) if name is not None else cluster.by_id.get(topic_id)
        entry: dict[str, Any] = {
            "name": name, "topic_id": topic_id, "error_code": ErrorCode.NONE, "error_message": None
        }
        shown = topic.name if topic is not None else name
        if name is not None and topic_id != ZERO_UUID:
            entry["error_code"] = int(ErrorCode.INVALID_REQUEST)
            entry["error_message"] = "You may not specify both topic name and topic id."
        elif (name is not None and name not in describable) or (topic is not None and shown not in deletable):
            entry["error_code"] = int(DENIED)
            entry["error_message"] = DENIED_MESSAGES[DENIED]
            if name is None and shown in describable:  # by id: the name only to who may see it
                entry["name"] = shown
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
