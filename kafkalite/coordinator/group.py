"""The classic consumer group protocol as Kafka's group coordinator runs it.

States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and back to
PreparingRebalance whenever membership or subscriptions change; :data:`VALID_PREVIOUS_STATES`
says which moves are legal and :meth:`GroupCoordinator._transition` refuses the rest. Inputs are
requests plus ``now_ms``; outputs are responses (immediate, or later through the responder a
JoinGroup or SyncGroup left behind) and keyed timers. Nothing here reads a clock, sleeps or does
I/O, so every timeout is testable by moving ``now_ms``.

Durable state (a Stable or Empty group's generation, protocol, leader, members and their
assignments; committed offsets, which :mod:`kafkalite.coordinator.offsets` owns; deletions)
changes only by records (:mod:`kafkalite.coordinator.records`) written through a
:class:`~kafkalite.coordinator.runtime.CoordinatorLog` and then applied by :meth:`replay`, the
same method that loads the log at start-up. Volatile state Kafka does not persist either
(members waiting in JoinGroup/SyncGroup, pending member ids, a rebalance in progress, timers)
changes directly. A write the disk refuses (OSError) changes nothing durable and answers
NOT_COORDINATOR, as Kafka maps a KAFKA_STORAGE_ERROR from the offsets topic; the client finds the
coordinator again and retries.

Responses are dicts with the protocol's field names so the handlers pass them through.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kafkalite.coordinator.offsets import OffsetEntry, OffsetStore, TopicPartition
from kafkalite.coordinator.records import (
    GroupLogRecord,
    GroupMetadataRecord,
    GroupTombstone,
    MemberRecord,
    OffsetCommitRecord,
    OffsetTombstone,
    TxnOffsetCommitRecord,
    TxnOffsetEndRecord,
    decode_group_record,
)
from kafkalite.coordinator.runtime import AppendOnlyLog, CoordinatorLog, CoordinatorResult, Record
from kafkalite.coordinator.timers import KeyedTimers
from kafkalite.errors import ErrorCode

__all__ = [
    "VALID_PREVIOUS_STATES",
    "GroupConfig",
    "GroupCoordinator",
    "GroupState",
    "GroupView",
    "IllegalStateTransition",
    "JoinParams",
    "MemberView",
    "OffsetEntry",
]

log = logging.getLogger(__name__)

Responder = Callable[[dict[str, Any]], None]

# The error a request gets when the log refuses its records: Kafka answers a failed append to the
# offsets topic (KAFKA_STORAGE_ERROR) with NOT_COORDINATOR (GroupCoordinatorService.handleOperationException).
STORAGE_FAILURE = ErrorCode.NOT_COORDINATOR


class GroupState(str, Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


# Kafka's ClassicGroupState.validPreviousStates: the states each state may be entered from.
VALID_PREVIOUS_STATES: dict[GroupState, frozenset[GroupState]] = {
    GroupState.EMPTY: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.PREPARING_REBALANCE: frozenset(
        {GroupState.STABLE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY}
    ),
    GroupState.COMPLETING_REBALANCE: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.STABLE: frozenset({GroupState.COMPLETING_REBALANCE}),
    GroupState.DEAD: frozenset(
        {GroupState.STABLE, GroupState.PREPARING_REBALANCE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY,
         GroupState.DEAD}
    ),
}


class IllegalStateTransition(RuntimeError):
    """A group was asked to move to a state its current state may not lead to: a coordinator bug."""


@dataclass
class GroupConfig:
    initial_rebalance_delay_ms: int = 0
    min_session_timeout_ms: int = 1000
    max_session_timeout_ms: int = 1800000
    max_metadata_bytes: int = 4096
    new_member_join_timeout_ms: int = 300000  # classic.group.new.member.join.timeout.ms
    offsets_retention_ms: int = 10080 * 60_000  # offsets.retention.minutes
    offsets_retention_check_interval_ms: int = 600_000  # offsets.retention.check.interval.ms


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
    state_timestamp: int | None = None  # when the group entered its state (Kafka's currentStateTimestamp)
    initial_delay_until: int | None = None
    delay_limit: int = 0  # the initial delay may be extended up to this time (the rebalance timeout)
    joined_during_delay: bool = False
    last_record: GroupMetadataRecord | None = None  # the durable state: the last record replayed

    def is_empty(self) -> bool:
        return not self.members and not self.pending


@dataclass(frozen=True, slots=True)
class MemberView:
    """A member as DescribeGroups shows it; ``metadata`` is for the group's selected protocol."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupView:
    """A read-only picture of one group, for the handlers and metrics (they never hold a ``Group``)."""

    group_id: str
    state: GroupState
    protocol_type: str | None
    protocol_name: str | None
    members: tuple[MemberView, ...]


