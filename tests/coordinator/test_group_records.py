"""Records, then replay: the group coordinator's durable state changes only through replay.

Checked here: the JSON layout of consumer_offsets.log (a log written before records.py loads),
that replaying the log (or a snapshot) rebuilds what live operations built, the state-transition
table, and that a write the disk refuses changes nothing and answers NOT_COORDINATOR.
"""

from __future__ import annotations

import errno
import inspect
from pathlib import Path
from typing import Any

import pytest

from kafkalite.config import BrokerConfig
from kafkalite.coordinator import group as group_module
from kafkalite.coordinator.group import (
    VALID_PREVIOUS_STATES,
    GroupCoordinator,
    GroupState,
    IllegalStateTransition,
)
from kafkalite.coordinator.offsets import OffsetEntry
from kafkalite.coordinator.records import (
    GroupMetadataRecord,
    GroupTombstone,
    MemberRecord,
    OffsetCommitRecord,
    OffsetTombstone,
    TxnOffsetCommitRecord,
    TxnOffsetEndRecord,
    decode_group_record,
)
from kafkalite.errors import ErrorCode
from kafkalite.storage.metadata_log import MetadataLog
from tests.coordinator.test_group import GROUP, Harness, one, replayed, summary


def full_summary(coord: GroupCoordinator) -> dict[str, Any]:
    """``summary`` plus what expiry depends on (when each group entered its state)."""
    out = summary(coord)
    for gid, g in coord._groups.items():
        out[gid]["state_timestamp"] = g.state_timestamp
    return out


# ---- the on-disk layout ------------------------------------------------------------------------------------------

# consumer_offsets.log lines exactly as the coordinator wrote them before records.py (a927f89).
OLD_FORMAT = [
    {"t": "group", "g": "old", "type": "consumer", "gen": 3, "proto": "range", "leader": "m-1",
     "members": [{"id": "m-1", "inst": None, "client": "c1", "host": "/10.0.0.1", "st": 10000, "rt": 30000,
                  "protos": [["range", "0001"]], "asg": "aa"},
                 {"id": "m-2", "inst": "i2", "client": "c2", "host": "/10.0.0.2", "st": 10000, "rt": 30000,
                  "protos": [["range", "0002"]], "asg": "bb"}]},
    {"t": "offset", "g": "old", "topic": "t", "p": 0, "o": 42, "e": 3, "m": "meta", "ts": 1000},
    {"t": "offset", "g": "old", "topic": "t", "p": 1, "o": 7, "e": -1, "m": "", "ts": 1001},
    {"t": "offset", "g": "old", "topic": "t", "p": 1, "o": None},
    {"t": "offset", "g": "simple", "topic": "u", "p": 0, "o": 5, "e": -1, "m": "", "ts": 1002},
    {"t": "txn_offset", "g": "txg", "pid": 9, "topic": "t", "p": 0, "o": 11, "e": -1, "m": "", "ts": 1003},
    {"t": "txn_offset", "g": "txg", "pid": 9, "topic": "t", "p": 1, "o": 12, "e": -1, "m": "", "ts": 1003},
    {"t": "txn_end", "g": "txg", "pid": 9, "commit": True},
    {"t": "txn_offset", "g": "txg", "pid": 10, "topic": "t", "p": 2, "o": 13, "e": -1, "m": "", "ts": 1004},
    {"t": "group", "g": "gone", "type": "consumer", "gen": 1, "proto": None, "leader": None, "members": []},
    {"t": "offset", "g": "gone", "topic": "t", "p": 0, "o": 1, "e": -1, "m": "", "ts": 1005},
    {"t": "group_deleted", "g": "gone"},
    {"t": "group", "g": "emptied", "type": "consumer", "gen": 4, "proto": None, "leader": None, "members": []},
]


