"""Idempotent-producer state of one partition: producer id -> epoch and recent batches.

Kafka keeps the metadata of the last five batches per producer so a retried batch is
recognised and acknowledged with its original offsets instead of being written twice, and a
gap in sequence numbers is refused. The state is derived from batch headers only; snapshots
(``to_bytes``) taken at segment rolls and clean shutdown bound how much log a restart rescans.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from kafkalite.records.batch import BatchHeader

NO_PRODUCER_ID = -1
RETAINED_BATCHES = 5
_SEQ_MODULO = 2**31


class SequenceError(Exception):
    """The batch breaks the producer's sequence; ``kind`` names the Kafka error."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "out_of_order" | "invalid_epoch"


@dataclass
class _BatchMeta:
    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int
    timestamp: int = -1  # the batch's max timestamp: Kafka answers a duplicate with it


@dataclass
class ProducerEntry:
    epoch: int
    batches: deque[_BatchMeta] = field(default_factory=lambda: deque(maxlen=RETAINED_BATCHES))
    txn_first_offset: int | None = None  # first offset of this producer's open transaction here
    last_timestamp: int = -1
    coordinator_epoch: int = -1  # of the last transaction marker; -1 before any, as in Kafka

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1


def _last_seq(header: BatchHeader) -> int:
    return (header.base_sequence + header.last_offset_delta) % _SEQ_MODULO


class ProducerStateManager:
    def __init__(self) -> None:
        self.producers: dict[int, ProducerEntry] = {}

    def find_duplicate(self, header: BatchHeader) -> tuple[int, int] | None:
        """(base offset, last offset) of an already written batch this one repeats."""
        found = self.duplicate_of(header)
        return None if found is None else found[:2]

    def duplicate_of(self, header: BatchHeader) -> tuple[int, int, int] | None:
        """(base offset, last offset, max timestamp) of an already written batch this one repeats."""
        entry = self.producers.get(header.producer_id)
        if entry is None or entry.epoch != header.producer_epoch:
            return None
        last = _last_seq(header)
        for meta in entry.batches:
            if meta.first_seq == header.base_sequence and meta.last_seq == last:
                return meta.base_offset, meta.last_offset, meta.timestamp
        return None

    def check(self, header: BatchHeader) -> None:
        """Raise SequenceError unless the batch may be appended next (Kafka's checkSequence)."""
        entry = self.producers.get(header.producer_id)
        if entry is None:
            return  # unknown producer (new, or its state expired): accept any sequence
        if header.producer_epoch < entry.epoch:
            raise SequenceError(
                "invalid_epoch",
                f"Epoch {header.producer_epoch} of producer {header.producer_id} is older than {entry.epoch}",
            )
        if header.producer_epoch > entry.epoch:
            if header.base_sequence != 0:
                raise SequenceError(
                    "out_of_order",
                    f"Invalid sequence number for new epoch {header.producer_epoch}: {header.base_sequence} "
                    "(request epoch), 0 (expected)",
                )
            return
        expected = (entry.last_seq + 1) % _SEQ_MODULO
        if header.base_sequence != expected:
            raise SequenceError(
                "out_of_order",
                f"Out of order sequence number for producer {header.producer_id} at offset ... : "
                f"{header.base_sequence} (incoming seq. number), {entry.last_seq} (current end sequence number)",
            )

    def update(self, header: BatchHeader) -> None:
        """Record a data batch just written (``header`` carries its assigned base offset)."""
        if header.producer_id == NO_PRODUCER_ID:
            return
        entry = self.producers.get(header.producer_id)
        if entry is None or header.producer_epoch > entry.epoch:
            entry = ProducerEntry(header.producer_epoch)
            self.producers[header.producer_id] = entry
        entry.batches.append(
            _BatchMeta(header.base_sequence, _last_seq(header), header.base_offset, header.last_offset,
                       header.max_timestamp)
        )
        entry.last_timestamp = header.max_timestamp
        if header.is_transactional and entry.txn_first_offset is None:
            entry.txn_first_offset = header.base_offset

    def in_transaction(self, producer_id: int) -> bool:
        entry = self.producers.get(producer_id)
        return entry is not None and entry.txn_first_offset is not None

    def complete_txn(self, header: BatchHeader, coordinator_epoch: int = -1) -> int | None:
        """Apply a marker just written; returns the first offset of the transaction it ends."""
        entry = self.producers.get(header.producer_id)
        if entry is None:
            entry = self.producers[header.producer_id] = ProducerEntry(header.producer_epoch)
        first = entry.txn_first_offset
        entry.txn_first_offset = None
        entry.coordinator_epoch = coordinator_epoch
        entry.last_timestamp = header.max_timestamp  # the marker's, as Kafka's DescribeProducers shows
        if header.producer_epoch > entry.epoch:
            # A marker at a bumped epoch (fencing): older sequences no longer apply.
            entry.epoch = header.producer_epoch
            entry.batches.clear()
        return first

    def remove_expired(self, now_ms: int, expiration_ms: int) -> list[int]:
        """Forget producers idle for ``expiration_ms`` (Kafka's removeExpiredProducers); returns their ids.

        Idle is measured from the producer's last batch timestamp, as Kafka does; a producer with
        an open transaction here is kept. A producer writing again afterwards is unknown, so its
        batch is accepted with whatever sequence it carries (see :meth:`check`).
        """
        expired = [
            pid
            for pid, entry in self.producers.items()
            if entry.txn_first_offset is None and now_ms - entry.last_timestamp >= expiration_ms
        ]
        for pid in expired:
            del self.producers[pid]
        return expired

    def first_unstable_offset(self) -> int | None:
        """The earliest first offset among open transactions (bounds the last stable offset)."""
        firsts = [e.txn_first_offset for e in self.producers.values() if e.txn_first_offset is not None]
        return min(firsts) if firsts else None

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            str(pid): [
                entry.epoch,
                [[b.first_seq, b.last_seq, b.base_offset, b.last_offset, b.timestamp] for b in entry.batches],
                entry.txn_first_offset,
                entry.last_timestamp,
                entry.coordinator_epoch,
            ]
            for pid, entry in self.producers.items()
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ProducerStateManager:
        state = cls()
        for pid, (epoch, batches, *rest) in json.loads(data).items():
            entry = ProducerEntry(epoch, txn_first_offset=rest[0] if rest else None)
            entry.last_timestamp = rest[1] if len(rest) > 1 else -1
            entry.coordinator_epoch = rest[2] if len(rest) > 2 else -1
            entry.batches.extend(_BatchMeta(*b) for b in batches)
            state.producers[int(pid)] = entry
        return state
