"""The classic consumer group protocol as Kafka's group coordinator runs it.

States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and back to
PreparingRebalance whenever membership or subscriptions change. Inputs are requests plus
``now_ms``; outputs are responses (immediate, or later through the responder a JoinGroup or
SyncGroup left behind), keyed timers, and records handed to ``persist``. Nothing here reads a
clock, sleeps or does I/O, so every timeout is testable by moving ``now_ms``.

Responses are dicts with the protocol's field names so the handlers pass them through.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kafkalite.coordinator.timers import KeyedTimers
from kafkalite.errors import ErrorCode

Responder = Callable[[dict[str, Any]], None]
Persist = Callable[[dict[str, Any]], None]


class GroupState(str, Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass
class GroupConfig:
    initial_rebalance_delay_ms: int = 0
    min_session_timeout_ms: int = 1000
    max_session_timeout_ms: int = 1800000
    max_metadata_bytes: int = 4096
    new_member_join_timeout_ms: int = 300000  # classic.group.new.member.join.timeout.ms


@dataclass
class JoinParams:
    group_id: str
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    version: int


@dataclass
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    join_responder: Responder | None = None
    join_version: int = 0
    sync_responder: Responder | None = None
    is_new: bool = False  # joined during the current rebalance and not yet given a generation

    def metadata(self, protocol: str | None) -> bytes:
        return next((meta for name, meta in self.protocols if name == protocol), b"")


@dataclass
class OffsetEntry:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int


@dataclass
class Group:
    group_id: str
    state: GroupState = GroupState.EMPTY
    generation: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    pending_sync: set[str] = field(default_factory=set)
    static: dict[str, str] = field(default_factory=dict)
    offsets: dict[tuple[str, int], OffsetEntry] = field(default_factory=dict)
    # Offsets committed inside open transactions, by producer id, until the transaction ends.
    txn_offsets: dict[int, dict[tuple[str, int], OffsetEntry]] = field(default_factory=dict)
    initial_delay_until: int | None = None
    delay_limit: int = 0  # the initial delay may be extended up to this time (the rebalance timeout)
    joined_during_delay: bool = False
    last_record: dict[str, Any] | None = None  # the last persisted metadata (for snapshots)

    def is_empty(self) -> bool:
        return not self.members and not self.pending


def _validate_member(group: Group, member_id: str, instance_id: str | None) -> int:
    """Kafka's ClassicGroup.validateMember: a named instance must be the group's static member with
    this id (unknown instance: UNKNOWN_MEMBER_ID, another id: FENCED_INSTANCE_ID); the id must be a member."""
    if instance_id is not None:
        current = group.static.get(instance_id)
        if current is None:
            return int(ErrorCode.UNKNOWN_MEMBER_ID)
        if current != member_id:
            return int(ErrorCode.FENCED_INSTANCE_ID)
    return 0 if member_id in group.members else int(ErrorCode.UNKNOWN_MEMBER_ID)


def _error(code: ErrorCode, **extra: Any) -> dict[str, Any]:
    return {"error_code": int(code), **extra}


def _join_error(code: ErrorCode, member_id: str = "") -> dict[str, Any]:
    return {
        "error_code": int(code),
        "generation_id": -1,
        "protocol_type": None,
        "protocol_name": None,
        "leader": "",
        "skip_assignment": False,
        "member_id": member_id,
        "members": [],
    }


class GroupCoordinator:
    """All classic groups of this broker and their committed offsets."""

    def __init__(self, config: GroupConfig, persist: Persist) -> None:
        self.config = config
        self.persist = persist
        self.groups: dict[str, Group] = {}
        self.timers = KeyedTimers()

    # ---- JoinGroup ---------------------------------------------------------------------------

    def join(self, now: int, p: JoinParams, respond: Responder) -> None:
        cfg = self.config
        if not p.group_id:
            respond(_join_error(ErrorCode.INVALID_GROUP_ID, p.member_id))
            return
        if not cfg.min_session_timeout_ms <= p.session_timeout_ms <= cfg.max_session_timeout_ms:
            respond(_join_error(ErrorCode.INVALID_SESSION_TIMEOUT, p.member_id))
            return
        group = self.groups.get(p.group_id)
        if group is None:
            if p.member_id:
                respond(_join_error(ErrorCode.UNKNOWN_MEMBER_ID, p.member_id))
                return
            group = self.groups[p.group_id] = Group(p.group_id)
        if group.state == GroupState.DEAD:
            respond(_join_error(ErrorCode.COORDINATOR_NOT_AVAILABLE, p.member_id))
            return
        if not self._supports(group, p):
            respond(_join_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.member_id))
            return
        if not p.member_id:
            self._join_new(now, group, p, respond)
        else:
            self._join_known(now, group, p, respond)

    def _supports(self, group: Group, p: JoinParams) -> bool:
        if not p.protocol_type or not p.protocols:
            return False
        if not group.members:
            return True
        if p.protocol_type != group.protocol_type:
            return False
        names = {name for name, _ in p.protocols}
        common = set.intersection(*({n for n, _ in m.protocols} for m in group.members.values()))
        return bool(names & common)

    def _join_new(self, now: int, group: Group, p: JoinParams, respond: Responder) -> None:
        member_id = f"{p.group_instance_id or p.client_id}-{uuid.uuid4()}"
        if p.group_instance_id is not None:
            old_id = group.static.get(p.group_instance_id)
            if old_id is not None and old_id in group.members:
                self._replace_static_member(now, group, old_id, member_id, p, respond)
                return
        elif p.version >= 4:
            # KIP-394: hand out the id first; the member joins again with it.
            group.pending.add(member_id)
            self.timers.schedule(("pending", group.group_id, member_id), now + p.session_timeout_ms)
            respond(_join_error(ErrorCode.MEMBER_ID_REQUIRED, member_id))
            return
        self._add_member_and_rebalance(now, group, member_id, p, respond)

    def _join_known(self, now: int, group: Group, p: JoinParams, respond: Responder) -> None:
        if p.member_id in group.pending:
            group.pending.discard(p.member_id)
            self.timers.cancel(("pending", group.group_id, p.member_id))
            self._add_member_and_rebalance(now, group, p.member_id, p, respond)
            return
        code = _validate_member(group, p.member_id, p.group_instance_id)
        if code:
            respond(_join_error(ErrorCode(code), p.member_id))
            return
        member = group.members[p.member_id]
        state = group.state
        if state == GroupState.PREPARING_REBALANCE:
            self._update_member(member, p, respond)
            self._maybe_complete_join(now, group)
        elif state in (GroupState.COMPLETING_REBALANCE, GroupState.STABLE):
            unchanged = member.protocols == p.protocols
            if unchanged and (state == GroupState.COMPLETING_REBALANCE or member.member_id != group.leader_id):
                # The member only resent its join: answer with the current generation.
                respond(self._join_response(group, member, p.version))
                return
            self._update_member(member, p, respond)
            self._prepare_rebalance(now, group)
        else:
            respond(_join_error(ErrorCode.UNKNOWN_MEMBER_ID, p.member_id))

    def _update_member(self, member: Member, p: JoinParams, respond: Responder) -> None:
        member.protocols = p.protocols
        member.session_timeout_ms = p.session_timeout_ms
        member.rebalance_timeout_ms = p.rebalance_timeout_ms
        member.client_id = p.client_id
        member.client_host = p.client_host
        if member.join_responder is not None and member.join_responder is not respond:
            member.join_responder(_join_error(ErrorCode.REBALANCE_IN_PROGRESS, member.member_id))
        member.join_responder = respond
        member.join_version = p.version

    def _add_member_and_rebalance(
        self, now: int, group: Group, member_id: str, p: JoinParams, respond: Responder
    ) -> None:
        member = Member(
            member_id,
            p.group_instance_id,
            p.client_id,
            p.client_host,
            p.session_timeout_ms,
            p.rebalance_timeout_ms,
            p.protocols,
            join_responder=respond,
            join_version=p.version,
        )
        if not group.members:
            group.protocol_type = p.protocol_type
        member.is_new = True
        self.timers.schedule(("heartbeat", group.group_id, member_id), now + self.config.new_member_join_timeout_ms)
        group.members[member_id] = member
        if p.group_instance_id is not None:
            group.static[p.group_instance_id] = member_id
        if group.leader_id is None:
            group.leader_id = member_id
        if group.state == GroupState.PREPARING_REBALANCE:
            if group.initial_delay_until is not None:
                group.joined_during_delay = True
            self._maybe_complete_join(now, group)
        else:
            self._prepare_rebalance(now, group)

    def _replace_static_member(
        self, now: int, group: Group, old_id: str, new_id: str, p: JoinParams, respond: Responder
    ) -> None:
        """A static member came back with a new member id: the old id is fenced."""
        member = group.members.pop(old_id)
        self.timers.cancel(("heartbeat", group.group_id, old_id))
        # Each waiting request gets its own API's answer (a JoinGroup answer has no assignment).
        if member.join_responder is not None:
            member.join_responder(_join_error(ErrorCode.FENCED_INSTANCE_ID, old_id))
        if member.sync_responder is not None:
            member.sync_responder(_error(ErrorCode.FENCED_INSTANCE_ID, assignment=b""))
        member.join_responder = member.sync_responder = None
        group.pending_sync.discard(old_id)
        member.member_id = new_id
        group.members[new_id] = member
        group.static[p.group_instance_id or ""] = new_id
        was_leader = group.leader_id == old_id
        if was_leader:
            group.leader_id = new_id
        old_protocols = member.protocols
        member.protocols = p.protocols
        if group.state == GroupState.STABLE and self._select_protocol(group) == group.protocol_name:
            # Static membership: a restarted member gets its old assignment without a rebalance.
            member.client_id, member.client_host = p.client_id, p.client_host
            member.session_timeout_ms = p.session_timeout_ms
            member.rebalance_timeout_ms = p.rebalance_timeout_ms
            self._schedule_heartbeat(now, group, member)
            self._persist_group(group)
            response = self._join_response(group, member, p.version)
            if was_leader and p.version >= 9:
                response["skip_assignment"] = True  # KIP-814: the leader keeps the current assignment
            elif was_leader:
                # Older leaders must not reassign: tell them the old leader id and no members.
                response["leader"] = old_id
                response["members"] = []
            respond(response)
            return
        member.protocols = old_protocols
        self._update_member(member, p, respond)
        if group.state == GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(now, group)
        else:
            self._prepare_rebalance(now, group)

    # ---- rebalancing ----------------------------------------------------------------------------

    def _rebalance_deadline(self, now: int, group: Group) -> int:
        timeout = max((m.rebalance_timeout_ms for m in group.members.values()), default=0)
        return now + max(timeout, 0)

    def _prepare_rebalance(self, now: int, group: Group) -> None:
        if group.state == GroupState.COMPLETING_REBALANCE:
            # Kafka's resetAndPropagateAssignmentWithError: the interrupted sync clears every assignment.
            for member in group.members.values():
                member.assignment = b""
                if member.sync_responder is not None:
                    member.sync_responder(_error(ErrorCode.REBALANCE_IN_PROGRESS, assignment=b""))
                    member.sync_responder = None
            self.timers.cancel(("sync", group.group_id))
            group.pending_sync.clear()
        if group.state == GroupState.EMPTY and self.config.initial_rebalance_delay_ms > 0:
            # Kafka's InitialDelayedJoin: wait the full delay first, extended while members keep coming.
            deadline = now + self.config.initial_rebalance_delay_ms
            group.initial_delay_until = deadline
            group.delay_limit = self._rebalance_deadline(now, group)
            group.joined_during_delay = False
        else:
            group.initial_delay_until = None
            deadline = self._rebalance_deadline(now, group)
        group.state = GroupState.PREPARING_REBALANCE
        self.timers.schedule(("join", group.group_id), deadline)
        self._maybe_complete_join(now, group)

    def _maybe_complete_join(self, now: int, group: Group) -> None:
        if group.state != GroupState.PREPARING_REBALANCE:
            return
        if group.initial_delay_until is not None and now < group.initial_delay_until:
            return
        if group.pending or any(m.join_responder is None for m in group.members.values()):
            return
        self._complete_join(now, group)

    def _complete_join(self, now: int, group: Group) -> None:
        self.timers.cancel(("join", group.group_id))
        group.initial_delay_until = None
        for member in list(group.members.values()):
            if member.join_responder is None and member.group_instance_id is None:
                self._drop_member(group, member)
        joined = [m for m in group.members.values() if m.join_responder is not None]
        if not joined and group.members:
            # Only static members remain and none rejoined yet: give them another rebalance timeout.
            self.timers.schedule(("join", group.group_id), self._rebalance_deadline(now, group))
            return
        group.generation += 1
        if not joined:
            group.state = GroupState.EMPTY
            group.protocol_name = None
            group.leader_id = None
            self._persist_group(group)
            return
        group.protocol_name = self._select_protocol(group)
        if group.leader_id not in group.members or group.members[group.leader_id].join_responder is None:
            group.leader_id = joined[0].member_id
        group.state = GroupState.COMPLETING_REBALANCE
        group.pending_sync = set(group.members)
        self.timers.schedule(("sync", group.group_id), self._rebalance_deadline(now, group))
        for member in joined:
            responder = member.join_responder
            member.join_responder = None
            member.is_new = False
            self._schedule_heartbeat(now, group, member)
            assert responder is not None
            responder(self._join_response(group, member, member.join_version))

    def _select_protocol(self, group: Group) -> str:
        """Each member votes for its most preferred protocol that every member supports."""
        members = list(group.members.values())
        common = set.intersection(*({n for n, _ in m.protocols} for m in members))
        votes: dict[str, int] = {}
        for member in members:
            choice = next(name for name, _ in member.protocols if name in common)
            votes[choice] = votes.get(choice, 0) + 1
        order = [name for name, _ in members[0].protocols]
        return max(votes, key=lambda name: (votes[name], -order.index(name) if name in order else 0))

    def _join_response(self, group: Group, member: Member, version: int) -> dict[str, Any]:
        is_leader = member.member_id == group.leader_id
        return {
            "error_code": 0,
            "generation_id": group.generation,
            "protocol_type": group.protocol_type,
            "protocol_name": group.protocol_name,
            "leader": group.leader_id or "",
            "skip_assignment": False,
            "member_id": member.member_id,
            "members": [
                {"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                 "metadata": m.metadata(group.protocol_name)}
                for m in group.members.values()
            ]
            if is_leader
            else [],
        }

    # ---- SyncGroup -----------------------------------------------------------------------------

    def sync(
        self,
        now: int,
        group_id: str,
        generation: int,
        member_id: str,
        group_instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: dict[str, bytes],
        respond: Responder,
    ) -> None:
        def fail(code: ErrorCode) -> None:
            respond(_error(code, protocol_type=None, protocol_name=None, assignment=b""))

        if not group_id:
            fail(ErrorCode.INVALID_GROUP_ID)
            return
        group = self.groups.get(group_id)
        if group is None:
            fail(ErrorCode.UNKNOWN_MEMBER_ID)
            return
        code = _validate_member(group, member_id, group_instance_id)
        if code:
            fail(ErrorCode(code))
            return
        if generation != group.generation:
            fail(ErrorCode.ILLEGAL_GENERATION)
            return
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and protocol_name != group.protocol_name
        ):
            fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
            return
        member = group.members[member_id]
        if group.state == GroupState.PREPARING_REBALANCE:
            fail(ErrorCode.REBALANCE_IN_PROGRESS)
        elif group.state == GroupState.COMPLETING_REBALANCE:
            member.sync_responder = respond
            group.pending_sync.discard(member_id)
            self._schedule_heartbeat(now, group, member)
            if member_id == group.leader_id:
                for mid, m in group.members.items():
                    m.assignment = assignments.get(mid, b"")
                group.state = GroupState.STABLE
                self._persist_group(group)
                for m in group.members.values():
                    if m.sync_responder is not None:
                        m.sync_responder(self._sync_response(group, m))
                        m.sync_responder = None
        elif group.state == GroupState.STABLE:
            group.pending_sync.discard(member_id)
            self._schedule_heartbeat(now, group, member)
            respond(self._sync_response(group, member))
        else:
            fail(ErrorCode.UNKNOWN_MEMBER_ID)
        if not group.pending_sync:
            self.timers.cancel(("sync", group.group_id))

    @staticmethod
    def _sync_response(group: Group, member: Member) -> dict[str, Any]:
        return {
            "error_code": 0,
            "protocol_type": group.protocol_type,
            "protocol_name": group.protocol_name,
            "assignment": member.assignment,
        }

    # ---- Heartbeat and LeaveGroup ------------------------------------------------------------------

    def heartbeat(self, now: int, group_id: str, generation: int, member_id: str, instance_id: str | None) -> int:
        if not group_id:
            return int(ErrorCode.INVALID_GROUP_ID)
        group = self.groups.get(group_id)
        if group is None:
            return int(ErrorCode.UNKNOWN_MEMBER_ID)
        code = _validate_member(group, member_id, instance_id)
        if code:
            return code
        if generation != group.generation:
            return int(ErrorCode.ILLEGAL_GENERATION)
        self._schedule_heartbeat(now, group, group.members[member_id])
        if group.state == GroupState.PREPARING_REBALANCE:
            return int(ErrorCode.REBALANCE_IN_PROGRESS)
        return int(ErrorCode.NONE)

    def leave(self, now: int, group_id: str, identities: list[tuple[str, str | None]]) -> tuple[int, list[int]]:
        """Remove members; returns (top-level error, one error per identity, none if the request failed)."""
        if not group_id:
            return int(ErrorCode.INVALID_GROUP_ID), []
        group = self.groups.get(group_id)
        if group is None:
            # Kafka: every member UNKNOWN_MEMBER_ID, no group-level error (v0-v2 fold the member's in).
            return 0, [int(ErrorCode.UNKNOWN_MEMBER_ID)] * len(identities)
        codes: list[int] = []
        changed = False
        for member_id, instance_id in identities:
            if instance_id is not None:
                current = group.static.get(instance_id)
                if current is None:
                    codes.append(int(ErrorCode.UNKNOWN_MEMBER_ID))
                elif member_id and member_id != current:
                    codes.append(int(ErrorCode.FENCED_INSTANCE_ID))
                else:
                    self._drop_member(group, group.members[current])
                    codes.append(0)
                    changed = True
            elif member_id in group.pending:
                group.pending.discard(member_id)
                self.timers.cancel(("pending", group_id, member_id))
                codes.append(0)
                changed = True
            elif member_id in group.members:
                self._drop_member(group, group.members[member_id])
                codes.append(0)
                changed = True
            else:
                codes.append(int(ErrorCode.UNKNOWN_MEMBER_ID))
        if changed:
            self._membership_changed(now, group)
        return 0, codes

    def _drop_member(self, group: Group, member: Member) -> None:
        group.members.pop(member.member_id, None)
        if member.group_instance_id is not None and group.static.get(member.group_instance_id) == member.member_id:
            del group.static[member.group_instance_id]
        self.timers.cancel(("heartbeat", group.group_id, member.member_id))
        group.pending_sync.discard(member.member_id)
        if member.join_responder is not None:
            member.join_responder(_join_error(ErrorCode.UNKNOWN_MEMBER_ID, member.member_id))
            member.join_responder = None
        if member.sync_responder is not None:
            member.sync_responder(_error(ErrorCode.UNKNOWN_MEMBER_ID, assignment=b""))
            member.sync_responder = None

    def _membership_changed(self, now: int, group: Group) -> None:
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._prepare_rebalance(now, group)
        elif group.state == GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(now, group)

    def _schedule_heartbeat(self, now: int, group: Group, member: Member) -> None:
        self.timers.schedule(("heartbeat", group.group_id, member.member_id), now + member.session_timeout_ms)

    # ---- timers ------------------------------------------------------------------------------------

    def tick(self, now: int) -> None:
        """Fire every timer due at ``now``: session expiry, rebalance and sync timeouts."""
        # Handling a timer may schedule another one that is already due: keep going until none is.
        while due := self.timers.pop_due(now):
            for key in due:
                self._fire(now, key)

    def _fire(self, now: int, key: Any) -> None:
        kind, group_id = key[0], key[1]
        group = self.groups.get(group_id)
        if group is None:
            return
        if kind == "heartbeat":
            member = group.members.get(key[2])
            if member is None:
                return
            waiting = member.join_responder is not None or member.sync_responder is not None
            if waiting and not member.is_new:
                self._schedule_heartbeat(now, group, member)  # kept alive while it waits on us
                return
            # A new member still waiting after classic.group.new.member.join.timeout.ms is dropped.
            self._drop_member(group, member)
            self._membership_changed(now, group)
        elif kind == "pending":
            group.pending.discard(key[2])
            self._maybe_complete_join(now, group)
        elif kind == "join" and group.state == GroupState.PREPARING_REBALANCE:
            fired_at = group.initial_delay_until
            if fired_at is not None and group.joined_during_delay and group.delay_limit > fired_at:
                # Someone joined during the initial delay: wait once more, within the rebalance timeout.
                group.joined_during_delay = False
                remaining = group.delay_limit - fired_at
                group.initial_delay_until = fired_at + min(self.config.initial_rebalance_delay_ms, remaining)
                self.timers.schedule(("join", group.group_id), group.initial_delay_until)
                return
            self._complete_join(now, group)
        elif kind == "sync" and group.pending_sync and group.state in (
            GroupState.COMPLETING_REBALANCE,
            GroupState.STABLE,
        ):
            # Members that never sent SyncGroup for this generation are removed (KAFKA-13542).
            for member_id in list(group.pending_sync):
                if member_id in group.members:
                    self._drop_member(group, group.members[member_id])
            group.pending_sync.clear()
            self._prepare_rebalance(now, group)

    def fail_waiting(self, code: ErrorCode) -> None:
        """Answer every parked JoinGroup/SyncGroup with ``code`` (broker shutdown)."""
        for group in self.groups.values():
            for member in group.members.values():
                if member.join_responder is not None:
                    member.join_responder(_join_error(code, member.member_id))
                    member.join_responder = None
                if member.sync_responder is not None:
                    member.sync_responder(_error(code, assignment=b""))
                    member.sync_responder = None

    def next_deadline(self) -> int | None:
        return self.timers.next_deadline()

    # ---- offsets -------------------------------------------------------------------------------------

    def validate_commit(self, group_id: str, generation: int, member_id: str, instance_id: str | None,
                        version: int = 0) -> int:
        """Kafka's ClassicGroup.validateOffsetCommit; creates a simple group for generation -1.

        A generation for a group that does not exist is GROUP_ID_NOT_FOUND from OffsetCommit v9
        (KIP-848), ILLEGAL_GENERATION before. The empty group id is a group like any other here:
        Kafka keeps offsets for it, for backwards compatibility (TxnOffsetCommit refuses it).
        """
        group = self.groups.get(group_id)
        if group is None:
            if generation >= 0:
                return int(ErrorCode.GROUP_ID_NOT_FOUND if version >= 9 else ErrorCode.ILLEGAL_GENERATION)
            self.groups[group_id] = Group(group_id)  # a "simple" group of a consumer that assigns itself
            return 0
        if group.state == GroupState.DEAD:
            return int(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if generation < 0 and group.state == GroupState.EMPTY:
            return 0
        if generation >= 0 or member_id or instance_id is not None:
            code = _validate_member(group, member_id, instance_id)
            if code:
                return code
            if generation != group.generation:
                return int(ErrorCode.ILLEGAL_GENERATION)
        elif group.state != GroupState.EMPTY:
            return int(ErrorCode.UNKNOWN_MEMBER_ID)
        if group.state == GroupState.COMPLETING_REBALANCE:
            return int(ErrorCode.REBALANCE_IN_PROGRESS)
        return 0

    def commit(self, now: int, group_id: str, topic: str, partition: int, offset: int, leader_epoch: int,
               metadata: str | None) -> int:
        """Store one validated commit; the per-partition error (metadata too large) or 0."""
        meta = metadata or ""
        if len(meta) > self.config.max_metadata_bytes:
            return 12  # OFFSET_METADATA_TOO_LARGE
        group = self.groups[group_id]
        group.offsets[(topic, partition)] = OffsetEntry(offset, leader_epoch, meta, now)
        self.persist({"t": "offset", "g": group_id, "topic": topic, "p": partition, "o": offset,
                      "e": leader_epoch, "m": meta, "ts": now})
        return 0

    def validate_txn_commit(self, group_id: str, generation: int, member_id: str, instance_id: str | None) -> int:
        """TxnOffsetCommit's checks: the group is created if needed; members are checked if named."""
        if not group_id:
            return int(ErrorCode.INVALID_GROUP_ID)
        if group_id not in self.groups and generation >= 0:
            # As Kafka: a generation of a group that does not exist is ILLEGAL_GENERATION (only a
            # commit without one creates the group, for consumers not using group management).
            return int(ErrorCode.ILLEGAL_GENERATION)
        group = self.groups.setdefault(group_id, Group(group_id))
        if generation < 0 and not member_id and instance_id is None:
            return 0
        code = _validate_member(group, member_id, instance_id)
        if code:
            return code
        if generation != group.generation:
            return int(ErrorCode.ILLEGAL_GENERATION)
        return 0

    def txn_commit(self, now: int, group_id: str, producer_id: int, topic: str, partition: int, offset: int,
                   leader_epoch: int, metadata: str | None) -> int:
        """Hold an offset committed in a transaction until the transaction ends."""
        meta = metadata or ""
        if len(meta) > self.config.max_metadata_bytes:
            return 12  # OFFSET_METADATA_TOO_LARGE
        group = self.groups[group_id]
        group.txn_offsets.setdefault(producer_id, {})[(topic, partition)] = OffsetEntry(offset, leader_epoch, meta, now)
        self.persist({"t": "txn_offset", "g": group_id, "pid": producer_id, "topic": topic, "p": partition,
                      "o": offset, "e": leader_epoch, "m": meta, "ts": now})
        return 0

    def settle_txn(self, producer_id: int, group_ids: set[str], commit: bool) -> None:
        """A transaction ended: its offsets become committed offsets, or vanish on abort."""
        for group_id in group_ids:
            group = self.groups.get(group_id)
            if group is None:
                continue
            pending = group.txn_offsets.pop(producer_id, {})
            if commit:
                for (topic, partition), e in pending.items():
                    group.offsets[(topic, partition)] = e
            self.persist({"t": "txn_end", "g": group_id, "pid": producer_id, "commit": commit})

    def has_pending_txn_offset(self, group_id: str, topic: str, partition: int) -> bool:
        group = self.groups.get(group_id)
        return group is not None and any((topic, partition) in p for p in group.txn_offsets.values())

    def committed(self, group_id: str) -> dict[tuple[str, int], OffsetEntry]:
        group = self.groups.get(group_id)
        return group.offsets if group is not None else {}

    def delete_offsets(self, group_id: str, partitions: list[tuple[str, int]]) -> None:
        group = self.groups[group_id]
        for tp in partitions:
            if group.offsets.pop(tp, None) is not None:
                self.persist({"t": "offset", "g": group_id, "topic": tp[0], "p": tp[1], "o": None})

    def delete_topic_offsets(self, topic: str) -> None:
        """Drop every group's offsets of a deleted topic."""
        for group in self.groups.values():
            doomed = [tp for tp in group.offsets if tp[0] == topic]
            if doomed:
                self.delete_offsets(group.group_id, doomed)

    # ---- admin ------------------------------------------------------------------------------------------

    def delete_group(self, group_id: str) -> int:
        group = self.groups.get(group_id)
        if group is None:
            return int(ErrorCode.GROUP_ID_NOT_FOUND)
        if group.state != GroupState.EMPTY:
            return int(ErrorCode.NON_EMPTY_GROUP)
        del self.groups[group_id]
        self.persist({"t": "group_deleted", "g": group_id})
        return 0

    # ---- persistence ---------------------------------------------------------------------------------------

    def _persist_group(self, group: Group) -> None:
        group.last_record = self._group_record(group)
        self.persist(group.last_record)

    @staticmethod
    def _group_record(group: Group) -> dict[str, Any]:
        return (
            {
                "t": "group",
                "g": group.group_id,
                "type": group.protocol_type,
                "gen": group.generation,
                "proto": group.protocol_name,
                "leader": group.leader_id,
                "members": [
                    {"id": m.member_id, "inst": m.group_instance_id, "client": m.client_id,
                     "host": m.client_host, "st": m.session_timeout_ms, "rt": m.rebalance_timeout_ms,
                     "protos": [[name, meta.hex()] for name, meta in m.protocols], "asg": m.assignment.hex()}
                    for m in group.members.values()
                ]
                if group.state == GroupState.STABLE
                else [],
            }
        )

    def snapshot(self) -> list[dict[str, Any]]:
        """Records that rebuild the current state (for compacting the persisted log)."""
        out: list[dict[str, Any]] = []
        saved, self.persist = self.persist, out.append
        try:
            for group in self.groups.values():
                out.append(group.last_record or self._group_record(group))
                for (topic, partition), e in group.offsets.items():
                    out.append({"t": "offset", "g": group.group_id, "topic": topic, "p": partition, "o": e.offset,
                                "e": e.leader_epoch, "m": e.metadata, "ts": e.commit_timestamp})
                for pid, pending in group.txn_offsets.items():
                    for (topic, partition), e in pending.items():
                        out.append({"t": "txn_offset", "g": group.group_id, "pid": pid, "topic": topic,
                                    "p": partition, "o": e.offset, "e": e.leader_epoch, "m": e.metadata,
                                    "ts": e.commit_timestamp})
        finally:
            self.persist = saved
        return out

    def replay(self, record: dict[str, Any], now: int) -> None:
        """Apply one persisted record while loading; members restored must heartbeat again in time."""
        kind = record.get("t")
        group_id = record["g"]
        if kind == "group_deleted":
            self.groups.pop(group_id, None)
            return
        group = self.groups.setdefault(group_id, Group(group_id))
        if kind == "txn_offset":
            entry = OffsetEntry(record["o"], record["e"], record["m"], record["ts"])
            group.txn_offsets.setdefault(record["pid"], {})[(record["topic"], record["p"])] = entry
        elif kind == "txn_end":
            pending = group.txn_offsets.pop(record["pid"], {})
            if record["commit"]:
                group.offsets.update(pending)
        elif kind == "offset":
            tp = (record["topic"], record["p"])
            if record["o"] is None:
                group.offsets.pop(tp, None)
            else:
                group.offsets[tp] = OffsetEntry(record["o"], record["e"], record["m"], record["ts"])
        elif kind == "group":
            for member_id in list(group.members):
                self.timers.cancel(("heartbeat", group_id, member_id))
            group.members.clear()
            group.static.clear()
            group.generation = record["gen"]
            group.protocol_type = record["type"]
            group.protocol_name = record["proto"]
            group.leader_id = record["leader"]
            for m in record["members"]:
                member = Member(m["id"], m["inst"], m["client"], m["host"], m["st"], m["rt"],
                                [(name, bytes.fromhex(meta)) for name, meta in m["protos"]],
                                bytes.fromhex(m["asg"]))
                group.members[member.member_id] = member
                if member.group_instance_id is not None:
                    group.static[member.group_instance_id] = member.member_id
                self._schedule_heartbeat(now, group, member)
            group.state = GroupState.STABLE if group.members else GroupState.EMPTY