def check_old_format_state(coord: GroupCoordinator) -> None:
    old = coord.describe("old")
    assert old is not None and old.state == GroupState.STABLE
    assert (old.protocol_type, old.protocol_name) == ("consumer", "range")
    assert [(m.member_id, m.group_instance_id, m.metadata, m.assignment) for m in old.members] == [
        ("m-1", None, b"\x00\x01", b"\xaa"), ("m-2", "i2", b"\x00\x02", b"\xbb")]
    assert coord.heartbeat(2000, "old", 3, "m-2", "i2") == ErrorCode.NONE
    assert coord.committed("old") == {("t", 0): OffsetEntry(42, 3, "meta", 1000)}
    assert coord.committed("simple") == {("u", 0): OffsetEntry(5, -1, "", 1002)}
    assert coord.committed("txg") == {("t", 0): OffsetEntry(11, -1, "", 1003), ("t", 1): OffsetEntry(12, -1, "", 1003)}
    assert coord.has_pending_txn_offset("txg", "t", 2)
    assert coord.describe("gone") is None and coord.committed("gone") == {}
    emptied = coord.describe("emptied")
    assert emptied is not None and emptied.state == GroupState.EMPTY and emptied.protocol_type == "consumer"
    assert coord._groups["emptied"].generation == 4
    assert coord._groups["emptied"].state_timestamp is None  # unknown in the old layout: commit times count


def test_every_old_format_line_decodes_and_encodes_back_unchanged() -> None:
    for doc in OLD_FORMAT:
        assert decode_group_record(doc).to_json() == doc


def test_a_log_written_in_the_old_format_loads(tmp_path: Path) -> None:
    path = tmp_path / "consumer_offsets.log"
    writer = MetadataLog(path)
    writer.open()
    for doc in OLD_FORMAT:
        writer.append(doc)
    writer.close()
    check_old_format_state(replayed(list(MetadataLog(path).replay()), now=1500))


def test_a_data_dir_written_in_the_old_format_starts(tmp_path: Path) -> None:
    """The whole broker state opens on it, and new records go after the old ones."""
    from kafkalite.broker.broker import BrokerState

    writer = MetadataLog(tmp_path / "consumer_offsets.log")
    writer.open()
    for doc in OLD_FORMAT:
        writer.append(doc)
    writer.close()
    state = BrokerState(BrokerConfig(data_dir=tmp_path))
    state.open()
    try:
        check_old_format_state(state.groups)
        assert state.groups.commit(3000, "simple", "u", 1, 6, -1, None) == ErrorCode.NONE
    finally:
        state.close()
    lines = list(MetadataLog(tmp_path / "consumer_offsets.log").replay())
    assert lines[: len(OLD_FORMAT)] == OLD_FORMAT
    assert lines[-1] == {"t": "offset", "g": "simple", "topic": "u", "p": 1, "o": 6, "e": -1, "m": "", "ts": 3000}


def test_new_records_keep_the_old_keys_and_add_only_optional_ones() -> None:
    member = MemberRecord("m", None, "c", "/h", 1, 2, (("range", b"\x01"),), b"\x02")
    assert GroupMetadataRecord("g", "consumer", 1, "range", "m", (member,), 77).to_json() == {
        "t": "group", "g": "g", "type": "consumer", "gen": 1, "proto": "range", "leader": "m",
        "members": [{"id": "m", "inst": None, "client": "c", "host": "/h", "st": 1, "rt": 2,
                     "protos": [["range", "01"]], "asg": "02"}], "sts": 77}
    assert OffsetCommitRecord("g", "t", 0, 5, 1, "x", 9).to_json() == {
        "t": "offset", "g": "g", "topic": "t", "p": 0, "o": 5, "e": 1, "m": "x", "ts": 9}
    assert OffsetTombstone("g", "t", 0).to_json() == {"t": "offset", "g": "g", "topic": "t", "p": 0, "o": None}
    assert TxnOffsetCommitRecord("g", 4, "t", 0, 5, 1, "", 9).to_json()["pid"] == 4
    assert TxnOffsetEndRecord("g", 4, False).to_json() == {"t": "txn_end", "g": "g", "pid": 4, "commit": False}
    assert GroupTombstone("g").to_json() == {"t": "group_deleted", "g": "g"}
    with pytest.raises(ValueError):
        decode_group_record({"t": "mystery", "g": "g"})


