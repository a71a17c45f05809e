"""The classic group coordinator state machine, checked against Kafka 4.x's GroupMetadataManager/ClassicGroup.

Everything is driven by explicit ``now`` values and ``tick``; parked JoinGroup/SyncGroup requests are
lists that stay empty until the coordinator answers them.
"""

from __future__ import annotations

from typing import Any

import pytest

from kafkalite.coordinator.group import Group, GroupConfig, GroupCoordinator, GroupState, JoinParams, OffsetEntry
from kafkalite.errors import ErrorCode
from tests.coordinator.memory_log import MemoryLog

GROUP = "g"
SESSION = 10_000
REBALANCE = 30_000
RANGE = [("range", b"range-meta")]

Responses = list[dict[str, Any]]


def one(responses: Responses) -> dict[str, Any]:
    """The single answer a parked or immediate request got."""
    assert len(responses) == 1, responses
    return responses[0]


class Harness:
    def __init__(self, **config: Any) -> None:
        self.log = MemoryLog()
        self.coord = GroupCoordinator(GroupConfig(**config), self.log)

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.log.docs

    @property
    def group(self) -> Group:
        return self.coord._groups[GROUP]  # tests look inside; handlers ask through describe()

    def join(
        self,
        now: int,
        member_id: str = "",
        *,
        group: str = GROUP,
        instance: str | None = None,
        client: str = "client",
        session: int = SESSION,
        rebalance: int = REBALANCE,
        protocol_type: str = "consumer",
        protocols: list[tuple[str, bytes]] = RANGE,
        version: int = 5,
    ) -> Responses:
        out: Responses = []
        params = JoinParams(group, member_id, instance, client, "/10.0.0.1", session, rebalance, protocol_type,
                            list(protocols), version)
        self.coord.join(now, params, out.append)
        return out

    def new_member(self, now: int, **kw: Any) -> tuple[str, Responses]:
        """KIP-394 two-step join (v4+): the id handed out, and the second JoinGroup's answers."""
        first = one(self.join(now, **kw))
        assert first["error_code"] == ErrorCode.MEMBER_ID_REQUIRED
        member_id = first["member_id"]
        return member_id, self.join(now, member_id, **kw)

    def sync(
        self,
        now: int,
        member_id: str,
        generation: int,
        assignments: dict[str, bytes] | None = None,
        *,
        group: str = GROUP,
        instance: str | None = None,
        protocol_type: str | None = "consumer",
        protocol_name: str | None = "range",
    ) -> Responses:
        out: Responses = []
        self.coord.sync(now, group, generation, member_id, instance, protocol_type, protocol_name,
                        assignments or {}, out.append)
        return out

    def heartbeat(self, now: int, member_id: str, generation: int, *, instance: str | None = None,
                  group: str = GROUP) -> int:
        return self.coord.heartbeat(now, group, generation, member_id, instance)

    def single_stable(self, now: int = 0) -> str:
        """One dynamic member, synced: Stable at generation 1."""
        a, ra = self.new_member(now)
        assert one(ra)["generation_id"] == 1
        assert one(self.sync(now, a, 1, {a: b"A1"}))["error_code"] == 0
        assert self.group.state == GroupState.STABLE
        return a

    def pair_completing(self, now: int = 0) -> tuple[str, str]:
        """Leader a and follower b joined at generation 2; nobody has synced yet."""
        a = self.single_stable(now)
        b, rb = self.new_member(now)
        assert rb == []
        ra = self.join(now, a)
        assert one(ra)["generation_id"] == one(rb)["generation_id"] == 2
        assert self.group.state == GroupState.COMPLETING_REBALANCE
        return a, b

    def pair_stable(self, now: int = 0) -> tuple[str, str]:
        """Leader a and follower b, both synced: Stable at generation 2."""
        a, b = self.pair_completing(now)
        rb = self.sync(now, b, 2)
        assert one(self.sync(now, a, 2, {a: b"A", b: b"B"}))["assignment"] == b"A"
        assert one(rb)["assignment"] == b"B"
        assert self.group.state == GroupState.STABLE
        return a, b

    def dynamic_and_static_stable(self, now: int = 0, *, instance: str = "i1") -> tuple[str, str]:
        """Dynamic leader d and static follower s (instance ``instance``), Stable at generation 2."""
        d = self.single_stable(now)
        rs = self.join(now, instance=instance, client="static-client")
        assert rs == []
        rd = self.join(now, d)
        s = one(rs)["member_id"]
        assert one(rd)["generation_id"] == one(rs)["generation_id"] == 2
        assert one(rd)["leader"] == d
        rs_sync = self.sync(now, s, 2, instance=instance)
        one(self.sync(now, d, 2, {d: b"D", s: b"S"}))
        assert one(rs_sync)["assignment"] == b"S"
        assert self.group.state == GroupState.STABLE
        return d, s


def summary(coord: GroupCoordinator) -> dict[str, Any]:
    """Everything persistence is meant to carry, in a comparable form."""
    return {
        gid: {
            "state": g.state,
            "generation": g.generation,
            "protocol_type": g.protocol_type,
            "protocol_name": g.protocol_name,
            "leader": g.leader_id,
            "members": {
                mid: (m.group_instance_id, m.client_id, m.client_host, m.session_timeout_ms, m.rebalance_timeout_ms,
                      list(m.protocols), m.assignment)
                for mid, m in g.members.items()
            },
            "static": dict(g.static),
            "offsets": dict(coord.committed(gid)),
            "pending": {tp for tp in coord.committed(gid) if coord.has_pending_txn_offset(gid, *tp)},
        }
        for gid, g in coord._groups.items()
    }


def replayed(records: list[dict[str, Any]], now: int = 0, **config: Any) -> GroupCoordinator:
    fresh_log = MemoryLog()
    fresh = GroupCoordinator(GroupConfig(**config), fresh_log)
    fresh.load(records, now)
    assert fresh_log.docs == []  # loading must not write anything back
    return fresh


# ---- JoinGroup: member ids and the first generation ---------------------------------------------


@pytest.mark.parametrize("version", [4, 5, 9])
def test_v4_plus_join_without_member_id_requires_member_id(version):
    h = Harness()
    r = one(h.join(0, version=version))
    assert r["error_code"] == ErrorCode.MEMBER_ID_REQUIRED
    assert r["member_id"].startswith("client-")
    assert r["generation_id"] == -1
    assert h.group.state == GroupState.EMPTY
    assert h.group.members == {}
    assert h.records == []

    second = one(h.join(0, r["member_id"], version=version))
    assert second["error_code"] == 0
    assert second["member_id"] == r["member_id"]
    assert second["generation_id"] == 1


