"""The transaction coordinator state machine, checked against Kafka's TransactionCoordinator
(transaction version 1: TransactionCoordinator.scala / TransactionMetadata.scala).

Effects are fakes that record what the coordinator asked the broker to do: markers written,
group offsets settled, metadata records persisted, producer ids allocated.
"""

from __future__ import annotations

from typing import Any

import pytest

from kafkalite.coordinator.txn import MAX_EPOCH, TxnCoordinator, TxnEffects, TxnMeta, TxnState, offsets_partition
from kafkalite.errors import ErrorCode
from tests.coordinator.memory_log import MemoryLog

TID = "txn-a"
TIMEOUT = 60_000
MAX_TIMEOUT = 900_000
T0 = 1_000_000
TP0, TP1, TP2 = ("t", 0), ("t", 1), ("u", 0)
MISSING = ("missing", 0)
OPERATION_NOT_ATTEMPTED = int(ErrorCode.OPERATION_NOT_ATTEMPTED)

NONE = 0
FENCED = int(ErrorCode.PRODUCER_FENCED)
BAD_MAPPING = int(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
BAD_STATE = int(ErrorCode.INVALID_TXN_STATE)
CONCURRENT = int(ErrorCode.CONCURRENT_TRANSACTIONS)


class Fakes:
    """The broker side of TxnEffects, recording every call, and the transaction log."""

    def __init__(self, first_pid: int = 1000) -> None:
        self.log = MemoryLog()
        self.persisted = self.log.docs
        self.markers: list[tuple[int, int, bool, set[tuple[str, int]]]] = []
        self.settled: list[tuple[int, set[str], bool]] = []
        self.next_pid = first_pid
        self.allocated: list[int] = []
        self.partitions = {TP0, TP1, TP2}

    def allocate(self) -> int:
        pid = self.next_pid
        self.next_pid += 1
        self.allocated.append(pid)
        return pid

    def effects(self) -> TxnEffects:
        return TxnEffects(
            allocate_producer_id=self.allocate,
            write_markers=lambda pid, epoch, commit, parts: self.markers.append((pid, epoch, commit, set(parts))),
            settle_offsets=lambda pid, groups, commit: self.settled.append((pid, set(groups), commit)),
            partition_exists=lambda topic, p: (topic, p) in self.partitions,
        )


@pytest.fixture
def fx() -> Fakes:
    return Fakes()


def make(fx: Fakes, **kwargs: Any) -> TxnCoordinator:
    return TxnCoordinator(fx.effects(), fx.log, max_timeout_ms=MAX_TIMEOUT, **kwargs)


@pytest.fixture
def coord(fx: Fakes) -> TxnCoordinator:
    return make(fx)


def init(coord: TxnCoordinator, now: int = T0, tid: str = TID, timeout: int = TIMEOUT, pid: int = -1,
         epoch: int = -1) -> tuple[int, int, int]:
    return coord.init_producer_id(now, tid, timeout, pid, epoch)


def init_ok(coord: TxnCoordinator, now: int = T0, **kwargs: Any) -> tuple[int, int]:
    """InitProducerId as a client runs it: retried while the coordinator answers CONCURRENT_TRANSACTIONS."""
    for _ in range(3):
        code, pid, epoch = init(coord, now, **kwargs)
        if code != CONCURRENT:
            break
    assert code == NONE, code
    return pid, epoch


def seeded(fx: Fakes, epoch: int, state: TxnState = TxnState.EMPTY, partitions: set | None = None,
           pid: int = 500) -> TxnCoordinator:
    """A coordinator whose log already holds ``TID`` at ``epoch`` (as after a long life)."""
    coord = make(fx)
    meta = TxnMeta(TID, pid, epoch, TIMEOUT, state, partitions=frozenset(partitions or ()),
                   start_ms=T0 if state == TxnState.ONGOING else -1, last_update_ms=T0)
    coord.load([meta.to_record().to_json()])
    return coord


# ---- InitProducerId ----------------------------------------------------------------------------------


def test_new_transactional_id_gets_new_producer_id_at_epoch_zero(coord: TxnCoordinator, fx: Fakes) -> None:
    assert init(coord) == (NONE, 1000, 0)
    assert init(coord, tid="txn-b") == (NONE, 1001, 0)
    assert fx.allocated == [1000, 1001]
    assert [(r["id"], r["pid"], r["epoch"], r["state"]) for r in fx.persisted] == [
        (TID, 1000, 0, "Empty"), ("txn-b", 1001, 0, "Empty")
    ]


def test_reinit_bumps_epoch_and_fences_the_previous_producer(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, _ = init(coord)
    assert init(coord) == (NONE, pid, 1)
    assert init(coord) == (NONE, pid, 2)
    assert fx.allocated == [pid]  # same producer id, only the epoch moves
    for old in (0, 1):
        assert coord.add_partitions(T0, TID, pid, old, [TP0]) == {TP0: FENCED}
        assert coord.add_offsets(T0, TID, pid, old, "g") == FENCED
        assert coord.end_txn(T0, TID, pid, old, True) == FENCED
    assert coord.add_partitions(T0, TID, pid, 2, [TP0]) == {TP0: NONE}
    assert coord.end_txn(T0, TID, pid, 2, True) == NONE


def test_empty_transactional_id_is_invalid_request(coord: TxnCoordinator) -> None:
    assert init(coord, tid="")[0] == ErrorCode.INVALID_REQUEST


@pytest.mark.parametrize("timeout", [0, -1, MAX_TIMEOUT + 1, 2**31 - 1])
def test_invalid_transaction_timeout(coord: TxnCoordinator, fx: Fakes, timeout: int) -> None:
    assert init(coord, timeout=timeout) == (ErrorCode.INVALID_TRANSACTION_TIMEOUT, -1, -1)
    assert fx.persisted == [] and fx.allocated == []  # nothing is created for the id
    assert coord.end_txn(T0, TID, 0, 0, True) == BAD_MAPPING
    # An existing id keeps its epoch when the re-init is refused.
    _, pid, epoch = init(coord, timeout=MAX_TIMEOUT)
    assert init(coord, timeout=timeout)[0] == ErrorCode.INVALID_TRANSACTION_TIMEOUT
    assert coord.add_partitions(T0, TID, pid, epoch, [TP0]) == {TP0: NONE}


def test_reinit_takes_the_new_timeout(coord: TxnCoordinator, fx: Fakes) -> None:
    init(coord, timeout=1_000)
    _, pid, epoch = init(coord, timeout=10_000)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    coord.tick(T0 + 5_000)
    assert fx.markers == []  # the old 1 s timeout no longer applies
    coord.tick(T0 + 10_001)
    assert fx.markers == [(pid, epoch + 1, False, {TP0})]


def test_reinit_while_ongoing_aborts_the_open_transaction_with_a_bumped_epoch(
    coord: TxnCoordinator, fx: Fakes
) -> None:
    _, pid, _ = init(coord)
    assert coord.add_partitions(T0, TID, pid, 0, [TP0, TP1]) == {TP0: NONE, TP1: NONE}
    assert coord.add_offsets(T0, TID, pid, 0, "g") == NONE
    new_pid, new_epoch = init_ok(coord, T0 + 10)
    # The markers carry an epoch above the old producer's, so they fence it in every partition.
    assert fx.markers == [(pid, 1, False, {TP0, TP1})]
    assert fx.settled == [(pid, {"g"}, False)]
    assert new_pid == pid and new_epoch >= 1
    assert coord.end_txn(T0, TID, pid, 0, True) == FENCED
    assert coord.add_partitions(T0, TID, pid, 0, [TP2]) == {TP2: FENCED}
    # The new producer starts a clean transaction: the aborted partitions are not in it.
    assert coord.add_partitions(T0, TID, pid, new_epoch, [TP2]) == {TP2: NONE}
    assert coord.end_txn(T0, TID, pid, new_epoch, True) == NONE
    assert fx.markers[-1] == (pid, new_epoch, True, {TP2})


def test_reinit_while_ongoing_answers_concurrent_transactions_then_bumps_again(
    coord: TxnCoordinator, fx: Fakes
) -> None:
    _, pid, _ = init(coord)
    coord.add_partitions(T0, TID, pid, 0, [TP0])
    assert init(coord)[0] == CONCURRENT
    assert fx.markers == [(pid, 1, False, {TP0})]
    assert init(coord) == (NONE, pid, 2)


def test_reinit_after_a_completed_transaction_leaves_nothing_to_end(coord: TxnCoordinator) -> None:
    _, pid, _ = init(coord)
    coord.add_partitions(T0, TID, pid, 0, [TP0])
    assert coord.end_txn(T0, TID, pid, 0, True) == NONE
    assert init(coord) == (NONE, pid, 1)
    assert coord.end_txn(T0, TID, pid, 1, True) == BAD_STATE


def test_kip360_reinit_with_current_id_and_epoch_bumps_and_its_retry_is_idempotent(
    coord: TxnCoordinator, fx: Fakes
) -> None:
    _, pid, _ = init(coord)
    assert init(coord, pid=pid, epoch=0) == (NONE, pid, 1)
    # The response was lost: the retry names the same (pid, 0) and gets the same answer, no second bump.
    assert init(coord, pid=pid, epoch=0) == (NONE, pid, 1)
    assert init(coord, pid=pid, epoch=1) == (NONE, pid, 2)
    assert fx.allocated == [pid]


def test_kip360_reinit_with_a_foreign_id_or_stale_epoch_is_fenced(coord: TxnCoordinator) -> None:
    _, pid, _ = init(coord)
    init(coord)
    init(coord)  # epoch 2, last epoch 1
    assert init(coord, pid=pid + 7, epoch=2) == (FENCED, -1, -1)
    assert init(coord, pid=pid, epoch=0) == (FENCED, -1, -1)
    assert init(coord, pid=pid, epoch=5) == (FENCED, -1, -1)
    assert coord.add_partitions(T0, TID, pid, 2, [TP0]) == {TP0: NONE}  # the current producer is unaffected


def test_kip360_reinit_for_an_unknown_transactional_id_starts_fresh(coord: TxnCoordinator) -> None:
    # A producer whose id expired on the coordinator names its old pid/epoch: it gets a new id at epoch 0.
    assert init(coord, pid=77, epoch=3) == (NONE, 1000, 0)


def test_kip360_zombie_cannot_rejoin_after_a_new_producer_initialised(coord: TxnCoordinator) -> None:
    _, pid, _ = init(coord)  # producer A at epoch 0
    assert init(coord) == (NONE, pid, 1)  # producer B (a fresh instance) fences A
    assert init(coord, pid=pid, epoch=0) == (FENCED, -1, -1)


def test_kip360_producer_fenced_by_timeout_cannot_take_the_fencing_epoch(coord: TxnCoordinator) -> None:
    _, pid, _ = init(coord)
    coord.add_partitions(T0, TID, pid, 0, [TP0])
    coord.tick(T0 + TIMEOUT + 1)
    assert init(coord, pid=pid, epoch=0) == (FENCED, -1, -1)


def test_epoch_exhaustion_allocates_a_new_producer_id(fx: Fakes) -> None:
    coord = seeded(fx, MAX_EPOCH - 3, TxnState.COMPLETE_COMMIT)
    assert init(coord) == (NONE, 500, MAX_EPOCH - 2)
    assert init(coord) == (NONE, 500, MAX_EPOCH - 1)  # 32766: the last epoch a producer may be given
    assert init(coord) == (NONE, 1000, 0)  # exhausted: a new producer id
    assert fx.allocated == [1000]
    assert coord.add_partitions(T0, TID, 500, MAX_EPOCH - 1, [TP0]) == {TP0: BAD_MAPPING}
    assert coord.add_partitions(T0, TID, 1000, 0, [TP0]) == {TP0: NONE}


def test_kip360_reinit_at_exhausted_epoch_allocates_a_new_producer_id(fx: Fakes) -> None:
    coord = seeded(fx, MAX_EPOCH - 1, TxnState.COMPLETE_ABORT)
    assert init(coord, pid=500, epoch=MAX_EPOCH - 1) == (NONE, 1000, 0)


def test_kip360_retry_after_producer_id_rotation_gets_the_same_new_id(fx: Fakes) -> None:
    coord = seeded(fx, MAX_EPOCH - 1, TxnState.COMPLETE_ABORT)
    assert init(coord, pid=500, epoch=MAX_EPOCH - 1) == (NONE, 1000, 0)
    assert init(coord, pid=500, epoch=MAX_EPOCH - 1) == (NONE, 1000, 0)


def test_fencing_at_the_last_epoch_aborts_with_the_original_producer_id(fx: Fakes) -> None:
    coord = seeded(fx, MAX_EPOCH - 1, TxnState.ONGOING, {TP0})
    coord.tick(T0 + TIMEOUT + 1)
    assert fx.markers == [(500, MAX_EPOCH, False, {TP0})]
    _, pid, epoch = init(coord)
    assert pid != 500 and epoch == 0


# ---- AddPartitionsToTxn / AddOffsetsToTxn -----------------------------------------------------------------


def test_add_partitions_with_an_unknown_partition_adds_none(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, epoch = init(coord)
    persisted = len(fx.persisted)
    assert coord.add_partitions(T0, TID, pid, epoch, [TP0, MISSING, TP1]) == {
        TP0: OPERATION_NOT_ATTEMPTED, MISSING: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, TP1: OPERATION_NOT_ATTEMPTED
    }
    assert len(fx.persisted) == persisted
    assert coord.end_txn(T0, TID, pid, epoch, True) == BAD_STATE  # still Empty: nothing was added
    assert coord.add_partitions(T0, TID, pid, epoch, [TP0, TP1]) == {TP0: NONE, TP1: NONE}
    assert coord.end_txn(T0, TID, pid, epoch, True) == NONE
    assert fx.markers == [(pid, epoch, True, {TP0, TP1})]


def test_unknown_partition_is_reported_before_producer_checks(coord: TxnCoordinator) -> None:
    _, pid, epoch = init(coord)
    assert coord.add_partitions(T0, TID, pid + 1, epoch, [MISSING, TP0]) == {
        MISSING: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, TP0: OPERATION_NOT_ATTEMPTED
    }


def test_add_partitions_with_wrong_producer_id_or_unknown_txn_id(coord: TxnCoordinator) -> None:
    _, pid, epoch = init(coord)
    assert coord.add_partitions(T0, TID, pid + 1, epoch, [TP0, TP1]) == {TP0: BAD_MAPPING, TP1: BAD_MAPPING}
    assert coord.add_partitions(T0, "nobody", pid, epoch, [TP0]) == {TP0: BAD_MAPPING}
    assert coord.add_offsets(T0, TID, pid + 1, epoch, "g") == BAD_MAPPING
    assert coord.add_offsets(T0, "nobody", pid, epoch, "g") == BAD_MAPPING


def test_add_partitions_with_an_old_epoch_is_fenced(coord: TxnCoordinator) -> None:
    _, pid, _ = init(coord)
    init(coord)
    assert coord.add_partitions(T0, TID, pid, 0, [TP0, TP1]) == {TP0: FENCED, TP1: FENCED}
    assert coord.add_offsets(T0, TID, pid, 0, "g") == FENCED


def test_adding_more_partitions_keeps_the_transaction_start(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, epoch = init(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    coord.add_partitions(T0 + TIMEOUT - 1, TID, pid, epoch, [TP1])
    coord.add_partitions(T0 + TIMEOUT - 1, TID, pid, epoch, [TP0])  # already in: still fine
    coord.add_offsets(T0 + TIMEOUT, TID, pid, epoch, "g")
    coord.tick(T0 + TIMEOUT + 1)  # the timeout counts from the first add, not the last
    assert fx.markers == [(pid, epoch + 1, False, {TP0, TP1})]
    assert fx.settled == [(pid, {"g"}, False)]


def test_verify_partitions_and_produce_verification(coord: TxnCoordinator) -> None:
    _, pid, epoch = init(coord)
    assert coord.verify_produce(TID, pid, epoch, TP0) == BAD_STATE  # Empty
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    # As Kafka 4.4's coordinator: a partition not in the transaction makes it abortable.
    abortable = int(ErrorCode.TRANSACTION_ABORTABLE)
    assert coord.verify_partitions(TID, pid, epoch, [TP0, TP1]) == {TP0: NONE, TP1: abortable}
    assert coord.verify_produce(TID, pid, epoch, TP0) == NONE
    assert coord.verify_produce(TID, pid, epoch, TP1) == BAD_STATE
    assert coord.verify_produce(TID, pid + 1, epoch, TP0) == BAD_MAPPING
    assert coord.verify_produce("nobody", pid, epoch, TP0) == BAD_MAPPING
    init(coord)  # fences and aborts
    assert coord.verify_produce(TID, pid, epoch, TP0) == ErrorCode.INVALID_PRODUCER_EPOCH


# ---- EndTxn --------------------------------------------------------------------------------------------------


def test_commit_writes_markers_everywhere_and_settles_offsets(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, epoch = init(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0, TP1])
    coord.add_partitions(T0, TID, pid, epoch, [TP2])
    coord.add_offsets(T0, TID, pid, epoch, "g1")
    coord.add_offsets(T0, TID, pid, epoch, "g2")
    before = len(fx.persisted)
    assert coord.end_txn(T0 + 5, TID, pid, epoch, True) == NONE
    assert fx.markers == [(pid, epoch, True, {TP0, TP1, TP2})]
    assert fx.settled == [(pid, {"g1", "g2"}, True)]
    # The decision is persisted before the markers, completion after them.
    assert [(r["state"], len(r["partitions"])) for r in fx.persisted[before:]] == [
        ("PrepareCommit", 3), ("CompleteCommit", 0)
    ]


def test_abort_writes_abort_markers_and_discards_offsets(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, epoch = init(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    coord.add_offsets(T0, TID, pid, epoch, "g")
    assert coord.end_txn(T0, TID, pid, epoch, False) == NONE
    assert fx.markers == [(pid, epoch, False, {TP0})]
    assert fx.settled == [(pid, {"g"}, False)]
    assert coord.describe(TID).state == TxnState.COMPLETE_ABORT


def test_offsets_only_transaction_commits(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, epoch = init(coord)
    assert coord.add_offsets(T0, TID, pid, epoch, "g") == NONE
    assert coord.end_txn(T0, TID, pid, epoch, True) == NONE
    assert fx.settled == [(pid, {"g"}, True)]
    assert all(not parts for *_, parts in fx.markers)


@pytest.mark.parametrize("commit", [True, False])
def test_retried_end_txn_after_completion_is_none_and_writes_nothing(
    coord: TxnCoordinator, fx: Fakes, commit: bool
) -> None:
    _, pid, epoch = init(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    assert coord.end_txn(T0, TID, pid, epoch, commit) == NONE
    markers, settled = list(fx.markers), list(fx.settled)
    assert coord.end_txn(T0, TID, pid, epoch, commit) == NONE
    assert (fx.markers, fx.settled) == (markers, settled)


@pytest.mark.parametrize("first", [True, False])
def test_opposite_end_txn_after_completion_is_invalid_txn_state(
    coord: TxnCoordinator, fx: Fakes, first: bool
) -> None:
    _, pid, epoch = init(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    assert coord.end_txn(T0, TID, pid, epoch, first) == NONE
    assert coord.end_txn(T0, TID, pid, epoch, not first) == BAD_STATE
    assert len(fx.markers) == 1


@pytest.mark.parametrize("commit", [True, False])
def test_end_txn_on_empty_is_invalid_txn_state(coord: TxnCoordinator, fx: Fakes, commit: bool) -> None:
    _, pid, epoch = init(coord)
    assert coord.end_txn(T0, TID, pid, epoch, commit) == BAD_STATE
    assert fx.markers == [] and fx.settled == []


def test_end_txn_producer_checks(coord: TxnCoordinator) -> None:
    _, pid, _ = init(coord)
    init(coord)
    coord.add_partitions(T0, TID, pid, 1, [TP0])
    assert coord.end_txn(T0, "nobody", pid, 1, True) == BAD_MAPPING
    assert coord.end_txn(T0, TID, pid + 1, 1, True) == BAD_MAPPING
    assert coord.end_txn(T0, TID, pid, 0, True) == FENCED
    assert coord.end_txn(T0, TID, pid, 1, True) == NONE


# ---- timeouts --------------------------------------------------------------------------------------------------


def test_timeout_aborts_and_fences_the_producer(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, epoch = init(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0, TP1])
    coord.add_offsets(T0, TID, pid, epoch, "g")
    coord.tick(T0 + TIMEOUT)  # Kafka aborts only once start + timeout < now
    assert fx.markers == []
    coord.tick(T0 + TIMEOUT + 1)
    assert fx.markers == [(pid, epoch + 1, False, {TP0, TP1})]
    assert fx.settled == [(pid, {"g"}, False)]
    # The producer that timed out is fenced everywhere it could act.
    assert coord.end_txn(T0, TID, pid, epoch, True) == FENCED
    assert coord.add_partitions(T0, TID, pid, epoch, [TP0]) == {TP0: FENCED}
    assert coord.add_offsets(T0, TID, pid, epoch, "g") == FENCED
    coord.tick(T0 + 10 * TIMEOUT)
    assert len(fx.markers) == 1  # aborted once
    assert init(coord) == (NONE, pid, epoch + 2)


def test_tick_leaves_idle_producers_alone(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, epoch = init(coord)
    init(coord, tid="txn-b")
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    coord.end_txn(T0, TID, pid, epoch, True)
    coord.tick(T0 + 100 * TIMEOUT)
    assert len(fx.markers) == 1
    assert coord.add_partitions(T0, TID, pid, epoch, [TP1]) == {TP1: NONE}


# ---- persistence ---------------------------------------------------------------------------------------------


def _fresh(fx: Fakes, records: list[dict[str, Any]]) -> tuple[TxnCoordinator, Fakes]:
    again = Fakes(first_pid=fx.next_pid)
    coord = make(again)
    coord.load(records)
    return coord, again


def test_replay_restores_every_transaction(coord: TxnCoordinator, fx: Fakes) -> None:
    _, a, _ = init(coord)
    coord.add_partitions(T0, TID, a, 0, [TP0, TP1])
    coord.add_offsets(T0, TID, a, 0, "g")  # left open
    _, b, _ = init(coord, tid="txn-b")
    init(coord, tid="txn-b")
    coord.add_partitions(T0, "txn-b", b, 1, [TP2])
    coord.end_txn(T0, "txn-b", b, 1, False)
    restored, again = _fresh(fx, fx.persisted)
    restored.recover(T0 + 1)
    assert again.markers == [] and again.persisted == []  # nothing was pending a decision
    assert sorted(restored.snapshot(), key=lambda r: r["id"]) == sorted(coord.snapshot(), key=lambda r: r["id"])
    # Coordinator decisions carry on where they were.
    assert restored.end_txn(T0 + 2, "txn-b", b, 0, True) == FENCED
    assert restored.end_txn(T0 + 2, TID, a, 0, True) == NONE
    assert again.markers == [(a, 0, True, {TP0, TP1})]
    assert again.settled == [(a, {"g"}, True)]


def test_replayed_open_transaction_times_out_from_its_original_start(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, _ = init(coord)
    coord.add_partitions(T0, TID, pid, 0, [TP0])
    restored, again = _fresh(fx, fx.persisted)
    restored.tick(T0 + TIMEOUT + 1)
    assert again.markers == [(pid, 1, False, {TP0})]


def test_snapshot_replays_like_the_full_log(coord: TxnCoordinator, fx: Fakes) -> None:
    _, pid, _ = init(coord)
    for epoch in range(3):
        if epoch:
            init(coord)
        coord.add_partitions(T0, TID, pid, epoch, [TP0])
        coord.end_txn(T0, TID, pid, epoch, epoch % 2 == 0)
    coord.add_partitions(T0, TID, pid, 2, [TP1])
    from_log, _ = _fresh(fx, fx.persisted)
    from_snapshot, _ = _fresh(fx, coord.snapshot())
    assert from_log.snapshot() == from_snapshot.snapshot() == coord.snapshot()
    assert from_snapshot.add_partitions(T0, TID, pid, 1, [TP2]) == {TP2: FENCED}


@pytest.mark.parametrize(("commit", "prepared", "done"), [
    (True, "PrepareCommit", TxnState.COMPLETE_COMMIT),
    (False, "PrepareAbort", TxnState.COMPLETE_ABORT),
])
def test_recover_completes_a_transaction_decided_before_a_crash(
    coord: TxnCoordinator, fx: Fakes, commit: bool, prepared: str, done: TxnState
) -> None:
    _, pid, epoch = init(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0, TP1])
    coord.add_offsets(T0, TID, pid, epoch, "g")
    coord.end_txn(T0, TID, pid, epoch, commit)
    # The crash came right after the decision was persisted, before any marker was written.
    cut = next(i for i, r in enumerate(fx.persisted) if r["state"] == prepared) + 1
    restored, again = _fresh(fx, fx.persisted[:cut])
    assert again.markers == []
    restored.recover(T0 + 100)
    assert again.markers == [(pid, epoch, commit, {TP0, TP1})]
    assert again.settled == [(pid, {"g"}, commit)]
    assert [r["state"] for r in again.persisted] == [done.value]
    assert restored.end_txn(T0, TID, pid, epoch, commit) == NONE  # the client's retry sees it finished
    restored.recover(T0 + 200)
    assert len(again.markers) == 1  # recovery is done once


def test_replay_ignores_other_records(coord: TxnCoordinator) -> None:
    coord.load([{"t": "group", "id": TID}])
    assert coord.snapshot() == []
    assert coord.end_txn(T0, TID, 0, 0, True) == BAD_MAPPING


def test_offsets_partition_is_kafkas() -> None:
    """Java's String.hashCode, made non-negative, modulo 50 (values computed by the JVM)."""
    assert offsets_partition("test") == 48  # "test".hashCode() == 3556498
    assert offsets_partition("") == 0
    assert offsets_partition("polygenelubricants") == 0  # hashCode() == Integer.MIN_VALUE: Kafka's Utils.abs gives 0
    assert offsets_partition("conformance-transactions-fixed-group") == 44  # as Kafka 4.4 described it


def test_completed_transaction_keeps_its_start_time(coord: TxnCoordinator) -> None:
    """Kafka still describes a completed transaction's start time; a new epoch resets it to -1."""
    pid, epoch = init_ok(coord)
    coord.add_partitions(T0 + 5, TID, pid, epoch, [TP0])
    assert coord.end_txn(T0 + 9, TID, pid, epoch, True) == NONE
    meta = coord.describe(TID)
    assert (meta.state, meta.start_ms) == (TxnState.COMPLETE_COMMIT, T0 + 5)
    init(coord)
    assert (coord.describe(TID).state, coord.describe(TID).start_ms) == (TxnState.EMPTY, -1)


# ---- a transaction log that refuses writes ---------------------------------------------------------------

NOT_COORDINATOR = int(ErrorCode.NOT_COORDINATOR)
ENOSPC = OSError(28, "No space left on device")


def test_failed_persist_of_a_new_id_changes_nothing(coord: TxnCoordinator, fx: Fakes) -> None:
    fx.log.fail = ENOSPC
    assert init(coord) == (NOT_COORDINATOR, -1, -1)
    assert coord.describe(TID) is None and coord.snapshot() == []
    fx.log.fail = None
    assert init(coord)[::2] == (NONE, 0)
    assert coord.describe(TID) is not None


def test_failed_persist_of_each_operation_answers_not_coordinator_and_keeps_the_state(
    coord: TxnCoordinator, fx: Fakes
) -> None:
    pid, epoch = init_ok(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    before = coord.snapshot()
    fx.log.fail = OSError(5, "Input/output error")
    assert init(coord, pid=pid, epoch=epoch) == (NOT_COORDINATOR, -1, -1)  # the fencing abort cannot be recorded
    assert coord.add_partitions(T0 + 1, TID, pid, epoch, [TP1, TP2]) == {TP1: NOT_COORDINATOR, TP2: NOT_COORDINATOR}
    assert coord.add_offsets(T0 + 1, TID, pid, epoch, "g") == NOT_COORDINATOR
    assert coord.end_txn(T0 + 1, TID, pid, epoch, True) == NOT_COORDINATOR
    assert coord.snapshot() == before
    assert fx.markers == [] and fx.settled == []
    coord.tick(T0 + TIMEOUT + 1)  # the timeout abort cannot be recorded either: retried on the next tick
    assert coord.snapshot() == before and fx.markers == []
    fx.log.fail = None
    assert coord.end_txn(T0 + 2, TID, pid, epoch, True) == NONE
    assert fx.markers == [(pid, epoch, True, {TP0})]


def test_failed_persist_of_the_completion_keeps_the_decision_and_tick_finishes_it(
    coord: TxnCoordinator, fx: Fakes
) -> None:
    pid, epoch = init_ok(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    coord.add_offsets(T0, TID, pid, epoch, "g")
    # The decision lands; the disk fills while the markers are written.
    original = coord.effects.write_markers

    def markers_then_full(*args: Any) -> None:
        original(*args)
        fx.log.fail = ENOSPC

    coord.effects.write_markers = markers_then_full
    assert coord.end_txn(T0, TID, pid, epoch, True) == NONE  # decided: the client may go on
    assert coord.describe(TID).state == TxnState.PREPARE_COMMIT
    assert init(coord)[0] == CONCURRENT  # until the completion is recorded
    assert coord.end_txn(T0, TID, pid, epoch, True) == CONCURRENT
    coord.effects.write_markers = original
    coord.tick(T0 + 1)  # still full
    assert coord.describe(TID).state == TxnState.PREPARE_COMMIT
    fx.log.fail = None
    coord.tick(T0 + 2)
    assert coord.describe(TID).state == TxnState.COMPLETE_COMMIT
    # Markers and offsets were asked for again; both are idempotent in the broker.
    assert fx.markers[-1] == (pid, epoch, True, {TP0}) and fx.settled[-1] == (pid, {"g"}, True)
    assert init(coord) == (NONE, pid, epoch + 1)


def test_fsync_policy_flushes_every_write(fx: Fakes) -> None:
    coord = make(fx, fsync=True)
    pid, epoch = init_ok(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    coord.end_txn(T0, TID, pid, epoch, True)
    assert fx.log.flushes == len(fx.persisted) == 4  # Empty, Ongoing, PrepareCommit, CompleteCommit
    assert make(Fakes()).log.fsync is False


# ---- transactional.id.expiration.ms ----------------------------------------------------------------------

EXPIRY = 10_000
INTERVAL = 1_000


def test_idle_completed_and_empty_ids_expire_with_a_tombstone(fx: Fakes) -> None:
    coord = make(fx, transactional_id_expiration_ms=EXPIRY, remove_expired_interval_ms=INTERVAL)
    pid, epoch = init_ok(coord, tid="empty")
    pid, epoch = init_ok(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])
    coord.end_txn(T0, TID, pid, epoch, True)
    init_ok(coord, tid="aborted")
    a_pid = coord.describe("aborted").producer_id
    coord.add_offsets(T0, "aborted", a_pid, 0, "g")
    coord.end_txn(T0, "aborted", a_pid, 0, False)
    assert coord.remove_expired(T0 + EXPIRY - 1) == []
    assert sorted(coord.remove_expired(T0 + EXPIRY)) == ["aborted", "empty", TID]
    assert [d for d in fx.persisted if d["t"] == "txn_tombstone"] == [
        {"t": "txn_tombstone", "id": t} for t in ("empty", TID, "aborted")
    ]
    assert coord.snapshot() == [] and coord.describe(TID) is None
    # The id is unknown now: its producer is not recognised, and InitProducerId starts afresh.
    assert coord.end_txn(T0, TID, pid, epoch, True) == BAD_MAPPING
    assert init(coord, now=T0 + EXPIRY) == (NONE, fx.allocated[-1], 0) and fx.allocated[-1] > pid
    # Replaying the log (tombstones included) gives the same state.
    restored, _ = _fresh(fx, fx.persisted)
    assert restored.snapshot() == coord.snapshot()


def test_ids_with_a_transaction_in_flight_or_recent_activity_do_not_expire(fx: Fakes) -> None:
    coord = make(fx, transactional_id_expiration_ms=EXPIRY)
    pid, epoch = init_ok(coord)
    coord.add_partitions(T0, TID, pid, epoch, [TP0])  # Ongoing (with a long timeout)
    init_ok(coord, now=T0 + 5_000, tid="recent")
    assert coord.remove_expired(T0 + EXPIRY) == []
    assert coord.describe(TID).state == TxnState.ONGOING
    assert coord.remove_expired(T0 + 5_000 + EXPIRY) == ["recent"]


def test_expiry_runs_from_tick_every_interval(fx: Fakes) -> None:
    coord = make(fx, transactional_id_expiration_ms=EXPIRY, remove_expired_interval_ms=INTERVAL)
    init_ok(coord)
    coord.tick(T0)  # the first check is one interval later, as Kafka schedules it
    coord.tick(T0 + EXPIRY)
    assert coord.describe(TID) is None


def test_failed_tombstone_keeps_the_id_until_the_next_check(fx: Fakes) -> None:
    coord = make(fx, transactional_id_expiration_ms=EXPIRY)
    init_ok(coord)
    fx.log.fail = ENOSPC
    assert coord.remove_expired(T0 + EXPIRY) == []
    assert coord.describe(TID) is not None
    fx.log.fail = None
    assert coord.remove_expired(T0 + EXPIRY) == [TID]


def test_the_record_layout_is_unchanged(fx: Fakes) -> None:
    """transactions.log keeps the layout of the code before records.py (data dirs load across versions)."""
    coord = make(fx)
    pid, epoch = init_ok(coord)
    coord.add_partitions(T0 + 1, TID, pid, epoch, [TP1, TP0])
    coord.add_offsets(T0 + 2, TID, pid, epoch, "g")
    assert fx.persisted[-1] == {
        "t": "txn", "id": TID, "pid": pid, "epoch": epoch, "last_epoch": -1, "timeout": TIMEOUT,
        "state": "Ongoing", "partitions": [["t", 0], ["t", 1]], "groups": ["g"], "start": T0 + 1,
        "updated": T0 + 2, "prev_pid": -1,
    }


def test_a_producer_id_that_cannot_be_allocated_is_retriable_and_changes_nothing(fx: Fakes) -> None:
    def full() -> int:
        raise ENOSPC

    coord = make(fx)
    coord.effects.allocate_producer_id = full
    assert init(coord) == (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, -1, -1)
    assert coord.snapshot() == [] and fx.persisted == []
    exhausted = seeded(fx, MAX_EPOCH - 1, TxnState.COMPLETE_ABORT)
    exhausted.effects.allocate_producer_id = full
    before = exhausted.snapshot()
    assert init(exhausted) == (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, -1, -1)
    assert exhausted.snapshot() == before


def test_a_full_disk_is_logged_once_not_per_request(
    coord: TxnCoordinator, fx: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    pid, epoch = init_ok(coord)
    fx.log.fail = ENOSPC
    with caplog.at_level("INFO", logger="kafkalite.coordinator.txn"):
        for _ in range(5):
            assert coord.add_offsets(T0, TID, pid, epoch, "g") == NOT_COORDINATOR
        fx.log.fail = None
        assert coord.add_offsets(T0, TID, pid, epoch, "g") == NONE
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert "No space left on device" in caplog.records[0].getMessage()
