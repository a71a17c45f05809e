"""DeleteTopics (key 20), v0-v6: by name (all versions) or by topic id (v6); v0 is beyond Kafka 4.

The partition directories are removed and every group's committed offsets for the topic are
dropped, as Kafka's coordinator does for deleted partitions.

The request is read as Kafka's ControllerApis.deleteTopics reads it (checked against Kafka 4.4):
an entry with both a name and an id, or neither, is INVALID_REQUEST; a name or an id given twice
is answered once, INVALID_REQUEST ("Duplicate topic name." / "Duplicate topic id."), and not
deleted; a name whose topic's id was also given is INVALID_REQUEST and neither is deleted.

With an authorizer: DELETE on the cluster allows every topic; otherwise DELETE on the topic is
needed, and what the answer reveals depends on DESCRIBE. By name: not describable answers
TOPIC_AUTHORIZATION_FAILED whether the topic exists or not; describable but unknown answers
UNKNOWN_TOPIC_OR_PARTITION; describable but not deletable TOPIC_AUTHORIZATION_FAILED. By id: an
unknown id answers UNKNOWN_TOPIC_ID; a known one that may not be deleted
TOPIC_AUTHORIZATION_FAILED, naming the topic only if it is describable.
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
DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED

log = logging.getLogger(__name__)


class _Answers:
    """The response entries, in the order Kafka's controller adds them (it then shuffles them)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, name: str | None, topic_id: uuid.UUID, code: ErrorCode = ErrorCode.NONE,
            message: str | None = None) -> None:
        self.entries.append({"name": name, "topic_id": topic_id, "error_code": int(code), "error_message": message})


def _provided(
    ctx: RequestContext, request: Any, answers: _Answers
) -> tuple[list[str], list[uuid.UUID], set[uuid.UUID]]:
    """The names and ids given once (in request order), and the ids given twice."""
    names: dict[str, None] = {}
    duplicate_names: dict[str, None] = {}
    ids: dict[uuid.UUID, None] = {}
    duplicate_ids: dict[uuid.UUID, None] = {}

    def add_name(name: str) -> None:
        if name in duplicate_names or name in names:
            duplicate_names[name] = None
            names.pop(name, None)
        else:
            names[name] = None

    if ctx.version < 6:
        for name in request.topic_names:
            add_name(name)
    else:
        for t in request.topics:
            topic_id = t.topic_id or ZERO_UUID
            if t.name is None:
                if topic_id == ZERO_UUID:
                    answers.add(None, ZERO_UUID, ErrorCode.INVALID_REQUEST, "Neither topic name nor id were specified.")
                elif topic_id in duplicate_ids or topic_id in ids:
                    duplicate_ids[topic_id] = None
                    ids.pop(topic_id, None)
                else:
                    ids[topic_id] = None
            elif topic_id == ZERO_UUID:
                add_name(t.name)
            else:
                answers.add(t.name, topic_id, ErrorCode.INVALID_REQUEST,
                            "You may not specify both topic name and topic id.")
    for name in duplicate_names:
        answers.add(name, ZERO_UUID, ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
    for topic_id in duplicate_ids:
        answers.add(None, topic_id, ErrorCode.INVALID_REQUEST, "Duplicate topic id.")
    return list(names), list(ids), set(duplicate_ids)


@api(20, "DeleteTopics", 0, 6)
async def handle_delete_topics(ctx: RequestContext, request: Any) -> dict[str, Any]:
    cluster = ctx.state.cluster
    answers = _Answers()
    names, ids, duplicate_ids = _provided(ctx, request, answers)
    id_to_name: dict[uuid.UUID, str] = {}
    for topic_id in ids:
        topic = cluster.by_id.get(topic_id)
        if topic is None:
            answers.add(None, topic_id, ErrorCode.UNKNOWN_TOPIC_ID, "This server does not host this topic ID.")
        else:
            id_to_name[topic_id] = topic.name
    named = set(names) | set(id_to_name.values())
    if authorized_cluster(ctx, Operation.DELETE):
        describable = deletable = named
    else:
        describable = authorized_names(ctx, Operation.DESCRIBE, ResourceType.TOPIC, named)
        deletable = authorized_names(ctx, Operation.DELETE, ResourceType.TOPIC, named)
    for topic_id, name in list(id_to_name.items()):
        if name not in deletable:  # the name only to who may see it
            answers.add(name if name in describable else None, topic_id, DENIED, DENIED_MESSAGES[DENIED])
            del id_to_name[topic_id]
    for name in names:
        topic = cluster.topics.get(name)
        if name not in describable:
            answers.add(name, ZERO_UUID, DENIED, DENIED_MESSAGES[DENIED])
        elif topic is None:
            answers.add(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                        "This server does not host this topic-partition.")
        elif name not in deletable:
            answers.add(name, ZERO_UUID, DENIED, DENIED_MESSAGES[DENIED])
        elif topic.topic_id in duplicate_ids or topic.topic_id in id_to_name:
            duplicate_ids.add(topic.topic_id)  # named and given by id: neither is deleted
            id_to_name.pop(topic.topic_id, None)
            answers.add(name, topic.topic_id, ErrorCode.INVALID_REQUEST,
                        "The provided topic name maps to an ID that was already supplied.")
        else:
            id_to_name[topic.topic_id] = name
    for topic_id, name in id_to_name.items():
        _delete(ctx, name)
        answers.add(name, topic_id)
    return {"throttle_time_ms": 0, "responses": answers.entries}


def _delete(ctx: RequestContext, name: str) -> None:
    cluster = ctx.state.cluster
    partitions = len(cluster.topics[name].partitions)
    cluster.delete_topic(name)  # works on a full disk (see Cluster.delete_topic)
    try:
        ctx.state.groups.delete_topic_offsets(name)
    except OSError as exc:  # the topic is gone; its offsets only linger in the group log
        log.warning("could not record the deleted offsets of topic %s: %s", name, exc)
    for index in range(partitions):  # parked fetches answer UNKNOWN_TOPIC_OR_PARTITION now
        ctx.state.notifier.notify((name, index))