# ---- replay equivalence ---------------------------------------------------------------------------------------------


def test_live_state_equals_the_replayed_log_and_the_replayed_snapshot() -> None:
    h = Harness()
    d, s = h.dynamic_and_static_stable(0)
    assert h.coord.validate_commit(GROUP, 2, d, None) == 0
    assert h.coord.commit_offsets(100, GROUP, [("t", 0, 10, 1, "a"), ("t", 1, 11, 1, None)]) == [0, 0]
    h.coord.validate_commit("simple", -1, "", None)
    h.coord.commit(110, "simple", "u", 0, 5, -1, None)
    assert h.coord.validate_txn_commit("txg", -1, "", None) == 0
    h.coord.txn_commit(120, "txg", 7, "t", 0, 20, -1, "x")
    h.coord.txn_commit(121, "txg", 8, "t", 1, 21, -1, "y")
    h.coord.settle_txn(7, {"txg"}, True)
    h.coord.settle_txn(8, {"txg"}, False)
    h.coord.txn_commit(122, "txg", 9, "t", 2, 22, -1, None)  # still open
    h.coord.delete_offsets(GROUP, [("t", 1)])
    # the static member restarts with a new id: no rebalance, a new record
    rs = h.join(200, instance="i1")
    new_s = one(rs)["member_id"]
    assert new_s != s and h.group.state == GroupState.STABLE
    # a second group empties
    a, _ = h.new_member(300, group="other")
    one(h.sync(300, a, 1, {a: b"x"}, group="other"))
    h.coord.leave(400, "other", [(a, None)])
    assert h.coord.describe("other").state == GroupState.EMPTY

    live = full_summary(h.coord)
    assert full_summary(replayed(h.records, now=500)) == live
    assert full_summary(replayed(h.coord.snapshot(), now=500)) == live
    assert len(h.coord.snapshot()) < len(h.records)


