"""Committed offsets of an empty group expire after ``offsets.retention.minutes``, then the group goes.

A real kafka-python consumer commits and leaves; the in-process broker's clock then jumps past
Kafka's default retention (7 days) instead of the test waiting for it. OffsetFetch answers -1 and
ListGroups no longer lists the group, as Kafka 4 does after its retention check.
"""

from __future__ import annotations

import uuid

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import OffsetAndMetadata

from compat_tests.conftest import wait_for
from kafkalite import Broker
from kafkalite.clock import Clock

DAY_MS = 24 * 60 * 60 * 1000


class JumpingClock(Clock):
    """The wall clock plus a jump the test sets (monotonic time, for timeouts, is left alone)."""

    def __init__(self) -> None:
        self.jump_ms = 0

    def now_ms(self) -> int:
        return super().now_ms() + self.jump_ms


def test_offsets_of_an_empty_group_expire_and_the_group_is_removed() -> None:
    clock = JumpingClock()
    topic, group = f"expiry-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    with Broker(port=0, clock=clock) as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        try:
            admin.create_topics([NewTopic(topic, 1, 1)])
            tp = TopicPartition(topic, 0)
            consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap_servers, group_id=group,
                                     enable_auto_commit=False, session_timeout_ms=6000)
            # The topic's metadata before the first poll, so the first JoinGroup already assigns the
            # partition. Otherwise kafka-python 3.0.12 joins with no metadata, assigns nothing, and
            # rebalances again once the metadata arrives; when a poll's timeout expires during that
            # second rebalance, the client never applies the SyncGroup answer (need_rejoin() is
            # False by then, so no later poll collects the join) and stays unassigned. That was
            # the CI flake "timed out waiting for assignment"; the broker answered every request.
            assert consumer.partitions_for_topic(topic) == {0}
            wait_for(lambda: consumer.poll(timeout_ms=100) is not None and consumer.assignment(), what="assignment")
            consumer.commit({tp: OffsetAndMetadata(5, "", -1)})
            consumer.close()  # LeaveGroup: the group is Empty from now on

            def listed() -> set[str]:
                return {g["group_id"] for g in admin.list_groups()}

            def listed_state() -> str | None:
                return {g["group_id"]: g["group_state"] for g in admin.list_groups()}.get(group)

            def committed() -> int:
                return admin.list_group_offsets({group: [tp]})[group][tp].offset  # type: ignore[no-any-return]

            # LeaveGroup may still be on its way: the retention counts from when the group is Empty.
            wait_for(lambda: listed_state() == "Empty", what="the group to be Empty")
            assert committed() == 5
            coordinator = broker._server.state.groups
            clock.jump_ms = 6 * DAY_MS  # within offsets.retention.minutes (7 days): nothing goes
            jumped = clock.now_ms()
            wait_for(lambda: coordinator._next_expiry_check > jumped, what="an expiry check after the jump")
            assert group in listed()
            assert committed() == 5

            clock.jump_ms = 8 * DAY_MS
            wait_for(lambda: group not in listed(), what="the expired group to leave ListGroups")
            assert committed() == -1
        finally:
            admin.close()