def _validate_member(group: Group, member_id: str, instance_id: str | None) -> int:
    """Kafka's ClassicGroup.validateMember: a named instance must be the group's static member with
    this id (unknown instance: UNKNOWN_MEMBER_ID, another id: FENCED_INSTANCE_ID); the id must be a member."""
    if instance_id is not None:
        current = group.static.get(instance_id)
        if current is None:
            return int(ErrorCode.UNKNOWN_MEMBER_ID)
        if current != member_id:
            return int(ErrorCode.FENCED_INSTANCE_ID)
    return int(ErrorCode.NONE) if member_id in group.members else int(ErrorCode.UNKNOWN_MEMBER_ID)


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
    """All classic groups of this broker; their offsets are in ``self.offsets``.

    ``log`` is where records go (``storage.metadata_log.MetadataLog`` in the broker); ``fsync``
    makes every write durable before the response (the ``always`` policy).
    """

    def __init__(self, config: GroupConfig, log: AppendOnlyLog, fsync: bool = False) -> None:
        self.config = config
        self._groups: dict[str, Group] = {}
        self.offsets = OffsetStore(config.max_metadata_bytes)
        self.timers = KeyedTimers()
        self.runtime = CoordinatorLog(log, self, decode_group_record, fsync=fsync)
        self._next_expiry_check: int | None = None

    # ---- JoinGroup ---------------------------------------------------------------------------

    def join(self, now: int, p: JoinParams, respond: Responder) -> None:
        cfg = self.config
        if not p.group_id:
            respond(_join_error(ErrorCode.INVALID_GROUP_ID, p.member_id))
            return
        if not cfg.min_session_timeout_ms <= p.session_timeout_ms <= cfg.max_session_timeout_ms:
            respond(_join_error(ErrorCode.INVALID_SESSION_TIMEOUT, p.member_id))
            return
        group = self._groups.get(p.group_id)
        if group is None:
            if p.member_id:
                respond(_join_error(ErrorCode.UNKNOWN_MEMBER_ID, p.member_id))
                return
            group = self._groups[p.group_id] = Group(p.group_id)
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
        order = list(group.members)
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
            saved = (member.client_id, member.client_host, member.session_timeout_ms, member.rebalance_timeout_ms)
            member.client_id, member.client_host = p.client_id, p.client_host
            member.session_timeout_ms = p.session_timeout_ms
            member.rebalance_timeout_ms = p.rebalance_timeout_ms
            if self._write([self._group_record(group, group.state_timestamp)]):
                # Kafka reverts the replacement when the group cannot be stored; the old id stays.
                member.client_id, member.client_host, member.session_timeout_ms, member.rebalance_timeout_ms = saved
                member.protocols = old_protocols
                member.member_id = old_id
                group.members = {mid: member if mid == old_id else group.members[mid] for mid in order}
                group.static[p.group_instance_id or ""] = old_id
                if was_leader:
                    group.leader_id = old_id
                self._schedule_heartbeat(now, group, member)
                respond(_join_error(STORAGE_FAILURE, ""))
                return
            self._schedule_heartbeat(now, group, member)
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
        self._transition(group, GroupState.PREPARING_REBALANCE, now)
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
        if not joined:
            # The group is Empty at the next generation. As Kafka, memory moves on even if the disk
            # refuses the record: no member depends on it, and after a restart the previous
            # generation (whose members are gone) times out.
            record = GroupMetadataRecord(group.group_id, group.protocol_type, group.generation + 1, None, None, (),
                                         now)
            if self._write([record]):
                log.warning("group %s: could not store its empty generation; going on in memory", group.group_id)
                self.replay(record)
            return
        group.generation += 1
        group.protocol_name = self._select_protocol(group)
        if group.leader_id not in group.members or group.members[group.leader_id].join_responder is None:
            group.leader_id = joined[0].member_id
        self._transition(group, GroupState.COMPLETING_REBALANCE, now)
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
            "error_code": int(ErrorCode.NONE),
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
        group = self._groups.get(group_id)
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
                # The leader's assignment makes the group Stable once the record holding it is stored.
                record = self._group_record(group, now, {mid: assignments.get(mid, b"") for mid in group.members})
                if self._write([record]):
                    # Kafka: every member waiting in SyncGroup gets the error, and the group rebalances.
                    for m in group.members.values():
                        if m.sync_responder is not None:
                            m.sync_responder(_error(STORAGE_FAILURE, protocol_type=None, protocol_name=None,
                                                    assignment=b""))
                            m.sync_responder = None
                    self._prepare_rebalance(now, group)
                    return
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
            "error_code": int(ErrorCode.NONE),
            "protocol_type": group.protocol_type,
            "protocol_name": group.protocol_name,
            "assignment": member.assignment,
        }

    # ---- Heartbeat and LeaveGroup ------------------------------------------------------------------

    def heartbeat(self, now: int, group_id: str, generation: int, member_id: str, instance_id: str | None) -> int:
        if not group_id:
            return int(ErrorCode.INVALID_GROUP_ID)
        group = self._groups.get(group_id)
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
        group = self._groups.get(group_id)
        if group is None:
            # Kafka: every member UNKNOWN_MEMBER_ID, no group-level error (v0-v2 fold the member's in).
            return int(ErrorCode.NONE), [int(ErrorCode.UNKNOWN_MEMBER_ID)] * len(identities)
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
                    codes.append(int(ErrorCode.NONE))
                    changed = True
            elif member_id in group.pending:
                group.pending.discard(member_id)
                self.timers.cancel(("pending", group_id, member_id))
                codes.append(int(ErrorCode.NONE))
                changed = True
            elif member_id in group.members:
                self._drop_member(group, group.members[member_id])
                codes.append(int(ErrorCode.NONE))
                changed = True
            else:
                codes.append(int(ErrorCode.UNKNOWN_MEMBER_ID))
        if changed:
            self._membership_changed(now, group)
        return int(ErrorCode.NONE), codes

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
        """Fire every timer due at ``now`` (session expiry, rebalance and sync timeouts), and expire
        offsets and groups every ``offsets.retention.check.interval.ms``."""
        # Handling a timer may schedule another one that is already due: keep going until none is.
        while due := self.timers.pop_due(now):
            for key in due:
                self._fire(now, key)
        if self._next_expiry_check is None:
            self._next_expiry_check = now + self.config.offsets_retention_check_interval_ms
        elif now >= self._next_expiry_check:
            self._next_expiry_check = now + self.config.offsets_retention_check_interval_ms
            self.cleanup_expired(now)

    def _fire(self, now: int, key: Any) -> None:
        kind, group_id = key[0], key[1]
        group = self._groups.get(group_id)
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
        for group in self._groups.values():
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
        group = self._groups.get(group_id)
        if group is None:
            if generation >= 0:
                return int(ErrorCode.GROUP_ID_NOT_FOUND if version >= 9 else ErrorCode.ILLEGAL_GENERATION)
            # A "simple" group of a consumer that assigns itself; it holds nothing durable until
            # an offset is stored, and the expiry check removes it if none ever is (as Kafka).
            self._groups[group_id] = Group(group_id)
            return int(ErrorCode.NONE)
        if group.state == GroupState.DEAD:
            return int(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if generation < 0 and group.state == GroupState.EMPTY:
            return int(ErrorCode.NONE)
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
        return int(ErrorCode.NONE)

    def commit_offsets(self, now: int, group_id: str, partitions: list[tuple[str, int, int, int, str | None]],
                       retention_ms: int = -1) -> list[int]:
        """Store validated commits ``(topic, partition, offset, leader epoch, metadata)`` in one write.

        ``retention_ms`` (OffsetCommit v2-v4; -1: the broker's ``offsets.retention.minutes``) gives
        these offsets their own expiry time, as Kafka still honours it.

        One error per partition: OFFSET_METADATA_TOO_LARGE for that partition alone, or, when the
        log refuses the write, NOT_COORDINATOR for every partition that was to be stored.
        """
        result = self._commit_result(now, group_id, partitions, retention_ms)
        codes = self._apply(result, lambda codes: [c or int(STORAGE_FAILURE) for c in codes])
        if int(STORAGE_FAILURE) in codes:
            self._forget_if_volatile(group_id)
        return codes

    def _forget_if_volatile(self, group_id: str) -> None:
        """Drop a group that holds nothing durable and nobody uses (a simple group whose first write
        failed), as Kafka's reverted snapshot would; the expiry check would remove it later anyway."""
        group = self._groups.get(group_id)
        if (group is not None and group.last_record is None and group.state == GroupState.EMPTY
                and group.is_empty() and not self.offsets.has_offsets(group_id)):
            del self._groups[group_id]

    def _commit_result(self, now: int, group_id: str, partitions: list[tuple[str, int, int, int, str | None]],
                       retention_ms: int = -1) -> CoordinatorResult[list[int]]:
        records: list[Record] = []
        codes: list[int] = []
        for topic, partition, offset, epoch, metadata in partitions:
            if self.offsets.metadata_too_large(metadata):
                codes.append(int(ErrorCode.OFFSET_METADATA_TOO_LARGE))
                continue
            records.append(self.offsets.commit_record(now, group_id, topic, partition, offset, epoch, metadata,
                                                      retention_ms))
            codes.append(int(ErrorCode.NONE))
        return CoordinatorResult(records, codes)

    def commit(self, now: int, group_id: str, topic: str, partition: int, offset: int, leader_epoch: int,
               metadata: str | None) -> int:
        """Store one validated commit; the per-partition error (metadata too large, storage) or 0."""
        return self.commit_offsets(now, group_id, [(topic, partition, offset, leader_epoch, metadata)])[0]

    def validate_txn_commit(self, group_id: str, generation: int, member_id: str, instance_id: str | None) -> int:
        """TxnOffsetCommit's checks: the group is created if needed; members are checked if named."""
        if not group_id:
            return int(ErrorCode.INVALID_GROUP_ID)
        if group_id not in self._groups and generation >= 0:
            # As Kafka: a generation of a group that does not exist is ILLEGAL_GENERATION (only a
            # commit without one creates the group, for consumers not using group management).
            return int(ErrorCode.ILLEGAL_GENERATION)
        group = self._groups.setdefault(group_id, Group(group_id))
        if generation < 0 and not member_id and instance_id is None:
            return int(ErrorCode.NONE)
        code = _validate_member(group, member_id, instance_id)
        if code:
            return code
        if generation != group.generation:
            return int(ErrorCode.ILLEGAL_GENERATION)
        return int(ErrorCode.NONE)

    def txn_commit(self, now: int, group_id: str, producer_id: int, topic: str, partition: int, offset: int,
                   leader_epoch: int, metadata: str | None) -> int:
        """Hold an offset committed in a transaction until the transaction ends; the partition's error or 0."""
        if self.offsets.metadata_too_large(metadata):
            return int(ErrorCode.OFFSET_METADATA_TOO_LARGE)
        record = self.offsets.txn_commit_record(now, group_id, producer_id, topic, partition, offset, leader_epoch,
                                                metadata)
        code = self._run(CoordinatorResult([record], int(ErrorCode.NONE)))
        if code == STORAGE_FAILURE:
            self._forget_if_volatile(group_id)
        return code

    def settle_txn(self, producer_id: int, group_ids: set[str], commit: bool) -> None:
        """A transaction ended: its offsets become committed offsets, or vanish on abort.

        Raises OSError if the log refuses the records (nothing changed then): the transaction
        coordinator decides what its caller sees.
        """
        self.runtime.write(self.offsets.settle_records(producer_id, group_ids, commit))

    def has_pending_txn_offset(self, group_id: str, topic: str, partition: int) -> bool:
        return self.offsets.has_pending_txn_offset(group_id, topic, partition)

    def committed(self, group_id: str) -> dict[TopicPartition, OffsetEntry]:
        return self.offsets.committed(group_id)

    def delete_offsets(self, group_id: str, partitions: list[TopicPartition]) -> int:
        """OffsetDelete's removal (the caller checked subscriptions): 0, or NOT_COORDINATOR if not stored."""
        return self._run(CoordinatorResult(self.offsets.delete_records(group_id, partitions), int(ErrorCode.NONE)))

    def delete_topic_offsets(self, topic: str) -> None:
        """Drop every group's offsets of a deleted topic (best effort: a refused write is logged)."""
        if self._write(self.offsets.delete_topic_records(topic)):
            log.warning("could not remove the committed offsets of deleted topic %s", topic)

    # ---- admin ------------------------------------------------------------------------------------------

    def delete_group(self, group_id: str) -> int:
        group = self._groups.get(group_id)
        if group is None:
            return int(ErrorCode.GROUP_ID_NOT_FOUND)
        if group.state != GroupState.EMPTY:
            return int(ErrorCode.NON_EMPTY_GROUP)
        return self._run(CoordinatorResult([GroupTombstone(group_id)], int(ErrorCode.NONE)))

    # ---- queries (handlers and metrics ask here; they never hold a Group) ------------------------------

    def describe(self, group_id: str) -> GroupView | None:
        group = self._groups.get(group_id)
        return None if group is None else self._view(group)

    def list_groups(self, states: set[str] | None = None) -> list[GroupView]:
        """Every group, or those whose state (lower case) is in ``states``."""
        return [self._view(g) for g in self._groups.values()
                if states is None or g.state.value.lower() in states]

    def subscribed_topics(self, group_id: str) -> set[str] | None:
        """Topics the members of an active consumer group subscribe to (None: no such group)."""
        group = self._groups.get(group_id)
        if group is None:
            return None
        return self._subscriptions(group) or set()

    def offsets_by_group(self) -> Iterator[tuple[GroupView, dict[TopicPartition, OffsetEntry]]]:
        """Each group with its committed offsets (for metrics)."""
        for group in list(self._groups.values()):
            yield self._view(group), dict(self.offsets.committed(group.group_id))

    @staticmethod
    def _view(group: Group) -> GroupView:
        return GroupView(
            group.group_id, group.state, group.protocol_type, group.protocol_name,
            tuple(MemberView(m.member_id, m.group_instance_id, m.client_id, m.client_host,
                             m.metadata(group.protocol_name), m.assignment)
                  for m in group.members.values()),
        )

    @staticmethod
    def _subscriptions(group: Group) -> set[str] | None:
        """Kafka's subscribedTopics: known for an active ``consumer`` group only."""
        if group.state == GroupState.EMPTY or group.protocol_type != "consumer":
            return None
        from kafkalite.protocol.codec import subscribed_topics

        topics: set[str] = set()
        for member in group.members.values():
            topics |= subscribed_topics(member.metadata(group.protocol_name))
        return topics

    # ---- expiry (Kafka's cleanupGroupMetadata / OffsetMetadataManager.cleanupExpiredOffsets) -----------

    def cleanup_expired(self, now: int) -> int:
        """Remove offsets past ``offsets.retention``, then Empty groups left with none; how many records.

        From when an offset's retention counts (Kafka's OffsetExpirationCondition): for a group
        without a protocol type (a standalone consumer committing for itself), its commit time; for an
        Empty group, the time it became Empty (the commit time if that is unknown, as in old logs);
        for a Stable ``consumer`` group, the commit time, but only for topics it is not subscribed to.
        Nothing else expires, nor does an offset with a transactional commit pending.
        """
        retention = self.config.offsets_retention_ms
        written = 0
        for group_id in list(dict.fromkeys([*self._groups, *self.offsets.group_ids()])):
            group = self._groups.get(group_id)
            base = self._expiry_base(group)
            if base is None:
                continue
            records = self.offsets.expired_records(now, retention, group_id, base)
            all_gone = len(records) == len(self.offsets.committed(group_id)) and not self.offsets.has_pending(group_id)
            if group is not None and all_gone and group.state == GroupState.EMPTY and group.is_empty():
                records.append(GroupTombstone(group_id))
            if records and self._write(records):
                log.warning("group %s: could not store expired offsets; trying again later", group_id)
                continue
            written += len(records)
        return written

    def _expiry_base(self, group: Group | None) -> Callable[[str, TopicPartition, OffsetEntry], int | None] | None:
        def commit_time(_g: str, _tp: TopicPartition, entry: OffsetEntry) -> int | None:
            return entry.commit_timestamp

        if group is None or group.protocol_type is None:
            return commit_time
        if group.state == GroupState.EMPTY:
            became_empty = group.state_timestamp
            if became_empty is None:
                return commit_time
            return lambda _g, _tp, _e: became_empty
        if group.state == GroupState.STABLE:
            subscribed = self._subscriptions(group)
            if subscribed is None:
                return None
            return lambda _g, tp, entry: None if tp[0] in subscribed else entry.commit_timestamp
        return None

    # ---- records: writing, replaying, snapshots ----------------------------------------------------------

    def _write(self, records: Iterable[Record]) -> int:
        """Persist and replay ``records``; 0, or NOT_COORDINATOR when the log refused them (nothing changed)."""
        try:
            self.runtime.write(records)
        except OSError as exc:
            log.warning("consumer offsets log refused a write (%s): answering %s", exc, STORAGE_FAILURE.name)
            return int(STORAGE_FAILURE)
        return int(ErrorCode.NONE)

    def _run(self, result: CoordinatorResult[int]) -> int:
        """Persist and replay an operation's records; its response, or NOT_COORDINATOR if not stored."""
        return self._write(result.records) or (result.response or int(ErrorCode.NONE))

    def _apply(self, result: CoordinatorResult[list[int]], on_failure: Callable[[list[int]], list[int]]) -> list[int]:
        response = result.response or []
        if self._write(result.records):
            return on_failure(response)
        return response

    def _group_record(self, group: Group, stamp: int | None, assignments: dict[str, bytes] | None = None
                      ) -> GroupMetadataRecord:
        """The record of ``group`` as Stable with its members (and ``assignments``, if new ones).

        ``stamp`` is when the group is Stable from (now, or when it became Stable if it already is).
        """
        members = tuple(
            MemberRecord(m.member_id, m.group_instance_id, m.client_id, m.client_host, m.session_timeout_ms,
                         m.rebalance_timeout_ms, tuple(m.protocols),
                         assignments.get(m.member_id, b"") if assignments is not None else m.assignment)
            for m in group.members.values()
        )
        return GroupMetadataRecord(group.group_id, group.protocol_type, group.generation, group.protocol_name,
                                   group.leader_id, members, -1 if stamp is None else stamp)

    def _transition(self, group: Group, state: GroupState, now: int) -> None:
        """Move ``group`` to ``state``, refusing any move Kafka's state table does not allow."""
        if group.state not in VALID_PREVIOUS_STATES[state]:
            raise IllegalStateTransition(
                f"group {group.group_id}: {group.state.value} -> {state.value} is not a valid transition"
            )
        group.state = state
        group.state_timestamp = now

    def replay(self, record: Record) -> None:
        """Apply one record: the only way durable state changes, live and at load."""
        if not isinstance(record, GroupMetadataRecord | OffsetCommitRecord | OffsetTombstone
                          | TxnOffsetCommitRecord | TxnOffsetEndRecord | GroupTombstone):
            raise TypeError(f"not a group coordinator record: {record!r}")
        self._replay(record)

    def _replay(self, record: GroupLogRecord) -> None:
        group_id = record.group_id
        if isinstance(record, GroupTombstone):
            group = self._groups.pop(group_id, None)
            if group is not None:
                for key in [("heartbeat", group_id, m) for m in group.members] + [("join", group_id),
                                                                                  ("sync", group_id)]:
                    self.timers.cancel(key)
            self.offsets.replay(record)
            return
        if isinstance(record, GroupMetadataRecord):
            self._replay_group(record)
            return
        if group_id not in self._groups and isinstance(record, OffsetCommitRecord | TxnOffsetCommitRecord):
            self._groups[group_id] = Group(group_id)  # offsets alone make a (simple) group, as before
        self.offsets.replay(record)

    def _replay_group(self, record: GroupMetadataRecord) -> None:
        target = GroupState.STABLE if record.members else GroupState.EMPTY
        stamp = record.state_timestamp if record.state_timestamp >= 0 else None
        group = self._groups.get(record.group_id)
        if group is not None and list(group.members) == [m.member_id for m in record.members]:
            # Live: the members in memory are the record's; the group completes its move.
            if group.state != target:
                self._transition(group, target, record.state_timestamp)
            group.state_timestamp = stamp
        else:
            # Loading (or a group with other members in memory): built afresh from the record, as
            # Kafka's replay builds a ClassicGroup; heartbeats start in on_loaded.
            if group is not None:
                for member_id in group.members:
                    self.timers.cancel(("heartbeat", record.group_id, member_id))
            group = self._groups[record.group_id] = Group(record.group_id, state=target, state_timestamp=stamp)
        group.generation = record.generation
        group.protocol_type = record.protocol_type
        group.protocol_name = record.protocol_name
        group.leader_id = record.leader_id
        for m in record.members:
            member = group.members.get(m.member_id)
            if member is None:
                member = group.members[m.member_id] = Member(
                    m.member_id, m.group_instance_id, m.client_id, m.client_host, m.session_timeout_ms,
                    m.rebalance_timeout_ms, list(m.protocols))
                if m.group_instance_id is not None:
                    group.static[m.group_instance_id] = m.member_id
            member.assignment = m.assignment
        group.last_record = record

    def on_loaded(self, now: int) -> None:
        """After loading: every restored member must heartbeat within its session (Kafka's onLoaded)."""
        for group in self._groups.values():
            for member in group.members.values():
                self._schedule_heartbeat(now, group, member)

    def load(self, raw: Iterable[dict[str, Any]], now: int) -> int:
        """Replay the persisted log at start-up; how many records were applied."""
        count = self.runtime.load(iter(raw))
        self.on_loaded(now)
        return count

    def snapshot_records(self) -> list[Record]:
        """Records that rebuild the durable state (for compacting the log): the same records, nothing new."""
        out: list[Record] = []
        for group in self._groups.values():
            if group.last_record is not None:
                out.append(group.last_record)
            out.extend(self.offsets.snapshot(group.group_id))
        return out

    def snapshot(self) -> list[dict[str, Any]]:
        """``snapshot_records`` as the log's JSON lines (``MetadataLog.maybe_compact``)."""
        return [r.to_json() for r in self.snapshot_records()]
