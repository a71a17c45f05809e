"""The transaction coordinator, as Kafka's TransactionCoordinator runs it (transaction version 1).

Per ``transactional.id``: a producer id and epoch, a state (Empty, Ongoing, PrepareCommit,
PrepareAbort, CompleteCommit, CompleteAbort), the partitions and consumer groups the
transaction touched, and a timeout. InitProducerId bumps the epoch, which fences an older
producer with the same id and aborts its open transaction. EndTxn records the decision
(Prepare*), has the markers written into every partition and the group offsets settled, then
records completion, so a crash in between is finished on the next start.

Records first, then replay (``coordinator/runtime.py``): each ``plan_*`` method only reads the
state and returns a :class:`CoordinatorResult` with the :class:`TxnRecord` to persist and the
answer; the public operations hand it to the :class:`CoordinatorLog`, which appends it and only
then calls :meth:`TxnCoordinator.replay`, the one place ``txns`` changes (start-up loading
replays the same records). A persist that fails (ENOSPC, EIO) leaves memory as it was, and the
client gets NOT_COORDINATOR, as Kafka maps a failed append to its transaction log
(KAFKA_STORAGE_ERROR -> NOT_COORDINATOR in TransactionStateManager.appendTransactionToLog), so
it looks the coordinator up again and retries.

Effects outside the log (writing markers, settling offsets, allocating producer ids) go
through the callables the broker passes in; ``now`` is given by the caller.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from kafkalite.coordinator.records import TxnRecord, TxnTombstone, decode_txn_record
from kafkalite.coordinator.runtime import AppendOnlyLog, CoordinatorLog, CoordinatorResult, Record
from kafkalite.errors import ErrorCode

log = logging.getLogger(__name__)

MAX_EPOCH = 32767
Partition = tuple[str, int]
R = TypeVar("R")
#: Kafka's offsets topic and its default partition count (offsets.topic.num.partitions). kafkalite keeps
#: group offsets elsewhere, but a transaction that added a group names the partition Kafka would use,
#: as DescribeTransactions shows it.
OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_TOPIC_PARTITIONS = 50
#: Kafka's defaults (TransactionStateManagerConfig).
TRANSACTIONAL_ID_EXPIRATION_MS = 7 * 24 * 3600 * 1000  # transactional.id.expiration.ms
REMOVE_EXPIRED_INTERVAL_MS = 3600 * 1000  # transactions.remove.expired.transaction.cleanup.interval.ms

NONE = int(ErrorCode.NONE)
#: What a client gets when the transaction log refuses a record (Kafka: KAFKA_STORAGE_ERROR -> NOT_COORDINATOR).
PERSIST_FAILED = int(ErrorCode.NOT_COORDINATOR)
CONCURRENT = (int(ErrorCode.CONCURRENT_TRANSACTIONS), -1, -1)
#: When no producer id can be allocated (its block cannot be saved), as Kafka's ProducerIdManager answers
#: while it has no block: retriable.
NO_PRODUCER_ID = int(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)


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


#: States in which an idle transactional id may expire (Kafka: Empty, CompleteCommit, CompleteAbort).
EXPIRABLE = frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT})
PREPARED = frozenset({TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT})


@dataclass(frozen=True)
class TxnMeta:
    """The state of one transactional id as the last replayed record left it (read-only)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState = TxnState.EMPTY
    last_producer_epoch: int = -1
    partitions: frozenset[Partition] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)
    start_ms: int = -1
    last_update_ms: int = -1
    previous_producer_id: int = -1  # the id before the last rotation (for KIP-360 retries)

    @classmethod
    def from_record(cls, record: TxnRecord) -> TxnMeta:
        return cls(
            record.transactional_id, record.producer_id, record.producer_epoch, record.timeout_ms,
            TxnState(record.state), record.last_producer_epoch, record.partitions, record.groups,
            record.start_ms, record.last_update_ms, record.previous_producer_id,
        )

    def to_record(self, **changes: Any) -> TxnRecord:
        """This state as a record, with ``changes`` (TxnMeta field names; ``state`` a TxnState)."""
        new = dataclasses.replace(self, **changes)
        return TxnRecord(
            transactional_id=new.transactional_id,
            producer_id=new.producer_id,
            producer_epoch=new.producer_epoch,
            last_producer_epoch=new.last_producer_epoch,
            timeout_ms=new.timeout_ms,
            state=TxnState(new.state).value,
            partitions=frozenset(new.partitions),
            groups=frozenset(new.groups),
            start_ms=new.start_ms,
            last_update_ms=new.last_update_ms,
            previous_producer_id=new.previous_producer_id,
        )


