"""The records coordinators persist, and their JSON encoding: one place per layout.

A coordinator never writes a dict of its own; it returns these records in a
``CoordinatorResult`` and applies them in ``replay``, live and at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ---- group and offset records
# consumer_offsets.log, one JSON object a line. The layout predates this module and is kept key for
# key ("t", "g", "topic", "p", "o", "e", "m", "ts", ...), so data dirs written before still load.
# New keys are optional with a default ("sts": when the group entered its current state).

GROUP = "group"
OFFSET = "offset"
TXN_OFFSET = "txn_offset"
TXN_OFFSET_END = "txn_end"
GROUP_DELETED = "group_deleted"


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """One member of a Stable group, with the assignment the leader gave it."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocols: tuple[tuple[str, bytes], ...]
    assignment: bytes

    def to_json(self) -> dict[str, Any]:
        return {"id": self.member_id, "inst": self.group_instance_id, "client": self.client_id,
                "host": self.client_host, "st": self.session_timeout_ms, "rt": self.rebalance_timeout_ms,
                "protos": [[name, meta.hex()] for name, meta in self.protocols], "asg": self.assignment.hex()}

    @classmethod
    def from_json(cls, m: dict[str, Any]) -> MemberRecord:
        return cls(m["id"], m["inst"], m["client"], m["host"], m["st"], m["rt"],
                   tuple((name, bytes.fromhex(meta)) for name, meta in m["protos"]), bytes.fromhex(m["asg"]))


@dataclass(frozen=True, slots=True)
class GroupMetadataRecord:
    """A classic group as it is once Stable (members and assignments) or Empty (no members).

    Kafka's GroupMetadataValue; ``state_timestamp`` is its currentStateTimestamp (-1: unknown,
    as in logs written before it was kept), from which the offsets of an Empty group expire.
    """

    group_id: str
    protocol_type: str | None
    generation: int
    protocol_name: str | None
    leader_id: str | None
    members: tuple[MemberRecord, ...] = ()
    state_timestamp: int = -1

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"t": GROUP, "g": self.group_id, "type": self.protocol_type, "gen": self.generation,
                               "proto": self.protocol_name, "leader": self.leader_id,
                               "members": [m.to_json() for m in self.members]}
        if self.state_timestamp >= 0:
            doc["sts"] = self.state_timestamp
        return doc


@dataclass(frozen=True, slots=True)
class OffsetCommitRecord:
    """A committed offset (Kafka's OffsetCommitValue).

    ``expire_timestamp`` is set only by OffsetCommit v2-v4 with an explicit retention time ("x",
    absent otherwise): such an offset expires then, whatever ``offsets.retention.minutes`` says.
    """

    group_id: str
    topic: str
    partition: int
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int
    expire_timestamp: int = -1

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"t": OFFSET, "g": self.group_id, "topic": self.topic, "p": self.partition,
                               "o": self.offset, "e": self.leader_epoch, "m": self.metadata,
                               "ts": self.commit_timestamp}
        if self.expire_timestamp >= 0:
            doc["x"] = self.expire_timestamp
        return doc


@dataclass(frozen=True, slots=True)
class OffsetTombstone:
    """A committed offset removed (OffsetDelete, a deleted topic, expiry): offset null, as before."""

    group_id: str
    topic: str
    partition: int

    def to_json(self) -> dict[str, Any]:
        return {"t": OFFSET, "g": self.group_id, "topic": self.topic, "p": self.partition, "o": None}


@dataclass(frozen=True, slots=True)
class TxnOffsetCommitRecord:
    """An offset committed inside a transaction, held until the transaction ends."""

    group_id: str
    producer_id: int
    topic: str
    partition: int
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {"t": TXN_OFFSET, "g": self.group_id, "pid": self.producer_id, "topic": self.topic,
                "p": self.partition, "o": self.offset, "e": self.leader_epoch, "m": self.metadata,
                "ts": self.commit_timestamp}


@dataclass(frozen=True, slots=True)
class TxnOffsetEndRecord:
    """A transaction ended: its pending offsets of this group become committed (or vanish on abort)."""

    group_id: str
    producer_id: int
    commit: bool

    def to_json(self) -> dict[str, Any]:
        return {"t": TXN_OFFSET_END, "g": self.group_id, "pid": self.producer_id, "commit": self.commit}