def test_member_ids_are_unique():
    h = Harness()
    ids = {one(h.join(0))["member_id"] for _ in range(5)}
    assert len(ids) == 5


def test_single_member_forms_generation_one_as_leader():
    h = Harness()
    a, ra = h.new_member(0)
    r = one(ra)
    assert r == {
        "error_code": 0,
        "generation_id": 1,
        "protocol_type": "consumer",
        "protocol_name": "range",
        "leader": a,
        "skip_assignment": False,
        "member_id": a,
        "members": [{"member_id": a, "group_instance_id": None, "metadata": b"range-meta"}],
    }
    assert h.group.state == GroupState.COMPLETING_REBALANCE
    assert h.group.generation == 1


@pytest.mark.parametrize("version", [0, 3])
def test_pre_v4_join_gets_member_id_and_generation_directly(version):
    h = Harness()
    r = one(h.join(0, version=version))
    assert r["error_code"] == 0
    assert r["generation_id"] == 1
    assert r["member_id"].startswith("client-")
    assert r["leader"] == r["member_id"]
    assert list(h.group.members) == [r["member_id"]]
    assert h.group.pending == set()


def test_static_member_joins_without_member_id_required():
    h = Harness()
    r = one(h.join(0, instance="i1", version=5))
    assert r["error_code"] == 0
    assert r["generation_id"] == 1
    assert h.group.static == {"i1": r["member_id"]}
    assert r["members"] == [{"member_id": r["member_id"], "group_instance_id": "i1", "metadata": b"range-meta"}]


