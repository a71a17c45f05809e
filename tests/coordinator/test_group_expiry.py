"""Offset and group expiry as Kafka 4 runs it (OffsetMetadataManager.cleanupExpiredOffsets,
GroupMetadataManager.cleanupGroupMetadata), driven by ``tick(now)`` at the check interval."""

from __future__ import annotations

from kafka.protocol.consumer import ConsumerProtocolSubscription

from kafkalite.coordinator.group import GroupState
from tests.coordinator.test_group import GROUP, Harness, one, replayed

RETENTION = 60_000
INTERVAL = 1_000


def harness() -> Harness:
    return Harness(offsets_retention_ms=RETENTION, offsets_retention_check_interval_ms=INTERVAL)


def subscription(*topics: str) -> list[tuple[str, bytes]]:
    return [("range", ConsumerProtocolSubscription(version=0, topics=list(topics), user_data=None).encode(version=0))]


def test_defaults_are_kafkas() -> None:
    config = Harness().coord.config
    assert config.offsets_retention_ms == 7 * 24 * 60 * 60 * 1000
    assert config.offsets_retention_check_interval_ms == 600_000


def test_simple_group_offsets_expire_from_their_commit_time_then_the_group_goes() -> None:
    h = harness()
    h.coord.validate_commit("s", -1, "", None)
    h.coord.commit(0, "s", "t", 0, 1, -1, None)
    h.coord.commit(30_000, "s", "t", 1, 2, -1, None)
    assert h.coord.cleanup_expired(RETENTION - 1) == 0
    assert h.coord.cleanup_expired(RETENTION) == 1
    assert set(h.coord.committed("s")) == {("t", 1)}
    assert h.coord.describe("s") is not None
    assert h.coord.cleanup_expired(30_000 + RETENTION) == 2  # the last offset and the group's tombstone
    assert h.coord.committed("s") == {} and h.coord.describe("s") is None
    assert h.records[-2:] == [{"t": "offset", "g": "s", "topic": "t", "p": 1, "o": None},
                              {"t": "group_deleted", "g": "s"}]
    assert replayed(h.records).describe("s") is None


def test_empty_group_offsets_expire_from_when_it_became_empty() -> None:
    h = harness()
    a = h.single_stable(0)
    h.coord.validate_commit(GROUP, 1, a, None)
    h.coord.commit(0, GROUP, "t", 0, 5, -1, None)
    h.coord.leave(10_000, GROUP, [(a, None)])
    assert h.group.state == GroupState.EMPTY and h.group.state_timestamp == 10_000
    assert h.coord.cleanup_expired(RETENTION + 5_000) == 0  # the commit is older, but the group emptied later
    assert h.coord.committed(GROUP)
    assert h.coord.cleanup_expired(10_000 + RETENTION) == 2
    assert h.coord.describe(GROUP) is None


def test_the_time_a_group_became_empty_survives_a_restart() -> None:
    h = harness()
    a = h.single_stable(0)
    h.coord.validate_commit(GROUP, 1, a, None)
    h.coord.commit(0, GROUP, "t", 0, 5, -1, None)
    h.coord.leave(10_000, GROUP, [(a, None)])
    fresh = replayed(h.records, now=20_000, offsets_retention_ms=RETENTION)
    assert fresh._groups[GROUP].state_timestamp == 10_000
    assert fresh.cleanup_expired(RETENTION + 5_000) == 0
    assert fresh.cleanup_expired(10_000 + RETENTION) == 2


def test_an_empty_group_from_an_old_log_counts_from_the_commit_time() -> None:
    h = harness()
    old = [{"t": "group", "g": "old", "type": "consumer", "gen": 2, "proto": None, "leader": None, "members": []},
           {"t": "offset", "g": "old", "topic": "t", "p": 0, "o": 1, "e": -1, "m": "", "ts": 5_000}]
    fresh = replayed(old, now=0, offsets_retention_ms=RETENTION)
    assert fresh.cleanup_expired(5_000 + RETENTION - 1) == 0
    assert fresh.cleanup_expired(5_000 + RETENTION) == 2
    assert h.records == []