def test_every_durable_change_goes_through_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each record written is replayed right after it is stored, and only then."""
    h = Harness()
    seen: list[dict[str, Any]] = []
    original = h.coord.replay

    def spy(record: Any) -> None:
        assert (h.records and h.records[-1] == record.to_json()) or record.to_json() in h.records
        seen.append(record.to_json())
        original(record)

    monkeypatch.setattr(h.coord.runtime, "_coordinator", type("C", (), {"replay": staticmethod(spy)})())
    a = h.single_stable()
    h.coord.validate_commit(GROUP, 1, a, None)
    h.coord.commit(10, GROUP, "t", 0, 1, -1, None)
    h.coord.leave(20, GROUP, [(a, None)])
    h.coord.delete_group(GROUP)
    assert seen == h.records
    assert [r["t"] for r in seen] == ["group", "offset", "group", "group_deleted"]


# ---- guarded transitions ------------------------------------------------------------------------------------------


def test_the_transition_table_is_kafkas() -> None:
    S = GroupState
    assert {
        S.EMPTY: {S.PREPARING_REBALANCE},
        S.PREPARING_REBALANCE: {S.STABLE, S.COMPLETING_REBALANCE, S.EMPTY},
        S.COMPLETING_REBALANCE: {S.PREPARING_REBALANCE},
        S.STABLE: {S.COMPLETING_REBALANCE},
        S.DEAD: {S.STABLE, S.PREPARING_REBALANCE, S.COMPLETING_REBALANCE, S.EMPTY, S.DEAD},
    } == VALID_PREVIOUS_STATES


@pytest.mark.parametrize("start", list(GroupState))
@pytest.mark.parametrize("target", list(GroupState))
def test_an_illegal_move_fails_loudly(start: GroupState, target: GroupState) -> None:
    h = Harness()
    h.coord.validate_commit(GROUP, -1, "", None)
    h.group.state = start
    if start in VALID_PREVIOUS_STATES[target]:
        h.coord._transition(h.group, target, 5)
        assert (h.group.state, h.group.state_timestamp) == (target, 5)
    else:
        with pytest.raises(IllegalStateTransition, match=f"{start.value} -> {target.value}"):
            h.coord._transition(h.group, target, 5)
        assert h.group.state == start


def test_the_state_is_assigned_in_one_place_only() -> None:
    """Every state change goes through _transition (a new Group built by replay starts in its state)."""
    source = inspect.getsource(group_module)
    assert source.count(".state = ") == 1
    assert "group.state = state" in inspect.getsource(GroupCoordinator._transition)


# ---- a write the disk refuses ----------------------------------------------------------------------------------


ENOSPC = OSError(errno.ENOSPC, "No space left on device")
EIO = OSError(errno.EIO, "Input/output error")


def test_failed_offset_commit_changes_nothing_and_answers_not_coordinator() -> None:
    h = Harness()
    h.coord.validate_commit("s", -1, "", None)
    h.coord.commit(10, "s", "t", 0, 1, -1, None)
    before, records = full_summary(h.coord), list(h.records)
    h.log.fail = ENOSPC
    assert h.coord.commit_offsets(20, "s", [("t", 0, 2, -1, None), ("t", 1, 3, -1, "x" * 5000)]) == [
        ErrorCode.NOT_COORDINATOR, ErrorCode.OFFSET_METADATA_TOO_LARGE]
    assert h.coord.commit(20, "s", "t", 0, 2, -1, None) == ErrorCode.NOT_COORDINATOR
    assert full_summary(h.coord) == before and h.records == records
    h.log.fail = None
    assert h.coord.commit(30, "s", "t", 0, 2, -1, None) == 0
    assert h.coord.committed("s")[("t", 0)].offset == 2


def test_a_simple_group_whose_first_commit_failed_is_not_left_behind() -> None:
    h = Harness()
    h.log.fail = ENOSPC
    assert h.coord.validate_commit("new", -1, "", None) == 0
    assert h.coord.commit(1, "new", "t", 0, 1, -1, None) == ErrorCode.NOT_COORDINATOR
    assert h.coord.describe("new") is None
    assert h.coord.validate_txn_commit("newtx", -1, "", None) == 0
    assert h.coord.txn_commit(1, "newtx", 3, "t", 0, 1, -1, None) == ErrorCode.NOT_COORDINATOR
    assert h.coord.describe("newtx") is None


def test_failed_txn_offset_commit_and_settle_change_nothing() -> None:
    h = Harness()
    h.coord.validate_txn_commit("g", -1, "", None)
    h.log.fail = EIO
    assert h.coord.txn_commit(1, "g", 5, "t", 0, 1, -1, None) == ErrorCode.NOT_COORDINATOR
    assert not h.coord.has_pending_txn_offset("g", "t", 0)
    h.log.fail = None
    assert h.coord.txn_commit(1, "g", 5, "t", 0, 1, -1, None) == 0
    h.log.fail = EIO
    with pytest.raises(OSError):
        h.coord.settle_txn(5, {"g"}, True)  # the transaction coordinator decides what its caller sees
    assert h.coord.has_pending_txn_offset("g", "t", 0) and h.coord.committed("g") == {}


def test_failed_delete_group_and_offset_delete_change_nothing() -> None:
    h = Harness()
    h.coord.validate_commit("s", -1, "", None)
    h.coord.commit(10, "s", "t", 0, 1, -1, None)
    h.log.fail = ENOSPC
    assert h.coord.delete_offsets("s", [("t", 0)]) == ErrorCode.NOT_COORDINATOR
    assert h.coord.delete_group("s") == ErrorCode.NOT_COORDINATOR
    assert h.coord.committed("s") == {("t", 0): OffsetEntry(1, -1, "", 10)}
    assert h.coord.describe("s") is not None


def test_failed_leader_sync_answers_every_waiting_member_and_rebalances() -> None:
    """Kafka: the assignment could not be stored, so every parked SyncGroup gets the error and the group rejoins."""
    h = Harness()
    a, b = h.pair_completing(0)
    rb = h.sync(10, b, 2)
    assert rb == []
    records = list(h.records)
    h.log.fail = ENOSPC
    ra = h.sync(10, a, 2, {a: b"A", b: b"B"})
    assert one(ra)["error_code"] == one(rb)["error_code"] == ErrorCode.NOT_COORDINATOR
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.records == records
    assert replayed(h.records)._groups[GROUP].generation == 1  # the disk still has the last Stable generation
    # the disk recovers: both rejoin and the next generation is stored
    h.log.fail = None
    ra, rb = h.join(20, a), h.join(20, b)
    assert one(ra)["generation_id"] == one(rb)["generation_id"] == 3
    rb = h.sync(20, b, 3)
    assert one(h.sync(20, a, 3, {a: b"A", b: b"B"}))["assignment"] == b"A"
    assert one(rb)["assignment"] == b"B"
    assert full_summary(replayed(h.records)) == full_summary(h.coord)


def test_failed_static_replacement_keeps_the_old_member() -> None:
    h = Harness()
    d, s = h.dynamic_and_static_stable(0)
    h.log.fail = ENOSPC
    r = one(h.join(100, instance="i1"))
    assert r["error_code"] == ErrorCode.NOT_COORDINATOR and r["member_id"] == ""
    assert list(h.group.members) == [d, s] and h.group.static == {"i1": s}
    assert h.heartbeat(150, s, 2, instance="i1") == ErrorCode.NONE
    assert h.group.state == GroupState.STABLE
    h.log.fail = None
    assert full_summary(replayed(h.records)) == full_summary(h.coord)


def test_an_empty_generation_the_disk_refused_still_moves_on_in_memory() -> None:
    """As Kafka: no member depends on it; after a restart the previous generation comes back and times out."""
    h = Harness()
    a = h.single_stable(0)
    h.log.fail = ENOSPC
    h.coord.leave(10, GROUP, [(a, None)])
    assert h.group.state == GroupState.EMPTY and h.group.generation == 2
    restored = replayed(h.records, now=20)
    assert restored._groups[GROUP].state == GroupState.STABLE
    restored.tick(20 + 10_000)
    restored.tick(20 + 10_000 + 30_000)
    assert restored._groups[GROUP].state == GroupState.EMPTY


def test_fsync_always_flushes_every_write_before_answering() -> None:
    h = Harness()
    h.coord = GroupCoordinator(h.coord.config, h.log, fsync=True)
    h.coord.validate_commit("s", -1, "", None)
    h.coord.commit(1, "s", "t", 0, 1, -1, None)
    assert h.log.flushes == 1
    h.coord.commit_offsets(2, "s", [("t", 0, 2, -1, None), ("t", 1, 2, -1, None)])
    assert h.log.flushes == 2  # one write, one fsync
    plain = Harness()
    plain.coord.validate_commit("s", -1, "", None)
    plain.coord.commit(1, "s", "t", 0, 1, -1, None)
    assert plain.log.flushes == 0


def test_broker_state_wires_fsync_always_to_the_group_log(tmp_path: Path) -> None:
    from kafkalite.broker.broker import BrokerState

    for policy, expected in (("always", True), ("never", False), ("interval", False)):
        state = BrokerState(BrokerConfig(data_dir=tmp_path / policy, fsync=policy))
        assert state.groups.runtime.fsync is expected


def test_a_tombstone_for_a_group_that_is_gone_does_not_bring_it_back() -> None:
    fresh = replayed([{"t": "offset", "g": "x", "topic": "t", "p": 0, "o": None},
                      {"t": "txn_end", "g": "y", "pid": 1, "commit": True}])
    assert fresh.describe("x") is None and fresh.describe("y") is None
    assert fresh.list_groups() == []