@dataclass(frozen=True, slots=True)
class GroupTombstone:
    """A group removed (DeleteGroups, or expired once Empty with no offsets left), with its offsets."""

    group_id: str

    def to_json(self) -> dict[str, Any]:
        return {"t": GROUP_DELETED, "g": self.group_id}


GroupLogRecord = (
    GroupMetadataRecord | OffsetCommitRecord | OffsetTombstone | TxnOffsetCommitRecord | TxnOffsetEndRecord
    | GroupTombstone
)


def decode_group_record(doc: dict[str, Any]) -> GroupLogRecord:
    """One line of consumer_offsets.log as a record (ValueError for a type this broker does not know)."""
    kind = doc.get("t")
    g = doc["g"]
    if kind == OFFSET:
        if doc["o"] is None:
            return OffsetTombstone(g, doc["topic"], doc["p"])
        return OffsetCommitRecord(g, doc["topic"], doc["p"], doc["o"], doc["e"], doc["m"], doc["ts"], doc.get("x", -1))
    if kind == GROUP:
        return GroupMetadataRecord(g, doc["type"], doc["gen"], doc["proto"], doc["leader"],
                                   tuple(MemberRecord.from_json(m) for m in doc["members"]), doc.get("sts", -1))
    if kind == TXN_OFFSET:
        return TxnOffsetCommitRecord(g, doc["pid"], doc["topic"], doc["p"], doc["o"], doc["e"], doc["m"], doc["ts"])
    if kind == TXN_OFFSET_END:
        return TxnOffsetEndRecord(g, doc["pid"], doc["commit"])
    if kind == GROUP_DELETED:
        return GroupTombstone(g)
    raise ValueError(f"unknown consumer_offsets.log record type {kind!r}")


# ---- transaction records
# transactions.log, one JSON object a line. The layout predates this module and is kept as it
# was ("t": "txn" with the whole state of one transactional id), so data dirs written before
# still load; a removed (expired) id is a "txn_tombstone", which older code skips.

TXN = "txn"
TXN_TOMBSTONE = "txn_tombstone"


@dataclass(frozen=True, slots=True)
class TxnRecord:
    """The whole state of one transactional id after a change (Kafka's TransactionLogValue)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    last_producer_epoch: int
    timeout_ms: int
    state: str  # a TxnState value: Empty, Ongoing, PrepareCommit, ...
    partitions: frozenset[tuple[str, int]]
    groups: frozenset[str]
    start_ms: int
    last_update_ms: int
    previous_producer_id: int = -1

    def to_json(self) -> dict[str, Any]:
        return {
            "t": TXN,
            "id": self.transactional_id,
            "pid": self.producer_id,
            "epoch": self.producer_epoch,
            "last_epoch": self.last_producer_epoch,
            "timeout": self.timeout_ms,
            "state": self.state,
            "partitions": sorted([t, p] for t, p in self.partitions),
            "groups": sorted(self.groups),
            "start": self.start_ms,
            "updated": self.last_update_ms,
            "prev_pid": self.previous_producer_id,
        }


@dataclass(frozen=True, slots=True)
class TxnTombstone:
    """A transactional id removed after ``transactional.id.expiration.ms`` (Kafka's null-value record)."""

    transactional_id: str

    def to_json(self) -> dict[str, Any]:
        return {"t": TXN_TOMBSTONE, "id": self.transactional_id}


@dataclass(frozen=True, slots=True)
class UnknownTxnLogRecord:
    """A line of another type: kept as read and ignored by replay (as the code before this module did)."""

    doc: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.doc)


TxnLogRecord = TxnRecord | TxnTombstone | UnknownTxnLogRecord


def decode_txn_record(doc: dict[str, Any]) -> TxnLogRecord:
    """One line of transactions.log as a record."""
    kind = doc.get("t")
    if kind == TXN:
        return TxnRecord(
            transactional_id=doc["id"],
            producer_id=doc["pid"],
            producer_epoch=doc["epoch"],
            last_producer_epoch=doc["last_epoch"],
            timeout_ms=doc["timeout"],
            state=doc["state"],
            partitions=frozenset((t, p) for t, p in doc["partitions"]),
            groups=frozenset(doc["groups"]),
            start_ms=doc["start"],
            last_update_ms=doc["updated"],
            previous_producer_id=doc.get("prev_pid", -1),
        )
    if kind == TXN_TOMBSTONE:
        return TxnTombstone(doc["id"])
    return UnknownTxnLogRecord(doc)