def test_join_with_member_id_to_unknown_group_is_unknown_member():
    h = Harness()
    r = one(h.join(0, "made-up"))
    assert r["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID
    assert r["member_id"] == "made-up"
    assert GROUP not in h.coord._groups


def test_join_with_unknown_member_id_to_existing_group():
    h = Harness()
    a = h.single_stable()
    r = one(h.join(100, "made-up"))
    assert r["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID
    assert list(h.group.members) == [a]
    assert h.group.state == GroupState.STABLE


def test_pending_member_id_expires_after_session_timeout():
    h = Harness()
    pending = one(h.join(0))["member_id"]
    h.coord.tick(SESSION - 1)
    assert pending in h.group.pending
    h.coord.tick(SESSION)
    assert pending not in h.group.pending
    assert one(h.join(SESSION, pending))["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID


def test_pending_member_holds_back_join_completion():
    h = Harness()
    a = h.single_stable()
    b = one(h.join(100))["member_id"]  # MEMBER_ID_REQUIRED: b is pending, no rebalance yet
    assert h.group.state == GroupState.STABLE
    ra = h.join(200, a)  # the leader rejoining forces a rebalance
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert ra == []  # all members rejoined, but a pending member is still expected
    rb = h.join(300, b)
    assert one(ra)["generation_id"] == one(rb)["generation_id"] == 2
    assert {m["member_id"] for m in one(ra)["members"]} == {a, b}


def test_invalid_group_id():
    h = Harness()
    r = one(h.join(0, group=""))
    assert r["error_code"] == ErrorCode.INVALID_GROUP_ID
    assert h.coord._groups == {}


@pytest.mark.parametrize(
    ("session", "code"),
    [(999, ErrorCode.INVALID_SESSION_TIMEOUT), (1000, ErrorCode.MEMBER_ID_REQUIRED),
     (1_800_000, ErrorCode.MEMBER_ID_REQUIRED), (1_800_001, ErrorCode.INVALID_SESSION_TIMEOUT)],
)
def test_session_timeout_bounds(session, code):
    h = Harness(min_session_timeout_ms=1000, max_session_timeout_ms=1_800_000)
    assert one(h.join(0, session=session))["error_code"] == code


def test_session_timeout_bounds_follow_config():
    h = Harness(min_session_timeout_ms=6000, max_session_timeout_ms=7000)
    assert one(h.join(0, session=5999))["error_code"] == ErrorCode.INVALID_SESSION_TIMEOUT
    assert one(h.join(0, session=7001))["error_code"] == ErrorCode.INVALID_SESSION_TIMEOUT
    assert GROUP not in h.coord._groups


# ---- JoinGroup: protocol checks and selection -----------------------------------------------------


@pytest.mark.parametrize(("protocol_type", "protocols"), [("", RANGE), ("consumer", [])])
def test_first_member_needs_protocol_type_and_protocols(protocol_type, protocols):
    h = Harness()
    r = one(h.join(0, protocol_type=protocol_type, protocols=protocols))
    assert r["error_code"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL


def test_different_protocol_type_is_inconsistent():
    h = Harness()
    h.single_stable()
    r = one(h.join(100, protocol_type="connect"))
    assert r["error_code"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    assert h.group.pending == set()
    assert h.group.state == GroupState.STABLE


def test_no_common_protocol_is_inconsistent():
    h = Harness()
    h.single_stable()
    r = one(h.join(100, protocols=[("roundrobin", b"rr")]))
    assert r["error_code"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    assert h.group.state == GroupState.STABLE


def test_one_common_protocol_is_enough():
    h = Harness()
    h.single_stable()
    r = one(h.join(100, protocols=[("roundrobin", b"rr"), ("range", b"r")]))
    assert r["error_code"] == ErrorCode.MEMBER_ID_REQUIRED


def test_existing_member_switching_to_unsupported_protocol_is_inconsistent():
    h = Harness()
    a = h.single_stable()
    r = one(h.join(100, a, protocols=[("roundrobin", b"rr")]))
    assert r["error_code"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    assert h.group.state == GroupState.STABLE
    assert h.group.generation == 1


@pytest.mark.parametrize(
    ("preferences", "selected"),
    [
        # each member votes for its first protocol that every member supports; most votes wins
        ([["roundrobin", "range"], ["range", "roundrobin"], ["range", "roundrobin", "sticky"]], "range"),
        ([["range", "roundrobin"], ["roundrobin", "range"], ["roundrobin", "range"]], "roundrobin"),
        # the leader's favourite is not supported by everyone, so it cannot be chosen
        ([["sticky", "range"], ["range"]], "range"),
    ],
)
def test_protocol_selection_by_votes(preferences, selected):
    h = Harness(initial_rebalance_delay_ms=100)  # everyone joins the first generation together
    answers = []
    for i, names in enumerate(preferences):
        protocols = [(name, f"{name}-{i}".encode()) for name in names]
        answers.append(h.join(0, client=f"c{i}", protocols=protocols, version=3))
    h.coord.tick(REBALANCE)
    responses = [one(r) for r in answers]
    assert {r["protocol_name"] for r in responses} == {selected}
    assert {r["generation_id"] for r in responses} == {1}
    leader = responses[0]
    assert leader["leader"] == leader["member_id"]
    metadata = {m["member_id"]: m["metadata"] for m in leader["members"]}
    assert metadata == {r["member_id"]: f"{selected}-{i}".encode() for i, r in enumerate(responses)}
    assert all(r["members"] == [] for r in responses[1:])


# ---- rebalancing ----------------------------------------------------------------------------------------


def test_second_member_triggers_rebalance_and_rejoin_completes_generation_two():
    h = Harness()
    a = h.single_stable(0)
    b, rb = h.new_member(1000, protocols=[("range", b"b-meta")])
    assert rb == []
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.heartbeat(1100, a, 1) == ErrorCode.REBALANCE_IN_PROGRESS
    ra = h.join(1200, a)
    leader, follower = one(ra), one(rb)
    assert leader["generation_id"] == follower["generation_id"] == 2
    assert leader["leader"] == follower["leader"] == a
    assert leader["member_id"] == a and follower["member_id"] == b
    assert {m["member_id"]: m["metadata"] for m in leader["members"]} == {a: b"range-meta", b: b"b-meta"}
    assert follower["members"] == []
    assert h.group.state == GroupState.COMPLETING_REBALANCE


def test_leader_rejoin_while_stable_forces_rebalance():
    h = Harness()
    a, b = h.pair_stable()
    ra = h.join(100, a)
    assert ra == []
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.heartbeat(200, b, 2) == ErrorCode.REBALANCE_IN_PROGRESS
    rb = h.join(300, b)
    assert one(ra)["generation_id"] == one(rb)["generation_id"] == 3


def test_follower_rejoin_with_same_metadata_while_stable_gets_current_generation():
    h = Harness()
    a, b = h.pair_stable()
    r = one(h.join(100, b))
    assert r["error_code"] == 0
    assert r["generation_id"] == 2
    assert r["leader"] == a
    assert r["members"] == []
    assert h.group.state == GroupState.STABLE
    assert h.heartbeat(200, a, 2) == 0


def test_follower_rejoin_with_new_metadata_while_stable_triggers_rebalance():
    h = Harness()
    a, b = h.pair_stable()
    rb = h.join(100, b, protocols=[("range", b"new-subscription")])
    assert rb == []
    assert h.group.state == GroupState.PREPARING_REBALANCE
    ra = h.join(200, a)
    assert one(rb)["generation_id"] == 3
    assert {m["member_id"]: m["metadata"] for m in one(ra)["members"]}[b] == b"new-subscription"


def test_resent_join_during_completing_rebalance_returns_current_generation():
    h = Harness()
    a, b = h.pair_completing()
    leader = one(h.join(100, a))
    follower = one(h.join(100, b))
    assert leader["generation_id"] == follower["generation_id"] == 2
    assert {m["member_id"] for m in leader["members"]} == {a, b}
    assert follower["members"] == []
    assert h.group.state == GroupState.COMPLETING_REBALANCE


# ---- SyncGroup ------------------------------------------------------------------------------------------


def test_followers_wait_for_the_leader_sync():
    h = Harness()
    a, b = h.pair_completing()
    rb = h.sync(100, b, 2)
    assert rb == []
    assert h.group.state == GroupState.COMPLETING_REBALANCE
    before = len(h.records)
    ra = h.sync(200, a, 2, {a: b"assign-a", b: b"assign-b"})
    assert one(ra) == {"error_code": 0, "protocol_type": "consumer", "protocol_name": "range",
                       "assignment": b"assign-a"}
    assert one(rb) == {"error_code": 0, "protocol_type": "consumer", "protocol_name": "range",
                       "assignment": b"assign-b"}
    assert h.group.state == GroupState.STABLE
    stored = [r for r in h.records[before:] if r["t"] == "group"]
    assert len(stored) == 1
    assert stored[0]["gen"] == 2
    assert {m["id"]: bytes.fromhex(m["asg"]) for m in stored[0]["members"]} == {a: b"assign-a", b: b"assign-b"}


def test_follower_syncing_after_the_leader_gets_its_assignment():
    h = Harness()
    a, b = h.pair_completing()
    one(h.sync(100, a, 2, {a: b"x", b: b"y"}))
    assert one(h.sync(200, b, 2))["assignment"] == b"y"


def test_member_left_out_of_the_assignment_gets_an_empty_one():
    h = Harness()
    a, b = h.pair_completing()
    rb = h.sync(100, b, 2)
    one(h.sync(200, a, 2, {a: b"everything"}))
    assert one(rb)["error_code"] == 0
    assert one(rb)["assignment"] == b""


def test_sync_in_stable_returns_the_current_assignment():
    h = Harness()
    a, b = h.pair_stable()
    assert one(h.sync(500, b, 2))["assignment"] == b"B"
    assert one(h.sync(500, a, 2, {a: b"ignored", b: b"ignored"}))["assignment"] == b"A"


def test_sync_with_old_generation_is_illegal_generation():
    h = Harness()
    a, _ = h.pair_completing()
    r = one(h.sync(100, a, 1, {}))
    assert r["error_code"] == ErrorCode.ILLEGAL_GENERATION
    assert h.group.state == GroupState.COMPLETING_REBALANCE


@pytest.mark.parametrize("group", [GROUP, "no-such-group"])
def test_sync_from_unknown_member(group):
    h = Harness()
    h.pair_completing()
    r = one(h.sync(100, "ghost", 2, group=group))
    assert r["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID
    assert r["assignment"] == b""


def test_sync_during_preparing_rebalance_is_rebalance_in_progress():
    h = Harness()
    a = h.single_stable()
    h.new_member(100)
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert one(h.sync(200, a, 1))["error_code"] == ErrorCode.REBALANCE_IN_PROGRESS


@pytest.mark.parametrize(
    ("protocol_type", "protocol_name", "code"),
    [("connect", "range", ErrorCode.INCONSISTENT_GROUP_PROTOCOL),
     ("consumer", "roundrobin", ErrorCode.INCONSISTENT_GROUP_PROTOCOL),
     (None, None, ErrorCode.NONE),
     ("consumer", None, ErrorCode.NONE)],
)
def test_sync_protocol_type_and_name_must_match(protocol_type, protocol_name, code):
    h = Harness()
    a, _ra = h.new_member(0)
    r = one(h.sync(100, a, 1, {a: b"x"}, protocol_type=protocol_type, protocol_name=protocol_name))
    assert r["error_code"] == code
    expected = GroupState.STABLE if code == ErrorCode.NONE else GroupState.COMPLETING_REBALANCE
    assert h.group.state == expected


def test_metadata_change_during_completing_rebalance_fails_parked_syncs():
    h = Harness()
    a, b = h.pair_completing()
    rb = h.sync(100, b, 2)
    ra = h.join(200, a, protocols=[("range", b"changed")])
    assert one(rb)["error_code"] == ErrorCode.REBALANCE_IN_PROGRESS
    assert h.group.state == GroupState.PREPARING_REBALANCE
    rb2 = h.join(300, b)
    assert one(ra)["generation_id"] == one(rb2)["generation_id"] == 3


def test_sync_timeout_removes_members_that_never_synced():
    h = Harness()
    a, b = h.pair_completing(1000)
    rb = h.sync(2000, b, 2)
    for t in (9000, 18000, 27000):  # the leader stays alive but never syncs
        assert h.heartbeat(t, a, 2) == 0
        h.coord.tick(t)
    h.coord.tick(1000 + REBALANCE - 1)
    assert rb == []
    h.coord.tick(1000 + REBALANCE)
    assert one(rb)["error_code"] == ErrorCode.REBALANCE_IN_PROGRESS
    assert a not in h.group.members
    assert h.group.state == GroupState.PREPARING_REBALANCE
    r = one(h.join(1000 + REBALANCE + 1, b))
    assert r["generation_id"] == 3
    assert r["leader"] == b
    assert [m["member_id"] for m in r["members"]] == [b]


def test_follower_that_never_syncs_is_removed_even_after_group_is_stable():
    h = Harness()
    a, b = h.pair_completing(1000)
    one(h.sync(1000, a, 2, {a: b"A", b: b"B"}))
    assert h.group.state == GroupState.STABLE
    for t in (9000, 18000, 27000):  # both heartbeat; b never sends SyncGroup
        assert h.heartbeat(t, a, 2) == 0
        assert h.heartbeat(t, b, 2) == 0
        h.coord.tick(t)
    h.coord.tick(1000 + REBALANCE)
    assert b not in h.group.members
    assert a in h.group.members
    assert h.group.state == GroupState.PREPARING_REBALANCE


# ---- Heartbeat and session expiry ------------------------------------------------------------------------


def test_heartbeat_results():
    h = Harness()
    a, b = h.pair_completing()
    assert h.heartbeat(100, b, 2) == 0  # CompletingRebalance counts as a normal heartbeat
    assert h.heartbeat(100, b, 1) == ErrorCode.ILLEGAL_GENERATION
    assert h.heartbeat(100, b, 3) == ErrorCode.ILLEGAL_GENERATION
    assert h.heartbeat(100, "ghost", 2) == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.heartbeat(100, a, 2, group="no-such-group") == ErrorCode.UNKNOWN_MEMBER_ID
    h.sync(200, b, 2)
    h.sync(200, a, 2, {})
    assert h.heartbeat(300, a, 2) == 0


def test_heartbeats_keep_the_session_alive():
    h = Harness()
    a, b = h.pair_stable(0)
    assert h.heartbeat(8000, a, 2) == 0
    assert h.heartbeat(8000, b, 2) == 0
    h.coord.tick(8000 + SESSION - 1)
    assert set(h.group.members) == {a, b}
    assert h.group.state == GroupState.STABLE
    h.coord.tick(8000 + SESSION)
    assert h.group.members == {}
    assert h.group.state == GroupState.EMPTY


def test_session_expiry_removes_member_and_survivor_rejoins():
    h = Harness()
    a, b = h.pair_stable(0)
    assert h.heartbeat(9000, b, 2) == 0
    h.coord.tick(SESSION)  # a's session ran out
    assert set(h.group.members) == {b}
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.heartbeat(11_000, b, 2) == ErrorCode.REBALANCE_IN_PROGRESS
    assert h.heartbeat(11_000, a, 2) == ErrorCode.UNKNOWN_MEMBER_ID
    r = one(h.join(12_000, b))
    assert r["generation_id"] == 3
    assert r["leader"] == b
    assert [m["member_id"] for m in r["members"]] == [b]
    assert one(h.sync(12_000, b, 3, {b: b"all"}))["assignment"] == b"all"

    h.coord.tick(12_000 + SESSION)  # the last member expires too
    assert h.group.members == {}
    assert h.group.state == GroupState.EMPTY
    assert h.group.generation == 4
    assert h.group.protocol_name is None
    assert h.group.leader_id is None
    last = h.records[-1]
    assert (last["t"], last["gen"], last["members"]) == ("group", 4, [])
    assert h.heartbeat(30_000, b, 3) == ErrorCode.UNKNOWN_MEMBER_ID


def test_member_waiting_in_join_is_not_expired_and_silent_member_is():
    h = Harness()
    a, _b = h.pair_stable(0)
    ra = h.join(5000, a)  # parked while b stays silent
    assert ra == []
    h.coord.tick(SESSION)
    r = one(ra)
    assert r["generation_id"] == 3
    assert [m["member_id"] for m in r["members"]] == [a]
    assert list(h.group.members) == [a]


def test_new_member_waiting_in_join_expires_after_new_member_join_timeout():
    h = Harness()
    a, _ra = h.new_member(0, rebalance=600_000)
    one(h.sync(0, a, 1, {a: b""}))
    b, rb = h.new_member(1000, rebalance=600_000)
    assert rb == []
    for t in range(9000, 310_000, 9000):  # a keeps heartbeating but never rejoins
        assert h.heartbeat(t, a, 1) == ErrorCode.REBALANCE_IN_PROGRESS
        h.coord.tick(t)
    assert one(rb)["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID
    assert b not in h.group.members


def test_rebalance_timeout_drops_members_that_did_not_rejoin():
    h = Harness()
    a, b = h.pair_stable(0)
    ra = h.join(1000, a)
    for t in (9000, 18000, 27000):  # b is alive but does not rejoin
        assert h.heartbeat(t, b, 2) == ErrorCode.REBALANCE_IN_PROGRESS
        h.coord.tick(t)
    h.coord.tick(1000 + REBALANCE - 1)
    assert ra == []
    h.coord.tick(1000 + REBALANCE)
    r = one(ra)
    assert r["generation_id"] == 3
    assert [m["member_id"] for m in r["members"]] == [a]
    assert b not in h.group.members
    assert h.heartbeat(1000 + REBALANCE, b, 2) == ErrorCode.UNKNOWN_MEMBER_ID


def test_rebalance_timeout_is_the_largest_member_rebalance_timeout():
    h = Harness()
    a, _ra = h.new_member(0, rebalance=5000)
    one(h.sync(0, a, 1, {}))
    _b, rb = h.new_member(100, rebalance=20_000, session=30_000)
    h.coord.tick(100 + 5000)
    assert rb == []  # the join phase waits for the longest rebalance timeout
    h.coord.tick(100 + 20_000)
    assert one(rb)["generation_id"] == 2
    assert a not in h.group.members


# ---- LeaveGroup -------------------------------------------------------------------------------------------


def test_leave_batch_reports_unknown_member_per_identity():
    h = Harness()
    a, b = h.pair_stable()
    top, codes = h.coord.leave(100, GROUP, [(b, None), ("ghost", None), ("", None)])
    assert top == 0
    assert codes == [0, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID]
    assert list(h.group.members) == [a]
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.heartbeat(200, a, 2) == ErrorCode.REBALANCE_IN_PROGRESS


def test_leave_with_only_unknown_members_changes_nothing():
    h = Harness()
    a, b = h.pair_stable()
    assert h.coord.leave(100, GROUP, [("ghost", None)]) == (0, [ErrorCode.UNKNOWN_MEMBER_ID])
    assert h.group.state == GroupState.STABLE
    assert set(h.group.members) == {a, b}


def test_leave_unknown_group():
    """Kafka answers every member UNKNOWN_MEMBER_ID and no group-level error (LeaveGroup v3+)."""
    h = Harness()
    assert h.coord.leave(0, "nope", [("m", None), ("n", None)]) == (
        0, [ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID])


def test_assignments_survive_a_rebalance_until_the_next_sync():
    """As Kafka's DescribeGroups shows: the last assignment stays through PreparingRebalance and the join."""
    h = Harness()
    a, b = h.pair_stable()
    c, rc = h.new_member(0)
    assert rc == [] and h.group.state == GroupState.PREPARING_REBALANCE
    assert {mid: m.assignment for mid, m in h.group.members.items()} == {a: b"A", b: b"B", c: b""}
    h.join(0, a)
    h.join(0, b)
    assert h.group.state == GroupState.COMPLETING_REBALANCE
    assert {mid: m.assignment for mid, m in h.group.members.items()} == {a: b"A", b: b"B", c: b""}


def test_an_interrupted_sync_clears_every_assignment():
    """Kafka's resetAndPropagateAssignmentWithError: a rebalance during CompletingRebalance empties them."""
    h = Harness()
    a, b = h.pair_stable()
    c, _ = h.new_member(0)
    h.join(0, a)
    h.join(0, b)
    waiting = h.sync(0, b, 3)
    assert waiting == [] and h.group.state == GroupState.COMPLETING_REBALANCE
    h.coord.leave(0, GROUP, [(c, None)])
    assert one(waiting)["error_code"] == ErrorCode.REBALANCE_IN_PROGRESS
    assert all(m.assignment == b"" for m in h.group.members.values())


def test_last_member_leaving_empties_the_group():
    h = Harness()
    a = h.single_stable()
    assert h.coord.leave(100, GROUP, [(a, None)]) == (0, [0])
    assert h.group.state == GroupState.EMPTY
    assert h.group.generation == 2
    assert h.group.members == {}
    assert h.records[-1]["t"] == "group" and h.records[-1]["gen"] == 2 and h.records[-1]["members"] == []


def test_leave_during_preparing_rebalance_can_complete_the_join():
    h = Harness()
    a, b = h.pair_stable()
    ra = h.join(100, a)
    assert ra == []
    assert h.coord.leave(200, GROUP, [(b, None)]) == (0, [0])
    assert one(ra)["generation_id"] == 3


def test_leave_of_a_pending_member():
    h = Harness()
    a = h.single_stable()
    b = one(h.join(100))["member_id"]
    assert h.coord.leave(200, GROUP, [(b, None)]) == (0, [0])
    assert h.group.pending == set()
    # Kafka counts the pending member as a valid leave, so the Stable group rebalances
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert one(h.join(300, b))["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID
    assert list(h.group.members) == [a]
    assert one(h.join(400, a))["generation_id"] == 2


def test_static_member_leave_by_instance_id():
    h = Harness()
    _d, s = h.dynamic_and_static_stable()
    assert h.coord.leave(100, GROUP, [("wrong-id", "i1")]) == (0, [ErrorCode.FENCED_INSTANCE_ID])
    assert h.coord.leave(100, GROUP, [("", "i9")]) == (0, [ErrorCode.UNKNOWN_MEMBER_ID])
    assert s in h.group.members
    assert h.coord.leave(100, GROUP, [("", "i1")]) == (0, [0])
    assert s not in h.group.members
    assert h.group.static == {}
    assert h.group.state == GroupState.PREPARING_REBALANCE


# ---- static membership ------------------------------------------------------------------------------------


def test_static_member_rejoining_while_stable_keeps_generation_and_assignment():
    h = Harness()
    d, s = h.dynamic_and_static_stable()
    before = len(h.records)
    r = one(h.join(5000, instance="i1", client="static-client"))
    new = r["member_id"]
    assert r["error_code"] == 0
    assert new != s
    assert r["generation_id"] == 2
    assert r["leader"] == d
    assert r["members"] == []
    assert h.group.state == GroupState.STABLE
    assert h.group.generation == 2
    assert set(h.group.members) == {d, new}
    assert h.group.static == {"i1": new}
    assert h.heartbeat(5100, d, 2) == 0  # no rebalance for the others
    assert one(h.sync(5200, new, 2, instance="i1"))["assignment"] == b"S"
    assert h.heartbeat(5300, new, 2, instance="i1") == 0
    stored = [rec for rec in h.records[before:] if rec["t"] == "group"]
    assert stored and {m["id"] for m in stored[-1]["members"]} == {d, new}

    # the old incarnation is fenced wherever the coordinator checks the instance id first
    assert one(h.join(5400, s, instance="i1"))["error_code"] == ErrorCode.FENCED_INSTANCE_ID
    assert h.coord.validate_commit(GROUP, 2, s, "i1") == ErrorCode.FENCED_INSTANCE_ID
    assert h.coord.leave(5500, GROUP, [(s, "i1")]) == (0, [ErrorCode.FENCED_INSTANCE_ID])
    assert new in h.group.members


def test_replaced_static_member_id_is_fenced_on_heartbeat_and_sync():
    h = Harness()
    _d, s = h.dynamic_and_static_stable()
    one(h.join(5000, instance="i1", client="static-client"))
    assert h.heartbeat(5100, s, 2, instance="i1") == ErrorCode.FENCED_INSTANCE_ID
    assert one(h.sync(5100, s, 2, instance="i1"))["error_code"] == ErrorCode.FENCED_INSTANCE_ID


def test_parked_sync_of_replaced_static_member_is_fenced():
    h = Harness()
    d = h.single_stable()
    rs = h.join(0, instance="i1")
    rd = h.join(0, d)
    s = one(rs)["member_id"]
    assert one(rd)["generation_id"] == 2
    parked = h.sync(100, s, 2, instance="i1")
    assert parked == []
    rs2 = h.join(200, instance="i1")  # the static member restarted during CompletingRebalance
    assert one(parked)["error_code"] == ErrorCode.FENCED_INSTANCE_ID
    assert rs2 == []
    assert h.group.state == GroupState.PREPARING_REBALANCE
    rd2 = h.join(300, d)
    new = one(rs2)["member_id"]
    assert new != s
    assert one(rd2)["generation_id"] == one(rs2)["generation_id"] == 3
    assert {m["member_id"] for m in one(rd2)["members"]} == {d, new}


def test_static_member_that_does_not_rejoin_stays_through_the_rebalance():
    h = Harness()
    d, s = h.dynamic_and_static_stable()
    rd = h.join(1000, d)  # the leader forces a rebalance; s stays alive but does not rejoin
    for t in (9000, 18000, 27000):
        assert h.heartbeat(t, s, 2, instance="i1") == ErrorCode.REBALANCE_IN_PROGRESS
        h.coord.tick(t)
    h.coord.tick(1000 + REBALANCE)
    r = one(rd)
    assert r["generation_id"] == 3
    assert {m["member_id"] for m in r["members"]} == {d, s}
    assert s in h.group.members
    assert h.group.static == {"i1": s}


def test_static_leader_rejoin_v9_skips_assignment():
    h = Harness()
    s = one(h.join(0, instance="i1", version=9))["member_id"]
    one(h.sync(0, s, 1, {s: b"S"}, instance="i1"))
    r = one(h.join(100, instance="i1", version=9))
    new = r["member_id"]
    assert new != s
    assert r["generation_id"] == 1
    assert r["skip_assignment"] is True
    assert r["leader"] == new
    assert [m["member_id"] for m in r["members"]] == [new]
    assert h.group.state == GroupState.STABLE


def test_static_leader_rejoin_before_v9_gets_old_leader_id_and_no_members():
    h = Harness()
    s = one(h.join(0, instance="i1", version=5))["member_id"]
    one(h.sync(0, s, 1, {s: b"S"}, instance="i1"))
    r = one(h.join(100, instance="i1", version=5))
    assert r["member_id"] != s
    assert r["skip_assignment"] is False
    assert r["leader"] == s
    assert r["members"] == []


def test_static_member_id_starts_with_instance_id():
    h = Harness()
    r = one(h.join(0, instance="i1", client="client"))
    assert r["member_id"].startswith("i1-")


def test_static_rejoin_with_new_metadata_but_same_selected_protocol_does_not_rebalance():
    h = Harness()
    _d, _s = h.dynamic_and_static_stable()
    r = one(h.join(5000, instance="i1", protocols=[("range", b"new-subscription")]))
    assert r["error_code"] == 0
    assert r["generation_id"] == 2
    assert h.group.state == GroupState.STABLE


def test_join_timeout_with_only_silent_static_members_keeps_waiting():
    h = Harness()
    d, s = h.dynamic_and_static_stable()
    assert h.coord.leave(1000, GROUP, [(d, None)]) == (0, [0])
    assert h.group.state == GroupState.PREPARING_REBALANCE
    for t in (9000, 18000, 27000):
        assert h.heartbeat(t, s, 2, instance="i1") == ErrorCode.REBALANCE_IN_PROGRESS
        h.coord.tick(t)
    h.coord.tick(1000 + REBALANCE)
    assert list(h.group.members) == [s]
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.group.generation == 2


# ---- initial rebalance delay ---------------------------------------------------------------------------------


def test_initial_rebalance_delay_holds_the_first_join():
    h = Harness(initial_rebalance_delay_ms=3000)
    a, ra = h.new_member(0)
    assert ra == []
    assert h.group.state == GroupState.PREPARING_REBALANCE
    h.coord.tick(2999)
    assert ra == []
    h.coord.tick(3000)
    r = one(ra)
    assert r["generation_id"] == 1
    assert r["leader"] == a


def test_members_joining_during_the_initial_delay_share_the_first_generation():
    h = Harness(initial_rebalance_delay_ms=3000)
    a, ra = h.new_member(0)
    b, rb = h.new_member(1000)
    assert ra == rb == []
    h.coord.tick(REBALANCE)
    assert one(ra)["generation_id"] == one(rb)["generation_id"] == 1
    assert one(ra)["leader"] == a
    assert {m["member_id"] for m in one(ra)["members"]} == {a, b}


def test_initial_delay_applies_only_to_an_empty_group():
    h = Harness(initial_rebalance_delay_ms=3000)
    a, _ra = h.new_member(0)
    h.coord.tick(3000)
    one(h.sync(3000, a, 1, {}))
    ra2 = h.join(4000, a)  # a later rebalance completes as soon as everyone rejoined
    assert one(ra2)["generation_id"] == 2


def test_initial_delay_is_extended_by_a_full_delay_when_a_member_joined():
    h = Harness(initial_rebalance_delay_ms=3000)
    _a, ra = h.new_member(0)
    _b, rb = h.new_member(1000)
    h.coord.tick(4000)
    assert ra == []
    h.coord.tick(6000)
    assert one(ra)["generation_id"] == one(rb)["generation_id"] == 1


def test_initial_delay_longer_than_rebalance_timeout_still_waits_the_delay():
    h = Harness(initial_rebalance_delay_ms=3000)
    _a, ra = h.new_member(0, rebalance=1000)
    h.coord.tick(1000)
    assert ra == []
    h.coord.tick(3000)
    assert one(ra)["generation_id"] == 1


# ---- offsets ----------------------------------------------------------------------------------------------------


def test_simple_commit_creates_a_group_and_stores_offsets():
    h = Harness()
    assert h.coord.validate_commit("simple", -1, "", None) == 0
    assert h.coord._groups["simple"].state == GroupState.EMPTY
    assert h.coord.commit(1234, "simple", "t", 0, 42, 3, "meta") == 0
    assert h.coord.commit(1235, "simple", "t", 1, 7, -1, None) == 0
    assert h.coord.committed("simple") == {("t", 0): OffsetEntry(42, 3, "meta", 1234),
                                           ("t", 1): OffsetEntry(7, -1, "", 1235)}
    assert h.records[-1] == {"t": "offset", "g": "simple", "topic": "t", "p": 1, "o": 7, "e": -1, "m": "",
                             "ts": 1235}
    assert h.coord.validate_commit("simple", -1, "", None) == 0
    assert h.coord.committed("nobody") == {}


def test_commit_without_generation_on_an_active_group_is_unknown_member():
    h = Harness()
    h.single_stable()
    assert h.coord.validate_commit(GROUP, -1, "", None) == ErrorCode.UNKNOWN_MEMBER_ID


def test_commit_with_a_generation_to_an_unknown_group():
    """ILLEGAL_GENERATION before OffsetCommit v9, GROUP_ID_NOT_FOUND from v9 (KIP-848); no group is created."""
    h = Harness()
    assert h.coord.validate_commit("nope", 3, "m", None, version=8) == ErrorCode.ILLEGAL_GENERATION
    assert h.coord.validate_commit("nope", 3, "m", None, version=9) == ErrorCode.GROUP_ID_NOT_FOUND
    assert "nope" not in h.coord._groups


def test_commit_validation_against_a_stable_group():
    h = Harness()
    a = h.single_stable()
    assert h.coord.validate_commit(GROUP, 1, a, None) == 0
    assert h.coord.validate_commit(GROUP, 0, a, None) == ErrorCode.ILLEGAL_GENERATION
    assert h.coord.validate_commit(GROUP, 2, a, None) == ErrorCode.ILLEGAL_GENERATION
    assert h.coord.validate_commit(GROUP, 1, "ghost", None) == ErrorCode.UNKNOWN_MEMBER_ID


def test_commit_during_completing_rebalance_is_rebalance_in_progress():
    h = Harness()
    a, _ = h.new_member(0)
    assert h.group.state == GroupState.COMPLETING_REBALANCE
    assert h.coord.validate_commit(GROUP, 1, a, None) == ErrorCode.REBALANCE_IN_PROGRESS
    assert h.coord.validate_commit(GROUP, 0, a, None) == ErrorCode.ILLEGAL_GENERATION


def test_commit_during_preparing_rebalance_with_current_generation_is_accepted():
    h = Harness()
    a = h.single_stable()
    h.new_member(100)
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.coord.validate_commit(GROUP, 1, a, None) == 0


def test_commit_with_generation_to_unknown_group_is_illegal_generation():
    h = Harness()
    assert h.coord.validate_commit("nope", 3, "m", None) == ErrorCode.ILLEGAL_GENERATION
    assert "nope" not in h.coord._groups


def test_commit_with_empty_group_id_is_a_simple_commit():
    """Kafka keeps offsets for the empty group id (backwards compatibility); the group APIs refuse it."""
    h = Harness()
    assert h.coord.validate_commit("", -1, "", None) == 0
    assert h.coord.commit(0, "", "t", 0, 5, -1, None) == 0
    assert h.coord.committed("")[("t", 0)].offset == 5
    assert h.coord.validate_txn_commit("", -1, "", None) == ErrorCode.INVALID_GROUP_ID
    assert h.heartbeat(0, "m", 1, group="") == ErrorCode.INVALID_GROUP_ID
    assert one(h.sync(0, "m", 1, group=""))["error_code"] == ErrorCode.INVALID_GROUP_ID
    assert h.coord.leave(0, "", [("m", None)]) == (ErrorCode.INVALID_GROUP_ID, [])


def test_commit_by_static_member_checks_instance_id():
    h = Harness()
    d, s = h.dynamic_and_static_stable()
    assert h.coord.validate_commit(GROUP, 2, s, "i1") == 0
    assert h.coord.validate_commit(GROUP, 2, d, "i1") == ErrorCode.FENCED_INSTANCE_ID


def test_commit_without_generation_but_with_member_id_to_unknown_group_is_accepted():
    h = Harness()
    assert h.coord.validate_commit("simple", -1, "some-member", None) == 0


def test_commit_metadata_size_limit():
    h = Harness(max_metadata_bytes=4096)
    h.coord.validate_commit("s", -1, "", None)
    assert h.coord.commit(0, "s", "t", 0, 1, -1, "x" * 4096) == 0
    before = len(h.records)
    assert h.coord.commit(0, "s", "t", 0, 2, -1, "x" * 4097) == ErrorCode.OFFSET_METADATA_TOO_LARGE
    assert len(h.records) == before
    assert h.coord.committed("s")[("t", 0)].offset == 1


def test_commit_metadata_limit_counts_characters():
    h = Harness(max_metadata_bytes=4096)
    h.coord.validate_commit("s", -1, "", None)
    assert h.coord.commit(0, "s", "t", 0, 1, -1, "é" * 3000) == 0


def test_delete_offsets_and_topic_offsets_persist_tombstones():
    h = Harness()
    h.coord.validate_commit("s", -1, "", None)
    for topic, partition in (("t", 0), ("t", 1), ("u", 0)):
        h.coord.commit(10, "s", topic, partition, 5, -1, None)
    h.coord.delete_offsets("s", [("t", 0), ("missing", 9)])
    assert set(h.coord.committed("s")) == {("t", 1), ("u", 0)}
    h.coord.delete_topic_offsets("u")
    assert set(h.coord.committed("s")) == {("t", 1)}
    tombstones = [r for r in h.records if r["t"] == "offset" and r["o"] is None]
    assert [(r["topic"], r["p"]) for r in tombstones] == [("t", 0), ("u", 0)]
    assert set(replayed(h.records).committed("s")) == {("t", 1)}


# ---- DeleteGroups ----------------------------------------------------------------------------------------------


def test_delete_unknown_group():
    assert Harness().coord.delete_group("nope") == ErrorCode.GROUP_ID_NOT_FOUND


def test_delete_group_with_members_is_refused():
    h = Harness()
    h.single_stable()
    assert h.coord.delete_group(GROUP) == ErrorCode.NON_EMPTY_GROUP
    h.new_member(100)
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert h.coord.delete_group(GROUP) == ErrorCode.NON_EMPTY_GROUP
    assert GROUP in h.coord._groups


def test_delete_empty_group_drops_it_and_its_offsets():
    h = Harness()
    a = h.single_stable()
    assert h.coord.validate_commit(GROUP, 1, a, None) == 0
    h.coord.commit(100, GROUP, "t", 0, 9, -1, None)
    h.coord.leave(200, GROUP, [(a, None)])
    assert h.group.state == GroupState.EMPTY
    assert h.coord.delete_group(GROUP) == 0
    assert GROUP not in h.coord._groups
    assert h.coord.committed(GROUP) == {}
    assert h.records[-1] == {"t": "group_deleted", "g": GROUP}
    assert GROUP not in replayed(h.records)._groups
    assert h.coord.delete_group(GROUP) == ErrorCode.GROUP_ID_NOT_FOUND


def test_delete_empty_group_with_only_a_pending_member():
    h = Harness()
    one(h.join(0))
    assert h.group.state == GroupState.EMPTY
    assert h.coord.delete_group(GROUP) == 0


def test_empty_group_keeps_its_protocol_type():
    h = Harness()
    a = h.single_stable()
    h.coord.leave(100, GROUP, [(a, None)])
    assert h.group.state == GroupState.EMPTY
    assert h.group.protocol_type == "consumer"
    assert h.records[-1]["type"] == "consumer"


# ---- persistence ---------------------------------------------------------------------------------------------------


def test_replaying_the_log_restores_offsets_and_the_stable_group():
    h = Harness()
    d, s = h.dynamic_and_static_stable()
    assert h.coord.validate_commit(GROUP, 2, d, None) == 0
    h.coord.commit(3000, GROUP, "t", 0, 100, 4, "m0")
    h.coord.commit(3001, GROUP, "t", 1, 200, 4, "m1")
    h.coord.validate_commit("simple", -1, "", None)
    h.coord.commit(3002, "simple", "u", 0, 5, -1, None)

    fresh = replayed(h.records, now=5000)
    assert summary(fresh) == summary(h.coord)
    group = fresh._groups[GROUP]
    assert group.state == GroupState.STABLE
    assert group.generation == 2
    assert (group.protocol_type, group.protocol_name, group.leader_id) == ("consumer", "range", d)
    assert {mid: m.assignment for mid, m in group.members.items()} == {d: b"D", s: b"S"}
    assert group.static == {"i1": s}
    assert fresh.committed(GROUP)[("t", 1)] == OffsetEntry(200, 4, "m1", 3001)
    assert fresh.committed("simple") == {("u", 0): OffsetEntry(5, -1, "", 3002)}

    # the restored members carry on where they were
    assert fresh.heartbeat(5100, GROUP, 2, d, None) == 0
    out: Responses = []
    fresh.sync(5100, GROUP, 2, s, "i1", "consumer", "range", {}, out.append)
    assert one(out)["assignment"] == b"S"
    assert fresh.validate_commit(GROUP, 2, s, "i1") == 0


def test_restored_members_must_heartbeat_in_time():
    h = Harness()
    a, _b = h.pair_stable()
    fresh = replayed(h.records, now=5000)
    assert fresh.heartbeat(5000 + SESSION - 1, GROUP, 2, a, None) == 0
    fresh.tick(5000 + SESSION)
    group = fresh._groups[GROUP]
    assert list(group.members) == [a]
    assert group.state == GroupState.PREPARING_REBALANCE


def test_replaying_an_emptied_group_keeps_generation_and_offsets():
    h = Harness()
    a = h.single_stable()
    h.coord.validate_commit(GROUP, 1, a, None)
    h.coord.commit(10, GROUP, "t", 0, 3, -1, None)
    h.coord.leave(20, GROUP, [(a, None)])
    fresh = replayed(h.records)
    group = fresh._groups[GROUP]
    assert group.state == GroupState.EMPTY
    assert group.generation == 2
    assert group.members == {}
    assert fresh.committed(GROUP) == {("t", 0): OffsetEntry(3, -1, "", 10)}
    assert fresh.validate_commit(GROUP, -1, "", None) == 0


def test_snapshot_rebuilds_the_same_state_without_persisting():
    h = Harness()
    d, _s = h.dynamic_and_static_stable()
    h.coord.validate_commit(GROUP, 2, d, None)
    h.coord.commit(3000, GROUP, "t", 0, 100, 4, "m0")
    h.coord.commit(3001, GROUP, "t", 0, 150, 5, "m0b")  # superseded in the snapshot
    h.coord.validate_commit("simple", -1, "", None)
    h.coord.commit(3002, "simple", "u", 0, 5, -1, None)
    before = list(h.records)

    snap = h.coord.snapshot()
    assert h.records == before  # snapshotting writes nothing through persist
    assert len([r for r in snap if r["t"] == "offset"]) == 2
    from_snapshot = replayed(snap, now=5000)
    assert summary(from_snapshot) == summary(h.coord)
    assert summary(from_snapshot) == summary(replayed(h.records, now=5000))
    assert from_snapshot.committed(GROUP)[("t", 0)] == OffsetEntry(150, 5, "m0b", 3001)


def test_snapshot_taken_mid_rebalance_replays_like_the_log():
    h = Harness()
    a, _b = h.pair_stable()
    h.join(100, a)
    assert h.group.state == GroupState.PREPARING_REBALANCE
    assert summary(replayed(h.coord.snapshot())) == summary(replayed(h.records))


# ---- shutdown --------------------------------------------------------------------------------------------------------


def test_fail_waiting_answers_parked_joins_once():
    h = Harness()
    h.single_stable()
    b, rb = h.new_member(100)
    assert rb == []
    h.coord.fail_waiting(ErrorCode.NOT_COORDINATOR)
    r = one(rb)
    assert r["error_code"] == ErrorCode.NOT_COORDINATOR
    assert r["member_id"] == b
    h.coord.fail_waiting(ErrorCode.NOT_COORDINATOR)
    assert len(rb) == 1


def test_fail_waiting_answers_parked_syncs():
    h = Harness()
    _a, b = h.pair_completing()
    rb = h.sync(100, b, 2)
    assert rb == []
    h.coord.fail_waiting(ErrorCode.NOT_COORDINATOR)
    assert one(rb)["error_code"] == ErrorCode.NOT_COORDINATOR
    assert one(rb)["assignment"] == b""


def test_an_instance_id_the_group_does_not_know_is_an_unknown_member():
    """Kafka's validateMember: a dynamic member naming an unregistered group.instance.id is UNKNOWN_MEMBER_ID."""
    h = Harness()
    a = h.single_stable()
    assert h.heartbeat(10, a, 1, instance="ghost") == ErrorCode.UNKNOWN_MEMBER_ID
    assert one(h.sync(10, a, 1, instance="ghost"))["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID
    assert one(h.join(10, a, instance="ghost"))["error_code"] == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.coord.validate_commit(GROUP, 1, a, "ghost") == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.coord.validate_txn_commit(GROUP, 1, a, "ghost") == ErrorCode.UNKNOWN_MEMBER_ID
    assert h.group.state == GroupState.STABLE and h.heartbeat(10, a, 1) == 0
