"""Group coordinator error codes on the wire, request by request, as Kafka answers them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka.protocol.admin import DeleteGroupsRequest, DeleteGroupsResponse
from kafka.protocol.consumer import (
    HeartbeatRequest,
    HeartbeatResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetFetchRequest,
    OffsetFetchResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)

from compat_tests.brokerproc import BrokerProcess
from compat_tests.rawclient import RawClient

INVALID_GROUP_ID, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION = 24, 25, 22
INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT = 23, 26
MEMBER_ID_REQUIRED, GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP = 79, 69, 68


@pytest.fixture
def raw(broker: BrokerProcess) -> Iterator[RawClient]:
    with RawClient(broker.bootstrap) as client:
        yield client


def join(raw: RawClient, group: str, member_id: str = "", version: int = 5, protocol_type: str = "consumer",
         session_timeout: int = 10000) -> JoinGroupResponse:
    req = JoinGroupRequest(
        version=version, group_id=group, session_timeout_ms=session_timeout, rebalance_timeout_ms=10000,
        member_id=member_id, group_instance_id=None, protocol_type=protocol_type,
        protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"\x00\x01")],
    )
    return raw.call(req, JoinGroupResponse)


def test_join_error_codes(raw: RawClient, topic_name: str) -> None:
    assert join(raw, "").error_code == INVALID_GROUP_ID
    assert join(raw, topic_name, session_timeout=10).error_code == INVALID_SESSION_TIMEOUT
    assert join(raw, topic_name, member_id="nobody").error_code == UNKNOWN_MEMBER_ID
    first = join(raw, topic_name)
    assert first.error_code == MEMBER_ID_REQUIRED and first.member_id
    joined = join(raw, topic_name, member_id=first.member_id)
    assert joined.error_code == 0 and joined.generation_id == 1 and joined.leader == first.member_id
    assert [m.member_id for m in joined.members] == [first.member_id]
    assert join(raw, topic_name, protocol_type="connect").error_code == INCONSISTENT_GROUP_PROTOCOL
    # v3 and below join directly, without the MEMBER_ID_REQUIRED round trip.
    assert join(raw, f"{topic_name}-v3", version=3).error_code == 0


def test_sync_heartbeat_and_commit_error_codes(raw: RawClient, broker: BrokerProcess, topic_name: str) -> None:
    member = join(raw, topic_name, member_id=join(raw, topic_name).member_id)
    mid, gen = member.member_id, member.generation_id

    def sync(generation: int, member_id: str) -> int:
        req = SyncGroupRequest(version=3, group_id=topic_name, generation_id=generation, member_id=member_id,
                               group_instance_id=None,
                               assignments=[SyncGroupRequest.SyncGroupRequestAssignment(member_id=mid,
                                                                                        assignment=b"a")])
        return raw.call(req, SyncGroupResponse).error_code

    def heartbeat(generation: int, member_id: str, group: str = topic_name) -> int:
        req = HeartbeatRequest(version=3, group_id=group, generation_id=generation, member_id=member_id,
                               group_instance_id=None)
        return raw.call(req, HeartbeatResponse).error_code

    assert sync(gen + 1, mid) == ILLEGAL_GENERATION
    assert sync(gen, "stranger") == UNKNOWN_MEMBER_ID
    assert sync(gen, mid) == 0
    assert heartbeat(gen, mid) == 0
    assert heartbeat(gen - 1, mid) == ILLEGAL_GENERATION
    assert heartbeat(gen, "stranger") == UNKNOWN_MEMBER_ID
    assert heartbeat(0, "x", group=f"{topic_name}-missing") == UNKNOWN_MEMBER_ID

    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topic_name, 1, 1)])
    admin.close()

    def commit(generation: int, member_id: str, group: str = topic_name, topic_: str = topic_name) -> int:
        topic = OffsetCommitRequest.OffsetCommitRequestTopic
        req = OffsetCommitRequest(
            version=7, group_id=group, generation_id_or_member_epoch=generation, member_id=member_id,
            group_instance_id=None,
            topics=[topic(name=topic_, partitions=[topic.OffsetCommitRequestPartition(
                partition_index=0, committed_offset=1, committed_leader_epoch=-1, committed_metadata="")])],
        )
        return raw.call(req, OffsetCommitResponse).topics[0].partitions[0].error_code

    assert commit(gen + 5, mid) == ILLEGAL_GENERATION
    assert commit(-1, "") == UNKNOWN_MEMBER_ID  # simple commits only while the group is empty
    assert commit(gen, mid) == 0
    # An unknown topic is answered before the group is looked at, as Kafka 4.4 does.
    assert commit(gen + 5, mid, topic_="__missing_topic__") == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert commit(3, "someone", group=f"{topic_name}-new") == ILLEGAL_GENERATION

    deleted = raw.call(DeleteGroupsRequest(version=2, groups_names=[topic_name, f"{topic_name}-none"]),
                       DeleteGroupsResponse)
    assert [(r.group_id, r.error_code) for r in deleted.results] == [
        (topic_name, NON_EMPTY_GROUP), (f"{topic_name}-none", GROUP_ID_NOT_FOUND)
    ]


def test_offset_fetch_several_groups_at_once(raw: RawClient, broker: BrokerProcess, topic_name: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send(topic_name, b"x").get(timeout=10)
    producer.close()
    tp = TopicPartition(topic_name, 0)
    for group, offset in (("a", 1), ("b", 0)):
        c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=f"{topic_name}-{group}",
                          enable_auto_commit=False)
        c.assign([tp])
        c.commit({tp: OffsetAndMetadata(offset, "meta-" + group, -1)})
        c.close()
    group_req = OffsetFetchRequest.OffsetFetchRequestGroup
    req = OffsetFetchRequest(version=8, require_stable=False, groups=[
        group_req(group_id=f"{topic_name}-{g}", topics=None) for g in ("a", "b", "c")
    ])
    resp = raw.call(req, OffsetFetchResponse)
    got = {g.group_id: [(p.committed_offset, p.metadata) for t in g.topics for p in t.partitions]
           for g in resp.groups}
    assert got == {f"{topic_name}-a": [(1, "meta-a")], f"{topic_name}-b": [(0, "meta-b")], f"{topic_name}-c": []}