@dataclass
class TxnEffects:
    """What the broker does for the coordinator; injected so the state machine stays pure."""

    allocate_producer_id: Callable[[], int]
    write_markers: Callable[[int, int, bool, set[Partition]], None]  # pid, epoch, commit, partitions
    settle_offsets: Callable[[int, set[str], bool], None]  # pid, groups, commit (GroupCoordinator.settle_txn)
    partition_exists: Callable[[str, int], bool]


class TxnCoordinator:
    def __init__(
        self,
        effects: TxnEffects,
        log_: AppendOnlyLog,
        *,
        max_timeout_ms: int = 900000,
        fsync: bool = False,
        transactional_id_expiration_ms: int = TRANSACTIONAL_ID_EXPIRATION_MS,
        remove_expired_interval_ms: int = REMOVE_EXPIRED_INTERVAL_MS,
    ) -> None:
        self.effects = effects
        self.max_timeout_ms = max_timeout_ms
        self.transactional_id_expiration_ms = transactional_id_expiration_ms
        self.remove_expired_interval_ms = remove_expired_interval_ms
        self.log = CoordinatorLog(log_, self, decode_txn_record, fsync=fsync)
        self._txns: dict[str, TxnMeta] = {}
        self._next_expiry_check: int | None = None
        self._failing = False  # the last write to the log failed (logged once until one succeeds)

    # ---- queries (what handlers read) ---------------------------------------------------------------

    def describe(self, transactional_id: str) -> TxnMeta | None:
        """The state of one transactional id (DescribeTransactions), or None if unknown or expired."""
        return self._txns.get(transactional_id)

    def transactions(self) -> Iterator[TxnMeta]:
        """Every known transactional id's state (ListTransactions)."""
        return iter(list(self._txns.values()))

    def ongoing_with_group(self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str) -> int:
        """TxnOffsetCommit's check of the producer: NONE, INVALID_PRODUCER_ID_MAPPING, INVALID_PRODUCER_EPOCH,
        or INVALID_TXN_STATE when the group is not in an ongoing transaction (the handler words it per version)."""
        meta = self._txns.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return int(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
        if producer_epoch != meta.producer_epoch:
            # Kafka verifies the write like a produce to the offsets partition: a stale epoch is
            # INVALID_PRODUCER_EPOCH at every version, not PRODUCER_FENCED.
            return int(ErrorCode.INVALID_PRODUCER_EPOCH)
        if meta.state != TxnState.ONGOING or group_id not in meta.groups:
            return int(ErrorCode.INVALID_TXN_STATE)
        return NONE

    # ---- records and replay ------------------------------------------------------------------------------

    def replay(self, record: Record) -> None:
        """Apply one persisted record: the only place the transaction state changes."""
        if isinstance(record, TxnRecord):
            self._txns[record.transactional_id] = TxnMeta.from_record(record)
        elif isinstance(record, TxnTombstone):
            self._txns.pop(record.transactional_id, None)
        # other record types are not this coordinator's (older logs never held any)

    def load(self, docs: Iterable[dict[str, Any]]) -> int:
        """Replay transactions.log at start-up; :meth:`recover` afterwards finishes decided transactions."""
        return self.log.load(iter(docs))

    def snapshot(self) -> list[dict[str, Any]]:
        """The live state as records, for rewriting (compacting) the log."""
        return [meta.to_record().to_json() for meta in self._txns.values()]

    def _apply(self, result: CoordinatorResult[R], failed: R) -> R:
        """Persist and replay ``result``; on a refused write nothing changed and ``failed`` is the answer."""
        try:
            response = self.log.apply(result)
        except OSError as exc:
            self._write_failed(exc)
            return failed
        if result.records:
            self._write_ok()
        assert response is not None
        return response

    def _write_failed(self, exc: OSError) -> None:
        """Log a refused write once until writes succeed again, not once per request."""
        if not self._failing:
            log.warning("transactions.log refuses writes (%s): requests that change transactions fail", exc)
        self._failing = True

    def _write_ok(self) -> None:
        if self._failing:
            log.info("transactions.log takes writes again")
        self._failing = False

    # ---- InitProducerId ---------------------------------------------------------------------------

    def init_producer_id(
        self, now: int, transactional_id: str, timeout_ms: int, producer_id: int = -1, producer_epoch: int = -1
    ) -> tuple[int, int, int]:
        """(error, producer id, epoch) for a transactional producer starting or restarting."""
        result = self.plan_init_producer_id(now, transactional_id, timeout_ms, producer_id, producer_epoch)
        meta = self._txns.get(transactional_id)
        if meta is not None and meta.state == TxnState.ONGOING and result.response == CONCURRENT:
            # The previous incarnation left a transaction open: fence it and abort its writes at the
            # bumped epoch. Like Kafka, answer CONCURRENT_TRANSACTIONS; the client's retry then
            # finds the transaction complete and gets the next epoch.
            code = self._end(now, meta, commit=False, fence=True)
            return CONCURRENT if code == NONE else (code, -1, -1)
        return self._apply(result, (PERSIST_FAILED, -1, -1))

    def plan_init_producer_id(
        self, now: int, transactional_id: str, timeout_ms: int, producer_id: int = -1, producer_epoch: int = -1
    ) -> CoordinatorResult[tuple[int, int, int]]:
        """InitProducerId for an id with no open transaction (see :meth:`init_producer_id`)."""

        def answer(code: int, pid: int = -1, epoch: int = -1, record: TxnRecord | None = None
                   ) -> CoordinatorResult[tuple[int, int, int]]:
            return CoordinatorResult([record] if record else [], (code, pid, epoch))

        if not transactional_id:
            return answer(int(ErrorCode.INVALID_REQUEST))
        if not 0 < timeout_ms <= self.max_timeout_ms:
            return answer(int(ErrorCode.INVALID_TRANSACTION_TIMEOUT))
        meta = self._txns.get(transactional_id)
        if meta is None:
            try:
                pid = self.effects.allocate_producer_id()
            except OSError as exc:
                log.warning("cannot allocate a producer id (%s)", exc)
                return answer(NO_PRODUCER_ID)
            fresh = TxnMeta(transactional_id, pid, 0, timeout_ms, last_update_ms=now)
            return answer(NONE, pid, 0, fresh.to_record())
        named = producer_id >= 0
        if (
            named
            and producer_id == meta.previous_producer_id
            and producer_epoch == MAX_EPOCH - 1
            and meta.producer_epoch == 0
            and meta.state != TxnState.ONGOING
        ):
            return answer(NONE, meta.producer_id, meta.producer_epoch)  # a retry of the rotation that already happened
        if named:
            # KIP-360: a producer re-initialising names the id and epoch it had.
            if producer_id != meta.producer_id or producer_epoch not in (meta.producer_epoch, meta.last_producer_epoch):
                return answer(int(ErrorCode.PRODUCER_FENCED))
            if producer_epoch == meta.last_producer_epoch and meta.state != TxnState.ONGOING:
                return answer(NONE, meta.producer_id, meta.producer_epoch)  # a retry of a bump that already happened
        if meta.state == TxnState.ONGOING or meta.state in PREPARED:
            # Open: init_producer_id fences and aborts it. Prepared: still being completed (a write
            # failed part-way and tick() retries). Either way the client retries.
            return answer(*CONCURRENT)
        if meta.producer_epoch >= MAX_EPOCH - 1:
            try:
                new_pid = self.effects.allocate_producer_id()
            except OSError as exc:
                log.warning("cannot allocate a producer id (%s)", exc)
                return answer(NO_PRODUCER_ID)
            ids: dict[str, Any] = {
                "previous_producer_id": meta.producer_id,
                "producer_id": new_pid,
                "producer_epoch": 0,
                "last_producer_epoch": -1,
            }
        else:
            # Only a producer that named its epoch may retry this bump (KIP-360); otherwise the
            # previous epoch is forgotten so a fenced producer cannot claim the new one.
            ids = {
                "last_producer_epoch": meta.producer_epoch if named else -1,
                "producer_epoch": meta.producer_epoch + 1,
            }
        record = meta.to_record(state=TxnState.EMPTY, timeout_ms=timeout_ms, start_ms=-1, last_update_ms=now, **ids)
        return answer(NONE, record.producer_id, record.producer_epoch, record)

    # ---- transaction membership ---------------------------------------------------------------------

    def _check(self, transactional_id: str, producer_id: int, producer_epoch: int) -> tuple[int, TxnMeta | None]:
        meta = self._txns.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return int(ErrorCode.INVALID_PRODUCER_ID_MAPPING), meta
        if producer_epoch != meta.producer_epoch:
            return int(ErrorCode.PRODUCER_FENCED), meta
        if meta.state in PREPARED:
            return int(ErrorCode.CONCURRENT_TRANSACTIONS), meta
        return NONE, meta

    @staticmethod
    def _joined(now: int, meta: TxnMeta, partitions: Iterable[Partition] = (), groups: Iterable[str] = ()) -> TxnRecord:
        """The record of ``meta`` with partitions or groups added, starting the transaction if needed."""
        if meta.state != TxnState.ONGOING:
            return meta.to_record(state=TxnState.ONGOING, start_ms=now, last_update_ms=now,
                                  partitions=frozenset(partitions), groups=frozenset(groups))
        return meta.to_record(last_update_ms=now, partitions=meta.partitions | frozenset(partitions),
                              groups=meta.groups | frozenset(groups))

    def add_partitions(
        self, now: int, transactional_id: str, producer_id: int, producer_epoch: int, partitions: list[Partition]
    ) -> dict[Partition, int]:
        """Error per partition; all or nothing, as Kafka does (unknown partitions are checked first)."""
        result = self.plan_add_partitions(now, transactional_id, producer_id, producer_epoch, partitions)
        return self._apply(result, dict.fromkeys(partitions, PERSIST_FAILED))

    def plan_add_partitions(
        self, now: int, transactional_id: str, producer_id: int, producer_epoch: int, partitions: list[Partition]
    ) -> CoordinatorResult[dict[Partition, int]]:
        missing = {tp for tp in partitions if not self.effects.partition_exists(*tp)}
        if missing:
            not_attempted = int(ErrorCode.OPERATION_NOT_ATTEMPTED)
            return CoordinatorResult(response={
                tp: int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) if tp in missing else not_attempted for tp in partitions
            })
        code, meta = self._check(transactional_id, producer_id, producer_epoch)
        if code:
            return CoordinatorResult(response=dict.fromkeys(partitions, code))
        assert meta is not None
        return CoordinatorResult([self._joined(now, meta, partitions=partitions)], dict.fromkeys(partitions, NONE))

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
        return {tp: NONE if ongoing and tp in meta.partitions else absent for tp in partitions}

    def add_offsets(self, now: int, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str) -> int:
        return self._apply(self.plan_add_offsets(now, transactional_id, producer_id, producer_epoch, group_id),
                           PERSIST_FAILED)

    def plan_add_offsets(
        self, now: int, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str
    ) -> CoordinatorResult[int]:
        code, meta = self._check(transactional_id, producer_id, producer_epoch)
        if code:
            return CoordinatorResult(response=code)
        assert meta is not None
        return CoordinatorResult([self._joined(now, meta, groups=[group_id])], NONE)

    def verify_produce(self, transactional_id: str, producer_id: int, producer_epoch: int, tp: Partition) -> int:
        """Error for a transactional produce to ``tp`` (KIP-890 verification), or 0."""
        meta = self._txns.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return int(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
        if producer_epoch < meta.producer_epoch:
            return int(ErrorCode.INVALID_PRODUCER_EPOCH)
        if meta.state != TxnState.ONGOING or tp not in meta.partitions:
            return int(ErrorCode.INVALID_TXN_STATE)
        return NONE

    # ---- EndTxn and timeouts ------------------------------------------------------------------------------

    def end_txn(self, now: int, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool) -> int:
        code, meta = self._check(transactional_id, producer_id, producer_epoch)
        if code:
            return code
        assert meta is not None
        if meta.state == TxnState.ONGOING:
            return self._end(now, meta, commit)
        done = TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT
        if meta.state == done:
            return NONE  # a retried EndTxn whose first attempt succeeded
        return int(ErrorCode.INVALID_TXN_STATE)

    def _end(self, now: int, meta: TxnMeta, commit: bool, fence: bool = False) -> int:
        """Record the decision (fencing bumps the epoch, up to the maximum, same id), then complete it.

        NONE once the decision is on disk, even if completing it fails: like Kafka, the decision
        stands and completion is retried (by :meth:`tick`), while the id answers
        CONCURRENT_TRANSACTIONS until it is done.
        """
        changes: dict[str, Any] = {}
        if fence:
            changes = {"last_producer_epoch": -1, "producer_epoch": min(meta.producer_epoch + 1, MAX_EPOCH)}
        prepared = meta.to_record(
            state=TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT, last_update_ms=now, **changes
        )
        code = self._apply(CoordinatorResult([prepared], NONE), PERSIST_FAILED)
        if code == NONE:
            self._complete(now, meta.transactional_id)
        return code

    def _complete(self, now: int, transactional_id: str) -> bool:
        """Markers, offsets, then the Complete* record, for a prepared transaction; False if it must be retried."""
        meta = self._txns[transactional_id]
        commit = meta.state == TxnState.PREPARE_COMMIT
        try:
            # Both are idempotent, so a retry after a failure part-way repeats them safely: a
            # partition without the producer's open transaction gets no second marker, and a
            # group's pending offsets are settled once.
            self.effects.write_markers(meta.producer_id, meta.producer_epoch, commit, set(meta.partitions))
            self.effects.settle_offsets(meta.producer_id, set(meta.groups), commit)
            # The start time stays: Kafka still describes it once complete.
            done = meta.to_record(state=TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT,
                                  partitions=frozenset(), groups=frozenset(), last_update_ms=now)
            self.log.write([done])
        except OSError as exc:
            self._write_failed(exc)  # the decision stands: tick() retries the completion
            return False
        self._write_ok()
        return True

    def tick(self, now: int) -> None:
        """Abort timed-out transactions, finish decided ones, and remove expired transactional ids."""
        for meta in list(self._txns.values()):
            if meta.state == TxnState.ONGOING and now - meta.start_ms > meta.timeout_ms:
                self._end(now, meta, commit=False, fence=True)  # fences the producer that timed out
            elif meta.state in PREPARED:
                self._complete(now, meta.transactional_id)
        if self._next_expiry_check is None:
            self._next_expiry_check = now + self.remove_expired_interval_ms
        elif now >= self._next_expiry_check:
            self._next_expiry_check = now + self.remove_expired_interval_ms
            self.remove_expired(now)

    def recover(self, now: int) -> None:
        """After loading: finish transactions whose decision was recorded but not completed."""
        for meta in list(self._txns.values()):
            if meta.state in PREPARED:
                self._complete(now, meta.transactional_id)

    # ---- transactional.id expiration ------------------------------------------------------------------------

    def plan_remove_expired(self, now: int) -> CoordinatorResult[list[str]]:
        """Tombstones for ids idle at least ``transactional.id.expiration.ms`` with no transaction in flight
        (Kafka's TransactionStateManager.removeExpiredTransactionalIds)."""
        cutoff = now - self.transactional_id_expiration_ms
        doomed = [
            m.transactional_id for m in self._txns.values() if m.state in EXPIRABLE and m.last_update_ms <= cutoff
        ]
        return CoordinatorResult([TxnTombstone(t) for t in doomed], doomed)

    def remove_expired(self, now: int) -> list[str]:
        """Remove expired ids; their next InitProducerId gets a fresh producer id. Returns the ids removed."""
        removed = self._apply(self.plan_remove_expired(now), [])
        if removed:
            log.info("removed %d expired transactional ids", len(removed))
        return removed
