"""The transaction coordinator, as Kafka's TransactionCoordinator runs it (transaction version 1).

Per ``transactional.id``: a producer id and epoch, a state (Empty, Ongoing, PrepareCommit,
PrepareAbort, CompleteCommit, CompleteAbort), the partitions and consumer groups the
transaction touched, and a timeout. InitProducerId bumps the epoch, which fences an older
producer with the same id and aborts its open transaction. EndTxn records the decision
(Prepare*), has the markers written into every partition and the group offsets settled, then
records completion, so a crash in between is finished on the next start.

Pure like the group coordinator: ``now`` in, results out, effects through the callables the
broker passes in (writing markers, settling offsets, persisting records).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kafkalite.errors import ErrorCode

MAX_EPOCH = 32767
Partition = tuple[str, int]
#: Kafka's offsets topic and its default partition count (offsets.topic.num.partitions). kafkalite keeps
#: group offsets elsewhere, but a transaction that added a group names the partition Kafka would use,
#: as DescribeTransactions shows it.
OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_TOPIC_PARTITIONS = 50


def offsets_partition(group_id: str) -> int:
    """The ``__consumer_offsets`` partition of a group, as Kafka computes it (Java's String.hashCode)."""
    h = 0
    for unit in _utf16_units(group_id):
        h = (31 * h + unit) & 0xFFFFFFFF
    signed = h - (1 << 32) if h >= 1 << 31 else h
    return 0 if signed == -(1 << 31) else abs(signed) % OFFSETS_TOPIC_PARTITIONS


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


class TxnState(str, Enum):
    EMPTY = "Empty"
    ONGOING = "Ongoing"
    PREPARE_COMMIT = "PrepareCommit"
    PREPARE_ABORT = "PrepareAbort"
    COMPLETE_COMMIT = "CompleteCommit"
    COMPLETE_ABORT = "CompleteAbort"


@dataclass
class TxnMeta:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState = TxnState.EMPTY
    last_producer_epoch: int = -1
    partitions: set[Partition] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    start_ms: int = -1
    last_update_ms: int = -1
    previous_producer_id: int = -1  # the id before the last rotation (for KIP-360 retries)

    def record(self) -> dict[str, Any]:
        return {
            "t": "txn",
            "id": self.transactional_id,
            "pid": self.producer_id,
            "epoch": self.producer_epoch,
            "last_epoch": self.last_producer_epoch,
            "timeout": self.timeout_ms,
            "state": self.state.value,
            "partitions": sorted([t, p] for t, p in self.partitions),
            "groups": sorted(self.groups),
            "start": self.start_ms,
            "updated": self.last_update_ms,
            "prev_pid": self.previous_producer_id,
        }


@dataclass
class TxnEffects:
    """What the broker does for the coordinator; injected so the state machine stays pure."""

    persist: Callable[[dict[str, Any]], None]
    allocate_producer_id: Callable[[], int]
    write_markers: Callable[[int, int, bool, set[Partition]], None]  # pid, epoch, commit, partitions
    settle_offsets: Callable[[int, set[str], bool], None]  # pid, groups, commit
    partition_exists: Callable[[str, int], bool]


class TxnCoordinator:
    def __init__(self, effects: TxnEffects, max_timeout_ms: int = 900000) -> None:
        self.effects = effects
        self.max_timeout_ms = max_timeout_ms
        self.txns: dict[str, TxnMeta] = {}

    # ---- InitProducerId ---------------------------------------------------------------------------

    def init_producer_id(
        self, now: int, transactional_id: str, timeout_ms: int, producer_id: int = -1, producer_epoch: int = -1
    ) -> tuple[int, int, int]:
        """(error, producer id, epoch) for a transactional producer starting or restarting."""
        if not transactional_id:
            return int(ErrorCode.INVALID_REQUEST), -1, -1
        if not 0 < timeout_ms <= self.max_timeout_ms:
            return int(ErrorCode.INVALID_TRANSACTION_TIMEOUT), -1, -1
        meta = self.txns.get(transactional_id)
        if meta is None:
            meta = TxnMeta(transactional_id, self.effects.allocate_producer_id(), 0, timeout_ms, last_update_ms=now)
            self.txns[transactional_id] = meta
            self._persist(meta)
            return 0, meta.producer_id, meta.producer_epoch
        named = producer_id >= 0
        if (
            named
            and producer_id == meta.previous_producer_id
            and producer_epoch == MAX_EPOCH - 1
            and meta.producer_epoch == 0
            and meta.state != TxnState.ONGOING
        ):
            return 0, meta.producer_id, meta.producer_epoch  # a retry of the rotation that already happened
        if named:
            # KIP-360: a producer re-initialising names the id and epoch it had.
            if producer_id != meta.producer_id or producer_epoch not in (meta.producer_epoch, meta.last_producer_epoch):
                return int(ErrorCode.PRODUCER_FENCED), -1, -1
            if producer_epoch == meta.last_producer_epoch and meta.state != TxnState.ONGOING:
                return 0, meta.producer_id, meta.producer_epoch  # a retry of a bump that already happened
        if meta.state == TxnState.ONGOING:
            # The previous incarnation left a transaction open: fence it and abort its writes at the
            # bumped epoch. Like Kafka, answer CONCURRENT_TRANSACTIONS; the client's retry then
            # finds the transaction complete and gets the next epoch.
            self._fence(now, meta)
            return int(ErrorCode.CONCURRENT_TRANSACTIONS), -1, -1
        if meta.producer_epoch >= MAX_EPOCH - 1:
            meta.previous_producer_id = meta.producer_id
            meta.producer_id = self.effects.allocate_producer_id()
            meta.producer_epoch = 0
            meta.last_producer_epoch = -1
        else:
            # Only a producer that named its epoch may retry this bump (KIP-360); otherwise the
            # previous epoch is forgotten so a fenced producer cannot claim the new one.
            meta.last_producer_epoch = meta.producer_epoch if named else -1
            meta.producer_epoch += 1
        meta.state = TxnState.EMPTY
        meta.timeout_ms = timeout_ms
        meta.start_ms = -1
        meta.last_update_ms = now
        self._persist(meta)
        return 0, meta.producer_id, meta.producer_epoch

    def _fence(self, now: int, meta: TxnMeta) -> None:
        """Bump the epoch of an open transaction (up to the maximum, same id) and abort it."""
        meta.last_producer_epoch = -1
        meta.producer_epoch = min(meta.producer_epoch + 1, MAX_EPOCH)
        self._finish(now, meta, commit=False)

    # ---- transaction membership ---------------------------------------------------------------------

    def _check(self, transactional_id: str, producer_id: int, producer_epoch: int) -> tuple[int, TxnMeta | None]:
        meta = self.txns.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return int(ErrorCode.INVALID_PRODUCER_ID_MAPPING), meta
        if producer_epoch != meta.producer_epoch:
            return int(ErrorCode.PRODUCER_FENCED), meta
        if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            return int(ErrorCode.CONCURRENT_TRANSACTIONS), meta
        return 0, meta

    def _begin(self, now: int, meta: TxnMeta) -> None:
        if meta.state != TxnState.ONGOING:
            meta.state = TxnState.ONGOING
            meta.start_ms = now
            meta.partitions.clear()
            meta.groups.clear()
        meta.last_update_ms = now

    def add_partitions(
        self, now: int, transactional_id: str, producer_id: int, producer_epoch: int, partitions: list[Partition]
    ) -> dict[Partition, int]:
        """Error per partition; all or nothing, as Kafka does (unknown partitions are checked first)."""
        missing = {tp for tp in partitions if not self.effects.partition_exists(*tp)}
        if missing:
            return {
                tp: int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) if tp in missing else 55  # OPERATION_NOT_ATTEMPTED
                for tp in partitions
            }
        code, meta = self._check(transactional_id, producer_id, producer_epoch)
        if code:
            return dict.fromkeys(partitions, code)
        assert meta is not None
        self._begin(now, meta)
        meta.partitions.update(partitions)
        self._persist(meta)
        return dict.fromkeys(partitions, 0)

    def verify_partitions(
        self, transactional_id: str, producer_id: int, producer_epoch: int, partitions: list[Partition]
    ) -> dict[Partition, int]:
        """AddPartitionsToTxn's verify-only form: is each partition already in the transaction?"""
        code, meta = self._check(transactional_id, producer_id, producer_epoch)
        if code or meta is None:
            return dict.fromkeys(partitions, code)
        ongoing = meta.state == TxnState.ONGOING
        # As Kafka's coordinator: the producer's write is refused and its transaction must abort.
        absent = int(ErrorCode.TRANSACTION_ABORTABLE)
        return {tp: 0 if ongoing and tp in meta.partitions else absent for tp in partitions}

    def add_offsets(self, now: int, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str) -> int:
        code, meta = self._check(transactional_id, producer_id, producer_epoch)
        if code:
            return code
        assert meta is not None
        self._begin(now, meta)
        meta.groups.add(group_id)
        self._persist(meta)
        return 0

    def verify_produce(self, transactional_id: str, producer_id: int, producer_epoch: int, tp: Partition) -> int:
        """Error for a transactional produce to ``tp`` (KIP-890 verification), or 0."""
        meta = self.txns.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return int(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
        if producer_epoch < meta.producer_epoch:
            return int(ErrorCode.INVALID_PRODUCER_EPOCH)
        if meta.state != TxnState.ONGOING or tp not in meta.partitions:
            return int(ErrorCode.INVALID_TXN_STATE)
        return 0

    # ---- EndTxn and timeouts ------------------------------------------------------------------------------

    def end_txn(self, now: int, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool) -> int:
        code, meta = self._check(transactional_id, producer_id, producer_epoch)
        if code:
            return code
        assert meta is not None
        if meta.state == TxnState.ONGOING:
            self._finish(now, meta, commit)
            return 0
        done = TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT
        if meta.state == done:
            return 0  # a retried EndTxn whose first attempt succeeded
        return int(ErrorCode.INVALID_TXN_STATE)

    def _finish(self, now: int, meta: TxnMeta, commit: bool) -> None:
        meta.state = TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT
        meta.last_update_ms = now
        self._persist(meta)
        self._complete(now, meta)

    def _complete(self, now: int, meta: TxnMeta) -> None:
        commit = meta.state == TxnState.PREPARE_COMMIT
        self.effects.write_markers(meta.producer_id, meta.producer_epoch, commit, set(meta.partitions))
        self.effects.settle_offsets(meta.producer_id, set(meta.groups), commit)
        meta.state = TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT
        meta.partitions.clear()
        meta.groups.clear()
        meta.last_update_ms = now  # the start time stays: Kafka still describes it once complete
        self._persist(meta)

    def tick(self, now: int) -> None:
        """Abort transactions open longer than their timeout, fencing their producer."""
        for meta in self.txns.values():
            if meta.state == TxnState.ONGOING and now - meta.start_ms > meta.timeout_ms:
                self._fence(now, meta)

    # ---- persistence -----------------------------------------------------------------------------------------

    def _persist(self, meta: TxnMeta) -> None:
        self.effects.persist(meta.record())

    def replay(self, record: dict[str, Any]) -> None:
        if record.get("t") != "txn":
            return
        meta = TxnMeta(
            record["id"], record["pid"], record["epoch"], record["timeout"], TxnState(record["state"]),
            record["last_epoch"], {(t, p) for t, p in record["partitions"]}, set(record["groups"]),
            record["start"], record["updated"], record.get("prev_pid", -1),
        )
        self.txns[meta.transactional_id] = meta

    def recover(self, now: int) -> None:
        """After replay: finish transactions whose decision was recorded but not completed."""
        for meta in self.txns.values():
            if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                self._complete(now, meta)

    def snapshot(self) -> list[dict[str, Any]]:
        return [meta.record() for meta in self.txns.values()]
