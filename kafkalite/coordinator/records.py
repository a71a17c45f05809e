"""The records coordinators persist, and their JSON encoding: one place per layout.

A coordinator never writes a dict of its own; it returns these records in a
``CoordinatorResult`` and applies them in ``replay``, live and at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