def test_stable_group_offsets_never_expire_for_subscribed_topics() -> None:
    """A Stable consumer group keeps offsets of topics it subscribes to; others expire from their commit time."""
    h = harness()
    a, ra = h.new_member(0, protocols=subscription("t"))
    one(ra)
    one(h.sync(0, a, 1, {a: b"x"}))
    h.coord.validate_commit(GROUP, 1, a, None)
    h.coord.commit(0, GROUP, "t", 0, 5, -1, None)
    h.coord.commit(0, GROUP, "old-topic", 0, 6, -1, None)
    assert h.heartbeat(RETENTION // 2, a, 1) == 0
    assert h.coord.cleanup_expired(RETENTION) == 1
    assert set(h.coord.committed(GROUP)) == {("t", 0)}
    assert h.coord.cleanup_expired(10 * RETENTION) == 0
    assert h.coord.describe(GROUP).state == GroupState.STABLE


def test_nothing_expires_while_a_group_rebalances() -> None:
    h = harness()
    a = h.single_stable(0)
    h.coord.validate_commit(GROUP, 1, a, None)
    h.coord.commit(0, GROUP, "t", 0, 5, -1, None)
    h.join(1, a, protocols=[("range", b"other")])
    assert h.group.state != GroupState.STABLE
    assert h.coord.cleanup_expired(10 * RETENTION) == 0


def test_offsets_with_a_pending_transactional_commit_never_expire() -> None:
    h = harness()
    h.coord.validate_txn_commit("s", -1, "", None)
    h.coord.commit(0, "s", "t", 0, 1, -1, None)
    h.coord.commit(0, "s", "t", 1, 1, -1, None)
    h.coord.txn_commit(0, "s", 7, "t", 0, 2, -1, None)
    assert h.coord.cleanup_expired(10 * RETENTION) == 1  # only t-1
    assert set(h.coord.committed("s")) == {("t", 0)}
    assert h.coord.describe("s") is not None  # an open transaction keeps the group too
    h.coord.settle_txn(7, {"s"}, True)
    assert h.coord.committed("s")[("t", 0)].offset == 2
    assert h.coord.cleanup_expired(RETENTION) == 2  # the settled offset carries its commit time (0)
    assert h.coord.describe("s") is None


def test_an_empty_group_without_offsets_is_removed_at_the_next_check() -> None:
    h = harness()
    a = h.single_stable(0)
    h.coord.leave(10, GROUP, [(a, None)])
    assert h.coord.cleanup_expired(11) == 1
    assert h.coord.describe(GROUP) is None
    assert h.records[-1] == {"t": "group_deleted", "g": GROUP}


def test_groups_with_members_or_pending_ids_are_kept() -> None:
    h = harness()
    h.single_stable(0)
    one(h.join(0, group="pending"))  # a KIP-394 member id handed out, not yet joined
    assert h.coord.describe("pending").state == GroupState.EMPTY
    assert h.coord.cleanup_expired(1) == 0
    assert h.coord.describe(GROUP) is not None and h.coord.describe("pending") is not None


def test_tick_runs_the_check_at_the_interval_only() -> None:
    h = harness()
    h.coord.validate_commit("s", -1, "", None)
    h.coord.commit(0, "s", "t", 0, 1, -1, None)
    h.coord.tick(RETENTION - 500)  # the first tick sets the schedule: next check at RETENTION + 500
    h.coord.tick(RETENTION + 499)
    assert h.coord.committed("s")
    h.coord.tick(RETENTION + 500)
    assert h.coord.committed("s") == {} and h.coord.describe("s") is None


def test_a_refused_expiry_write_changes_nothing_and_is_retried() -> None:
    h = harness()
    h.coord.validate_commit("s", -1, "", None)
    h.coord.commit(0, "s", "t", 0, 1, -1, None)
    h.log.fail = OSError(28, "No space left on device")
    assert h.coord.cleanup_expired(RETENTION) == 0
    assert h.coord.committed("s")
    h.log.fail = None
    assert h.coord.cleanup_expired(RETENTION) == 2


def test_the_replayed_log_after_expiry_equals_the_live_state() -> None:
    from tests.coordinator.test_group_records import full_summary

    h = harness()
    a = h.single_stable(0)
    h.coord.validate_commit(GROUP, 1, a, None)
    h.coord.commit(0, GROUP, "t", 0, 5, -1, None)
    h.coord.validate_commit("s", -1, "", None)
    h.coord.commit(0, "s", "t", 0, 5, -1, None)
    h.coord.commit(RETENTION, "s", "t", 1, 5, -1, None)
    h.coord.cleanup_expired(RETENTION)
    assert full_summary(replayed(h.records)) == full_summary(h.coord)


def test_an_explicit_retention_time_sets_the_offsets_own_expiry() -> None:
    """OffsetCommit v2-v4's retention_time_ms: the offset expires then (Kafka's expireTimestampMs), before or after
    offsets.retention.minutes, but only when the group's offsets may expire at all."""
    h = harness()
    h.coord.validate_commit("s", -1, "", None)
    assert h.coord.commit_offsets(0, "s", [("t", 0, 1, -1, None)], retention_ms=1_000) == [0]
    assert h.coord.commit_offsets(0, "s", [("t", 1, 1, -1, None)], retention_ms=10 * RETENTION) == [0]
    assert [r["x"] for r in h.records] == [1_000, 10 * RETENTION]
    h.coord.commit(0, "s", "u", 0, 1, -1, None)
    assert "x" not in h.records[-1]  # no explicit retention: the layout of before
    assert replayed(h.records).committed("s") == h.coord.committed("s")
    assert h.coord.cleanup_expired(999) == 0
    assert h.coord.cleanup_expired(1_000) == 1
    assert h.coord.cleanup_expired(RETENTION) == 1  # u-0 by the broker's retention; t-1 keeps its own, longer
    assert h.coord.cleanup_expired(10 * RETENTION) == 2
    assert h.coord.describe("s") is None
