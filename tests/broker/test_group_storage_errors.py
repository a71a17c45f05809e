"""A group log the disk refuses: the group handlers answer Kafka's error, nothing changes, the next write works.

The storage seam here is a small ``AppendOnlyLog`` wrapper that fails on demand around the real
``MetadataLog``; the handlers, the coordinator and the codec are the broker's own.
"""

from __future__ import annotations

import asyncio
import errno
from typing import Any

from kafka.protocol.admin import DeleteGroupsRequest
from kafka.protocol.consumer import OffsetCommitRequest, OffsetFetchRequest

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.handlers.delete_groups import handle_delete_groups
from kafkalite.broker.handlers.offset_commit import handle_offset_commit
from kafkalite.broker.handlers.offset_fetch import handle_offset_fetch
from kafkalite.broker.handlers.registry import RequestContext
from kafkalite.errors import ErrorCode
from kafkalite.protocol.codec import decode_request, encode_response
from kafkalite.protocol.header import RequestHeader
from kafkalite.storage.metadata_log import MetadataLog


class FailingLog:
    def __init__(self, inner: MetadataLog) -> None:
        self.inner = inner
        self.fail: OSError | None = None

    def append_batch(self, records: list[dict[str, Any]]) -> None:
        if self.fail is not None:
            raise self.fail
        self.inner.append_batch(records)

    def flush(self) -> None:
        self.inner.flush()


def call(state: BrokerState, handler: Any, key: int, request: Any) -> Any:
    version = request.version
    decoded = decode_request(key, version, bytes(request.encode(version=version)))
    ctx = RequestContext(state, RequestHeader(key, version, 1, "test", 0), "127.0.0.1:1")
    body = asyncio.run(handler(ctx, decoded))
    assert encode_response(key, version, body)
    return body


def commit(state: BrokerState, offset: int) -> list[int]:
    topic = OffsetCommitRequest.OffsetCommitRequestTopic
    part = topic.OffsetCommitRequestPartition
    request = OffsetCommitRequest(
        version=8, group_id="g", generation_id_or_member_epoch=-1, member_id="", group_instance_id=None,
        topics=[topic(name="a", partitions=[part(partition_index=p, committed_offset=offset, committed_leader_epoch=-1,
                                                 committed_metadata="") for p in (0, 1)]),
                topic(name="nope", partitions=[part(partition_index=0, committed_offset=offset,
                                                    committed_leader_epoch=-1, committed_metadata="")])],
    )
    body = call(state, handle_offset_commit, 8, request)
    return [p["error_code"] for t in body["topics"] for p in t["partitions"]]


def fetched(state: BrokerState) -> list[int]:
    topic = OffsetFetchRequest.OffsetFetchRequestTopic
    request = OffsetFetchRequest(version=6, group_id="g", topics=[topic(name="a", partition_indexes=[0, 1])],
                                 require_stable=False)
    body = call(state, handle_offset_fetch, 9, request)
    return [p["committed_offset"] for t in body["topics"] for p in t["partitions"]]


def test_offset_commit_on_a_refusing_disk_answers_not_coordinator_and_keeps_the_old_offsets(
    state: BrokerState,
) -> None:
    seam = FailingLog(state.group_log)
    state.groups.runtime._log = seam
    assert commit(state, 5) == [0, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    seam.fail = OSError(errno.ENOSPC, "No space left on device")
    assert commit(state, 9) == [ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR,
                                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    assert fetched(state) == [5, 5]
    deleted = call(state, handle_delete_groups, 42, DeleteGroupsRequest(version=2, groups_names=["g"]))
    assert deleted["results"] == [{"group_id": "g", "error_code": ErrorCode.NOT_COORDINATOR}]
    seam.fail = None
    assert commit(state, 9) == [0, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    assert fetched(state) == [9, 9]
    # what the disk holds is what memory holds
    assert [r for r in MetadataLog(state.group_log.path).replay() if r["t"] == "offset"][-2:] == [
        {"t": "offset", "g": "g", "topic": "a", "p": p, "o": 9, "e": -1, "m": "", "ts": state.clock.now_ms()}
        for p in (0, 1)]
