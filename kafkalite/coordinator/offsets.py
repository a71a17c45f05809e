"""Committed offsets and offsets pending in transactions, per group (Kafka's OffsetMetadataManager).

Owns nothing but offsets: which groups exist and who is a member is the group coordinator's
business. Every change is a record (``coordinator/records.py``) built by an operation here and
applied by :meth:`OffsetStore.replay` once the log holds it, the same path loading takes.
Nothing here reads a clock: operations get ``now`` from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from kafkalite.coordinator.records import (
    GroupLogRecord,
    GroupTombstone,
    OffsetCommitRecord,
    OffsetTombstone,
    TxnOffsetCommitRecord,
    TxnOffsetEndRecord,
)
from kafkalite.coordinator.runtime import Record

TopicPartition = tuple[str, int]


@dataclass
class OffsetEntry:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int
    expire_timestamp: int | None = None  # an explicit retention (OffsetCommit v2-v4)


@dataclass
class GroupOffsets:
    """One group's committed offsets and, by producer id, those pending in open transactions."""

    committed: dict[TopicPartition, OffsetEntry] = field(default_factory=dict)
    pending: dict[int, dict[TopicPartition, OffsetEntry]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not self.committed and not self.pending


# When an offset's retention starts counting, or None if this offset never expires now.
ExpiryBase = Callable[[str, TopicPartition, OffsetEntry], int | None]


class OffsetStore:
    """Every group's offsets; changed only by :meth:`replay`."""

    def __init__(self, max_metadata_bytes: int = 4096) -> None:
        self.max_metadata_bytes = max_metadata_bytes
        self._groups: dict[str, GroupOffsets] = {}

    # ---- queries -------------------------------------------------------------------------------

    def committed(self, group_id: str) -> dict[TopicPartition, OffsetEntry]:
        offsets = self._groups.get(group_id)
        return offsets.committed if offsets is not None else {}

    def has_pending_txn_offset(self, group_id: str, topic: str, partition: int) -> bool:
        offsets = self._groups.get(group_id)
        return offsets is not None and any((topic, partition) in p for p in offsets.pending.values())

    def has_pending(self, group_id: str) -> bool:
        offsets = self._groups.get(group_id)
        return offsets is not None and bool(offsets.pending)

    def has_offsets(self, group_id: str) -> bool:
        offsets = self._groups.get(group_id)
        return offsets is not None and not offsets.is_empty()

    def group_ids(self) -> Iterator[str]:
        return iter(list(self._groups))

    def metadata_too_large(self, metadata: str | None) -> bool:
        return len(metadata or "") > self.max_metadata_bytes

    # ---- operations: records for the caller to persist -------------------------------------------

    def commit_record(self, now: int, group_id: str, topic: str, partition: int, offset: int, leader_epoch: int,
                      metadata: str | None, retention_ms: int = -1) -> OffsetCommitRecord:
        """``retention_ms`` other than -1 (OffsetCommit v2-v4) sets the offset's own expiry time."""
        expire = now + retention_ms if retention_ms >= 0 else -1
        return OffsetCommitRecord(group_id, topic, partition, offset, leader_epoch, metadata or "", now, expire)

    def txn_commit_record(self, now: int, group_id: str, producer_id: int, topic: str, partition: int, offset: int,
                          leader_epoch: int, metadata: str | None) -> TxnOffsetCommitRecord:
        return TxnOffsetCommitRecord(group_id, producer_id, topic, partition, offset, leader_epoch, metadata or "",
                                     now)

    def settle_records(self, producer_id: int, group_ids: set[str], commit: bool) -> list[Record]:
        """A transaction ended: one end record per group that knows it (sorted, so replays are repeatable)."""
        return [TxnOffsetEndRecord(g, producer_id, commit) for g in sorted(group_ids) if g in self._groups]

    def delete_records(self, group_id: str, partitions: list[TopicPartition]) -> list[Record]:
        committed = self.committed(group_id)
        return [OffsetTombstone(group_id, t, p) for t, p in dict.fromkeys(partitions) if (t, p) in committed]

    def delete_topic_records(self, topic: str) -> list[Record]:
        return [OffsetTombstone(g, t, p) for g, offsets in self._groups.items() for t, p in offsets.committed
                if t == topic]

    def expired_records(self, now: int, retention_ms: int, group_id: str, base: ExpiryBase) -> list[Record]:
        """Kafka's cleanupExpiredOffsets for one group: tombstones for offsets past retention.

        An offset with a commit pending in a transaction never expires; ``base`` says from when
        each offset's retention counts (None: not now, e.g. a topic the group is subscribed to).
        """
        offsets = self._groups.get(group_id)
        if offsets is None:
            return []
        out: list[Record] = []
        pending = {tp for p in offsets.pending.values() for tp in p}
        for tp, entry in offsets.committed.items():
            if tp in pending:
                continue
            start = base(group_id, tp, entry)
            if start is None:
                continue
            if entry.expire_timestamp is not None:
                expired = now >= entry.expire_timestamp  # the old per-offset retention wins (as Kafka)
            else:
                expired = now - start >= retention_ms
            if expired:
                out.append(OffsetTombstone(group_id, tp[0], tp[1]))
        return out

    # ---- replay: the one mutation path --------------------------------------------------------------

    def replay(self, record: GroupLogRecord) -> None:
        if isinstance(record, GroupTombstone):
            self._groups.pop(record.group_id, None)
            return
        if isinstance(record, OffsetCommitRecord):
            expire = record.expire_timestamp if record.expire_timestamp >= 0 else None
            entry = OffsetEntry(record.offset, record.leader_epoch, record.metadata, record.commit_timestamp, expire)
            self._offsets(record.group_id).committed[(record.topic, record.partition)] = entry
        elif isinstance(record, OffsetTombstone):
            offsets = self._groups.get(record.group_id)
            if offsets is not None:
                offsets.committed.pop((record.topic, record.partition), None)
                self._forget_if_empty(record.group_id)
        elif isinstance(record, TxnOffsetCommitRecord):
            entry = OffsetEntry(record.offset, record.leader_epoch, record.metadata, record.commit_timestamp)
            pending = self._offsets(record.group_id).pending.setdefault(record.producer_id, {})
            pending[(record.topic, record.partition)] = entry
        elif isinstance(record, TxnOffsetEndRecord):
            offsets = self._groups.get(record.group_id)
            if offsets is not None:
                pending = offsets.pending.pop(record.producer_id, {})
                if record.commit:
                    offsets.committed.update(pending)
                self._forget_if_empty(record.group_id)

    def _offsets(self, group_id: str) -> GroupOffsets:
        offsets = self._groups.get(group_id)
        if offsets is None:
            offsets = self._groups[group_id] = GroupOffsets()
        return offsets

    def _forget_if_empty(self, group_id: str) -> None:
        offsets = self._groups.get(group_id)
        if offsets is not None and offsets.is_empty():
            del self._groups[group_id]

    # ---- snapshot -----------------------------------------------------------------------------------------

    def snapshot(self, group_id: str) -> list[Record]:
        """Records that rebuild this group's offsets (for compacting the log)."""
        offsets = self._groups.get(group_id)
        if offsets is None:
            return []
        out: list[Record] = [
            OffsetCommitRecord(group_id, t, p, e.offset, e.leader_epoch, e.metadata, e.commit_timestamp,
                               -1 if e.expire_timestamp is None else e.expire_timestamp)
            for (t, p), e in offsets.committed.items()
        ]
        for pid, pending in offsets.pending.items():
            out.extend(
                TxnOffsetCommitRecord(group_id, pid, t, p, e.offset, e.leader_epoch, e.metadata, e.commit_timestamp)
                for (t, p), e in pending.items()
            )
        return out
