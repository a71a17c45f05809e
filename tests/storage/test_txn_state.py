"""Transactions in one partition's log: last stable offset, markers and aborted transactions,
and that all of it survives a clean restart and a crash (snapshots + log replay + .txnindex).

Kafka's rules: the LSO is the first offset of the earliest open transaction (the high watermark
when none is open); an ABORT marker records (producer id, first offset, marker offset) in the
segment's transaction index; read_committed fetches stop at the LSO and get the aborted
transactions that overlap the fetched range.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkalite.clock import ManualClock
from kafkalite.records.batch import iter_headers, validate_batches
from kafkalite.records.control import ABORT, COMMIT, read_marker
from kafkalite.storage.index import AbortedTxn
from kafkalite.storage.log import AppendResult, LogConfig, PartitionLog
from kafkalite.storage.producer_state import SequenceError
from tests.helpers import simple_batch

A, B, C = 7001, 7002, 7003



@pytest.fixture
def open_log(tmp_path: Path, clock: ManualClock):
    opened: list[PartitionLog] = []

    def _open(config: LogConfig | None = None, clean: bool = True) -> PartitionLog:
        log = PartitionLog(tmp_path / "topic-0", config or LogConfig(), clock.now_ms)
        log.open(clean_shutdown=clean)
        opened.append(log)
        return log

    yield _open
    for log in opened:
        if log.segments:
            log.close()


class Producer:
    """Batches of one producer with running sequence numbers."""

    def __init__(self, pid: int, epoch: int = 0) -> None:
        self.pid, self.epoch, self.seq = pid, epoch, 0

    def batch(self, n: int, transactional: bool = True) -> bytearray:
        data = simple_batch(n, producer_id=self.pid, producer_epoch=self.epoch, base_sequence=self.seq,
                            transactional=transactional, tag=f"p{self.pid}-{self.seq}")
        self.seq += n
        return data


def append(log: PartitionLog, data: bytearray) -> AppendResult:
    return log.append(data, validate_batches(data))


def plain(log: PartitionLog, n: int = 1) -> AppendResult:
    return append(log, simple_batch(n))


def batch_bases(data: bytes) -> list[int]:
    return [h.base_offset for h in iter_headers(data)]


def txn_view(log: PartitionLog) -> tuple:
    """Everything transactional a reader or a restart can observe."""
    open_pids = sorted(p for p in (A, B, C) if log.producer_state.in_transaction(p))
    return (log.log_end_offset, log.high_watermark, log.last_stable_offset,
            log.aborted_transactions(0, log.log_end_offset + 1), open_pids)


# ---- last stable offset -----------------------------------------------------------------------------


def test_open_transactions_hold_the_lso_at_their_first_offset(open_log) -> None:
    log = open_log()
    a, b = Producer(A), Producer(B)
    plain(log, 2)  # 0-1
    assert log.last_stable_offset == log.high_watermark == 2
    assert append(log, a.batch(3)).base_offset == 2  # 2-4, A open
    assert (log.last_stable_offset, log.high_watermark) == (2, 5)
    plain(log)  # 5
    append(log, a.batch(1))  # 6, A's second batch does not move its first offset
    append(log, b.batch(2))  # 7-8, B open
    assert (log.last_stable_offset, log.high_watermark) == (2, 9)
    assert log.append_marker(A, 0, commit=True) == 9
    assert (log.last_stable_offset, log.high_watermark) == (7, 10)  # B now bounds it
    assert log.append_marker(B, 0, commit=True) == 10
    assert log.last_stable_offset == log.high_watermark == log.log_end_offset == 11


def test_commit_marker_is_a_control_batch_and_moves_lso_to_hw(open_log) -> None:
    log = open_log()
    a = Producer(A, epoch=3)
    append(log, a.batch(2))
    offset = log.append_marker(A, 3, commit=True)
    assert offset == 2
    assert log.last_stable_offset == log.high_watermark == 3
    assert log.aborted_transactions(0, 3) == []
    (header,) = iter_headers(log.read(offset, 1 << 20))
    raw = log.read(offset, 1 << 20)
    assert (header.is_control, header.is_transactional, header.producer_id, header.producer_epoch) == (
        True, True, A, 3
    )
    assert read_marker(raw) == (COMMIT, 0)


def test_abort_marker_records_the_aborted_transaction(open_log) -> None:
    log = open_log()
    a, b = Producer(A), Producer(B)
    plain(log, 2)  # 0-1
    append(log, a.batch(3))  # 2-4
    plain(log)  # 5
    assert log.append_marker(A, 0, commit=False) == 6
    assert log.last_stable_offset == log.high_watermark == 7
    raw = log.read(6, 1 << 20)
    assert read_marker(raw)[0] == ABORT
    append(log, b.batch(2))  # 7-8
    assert log.append_marker(B, 0, commit=False) == 9
    ta, tb = AbortedTxn((A, 2, 6)), AbortedTxn((B, 7, 9))
    assert log.aborted_transactions(0, 10) == [ta, tb]


@pytest.mark.parametrize(("start", "end", "expected"), [
    (0, 2, []),  # ends before A's first offset
    (0, 3, ["a"]),
    (3, 4, ["a"]),  # inside A
    (6, 7, ["a"]),  # A's marker
    (7, 8, ["b"]),  # after A's marker, B's first offset
    (9, 10, ["b"]),
    (10, 20, []),  # after both
    (0, 100, ["a", "b"]),
])
def test_aborted_transactions_returns_only_overlapping_ranges(open_log, start, end, expected) -> None:
    log = open_log()
    a, b = Producer(A), Producer(B)
    plain(log, 2)
    append(log, a.batch(3))  # 2-4
    plain(log)  # 5
    log.append_marker(A, 0, commit=False)  # 6
    append(log, b.batch(2))  # 7-8
    log.append_marker(B, 0, commit=False)  # 9
    plain(log)  # 10
    by_name = {"a": AbortedTxn((A, 2, 6)), "b": AbortedTxn((B, 7, 9))}
    assert log.aborted_transactions(start, end) == [by_name[n] for n in expected]


def test_committed_transactions_are_not_listed_as_aborted(open_log) -> None:
    log = open_log()
    a, b = Producer(A), Producer(B)
    append(log, a.batch(2))
    append(log, b.batch(2))
    log.append_marker(A, 0, commit=True)
    log.append_marker(B, 0, commit=False)
    assert log.aborted_transactions(0, 100) == [AbortedTxn((B, 2, 5))]


def test_read_up_to_the_lso_never_returns_batches_at_or_after_it(open_log) -> None:
    log = open_log()
    a, b = Producer(A), Producer(B)
    append(log, a.batch(2))  # 0-1
    log.append_marker(A, 0, commit=True)  # 2
    plain(log)  # 3
    append(log, b.batch(2))  # 4-5, open
    plain(log, 3)  # 6-8
    lso = log.last_stable_offset
    assert lso == 4
    for start in range(lso):
        for max_bytes in (1, 100, 1 << 20):
            data = log.read(start, max_bytes, True, lso)
            assert data, (start, max_bytes)  # progress below the LSO
            assert all(h.last_offset < lso for h in iter_headers(data)), (start, max_bytes)
    for start in range(lso, log.log_end_offset + 1):
        assert log.read(start, 1 << 20, True, lso) == b""
    assert batch_bases(log.read(0, 1 << 20)) == [0, 2, 3, 4, 6]  # read_uncommitted sees everything
    log.append_marker(B, 0, commit=True)  # 9
    lso = log.last_stable_offset
    assert lso == 10
    assert batch_bases(log.read(0, 1 << 20, True, lso)) == [0, 2, 3, 4, 6, 9]


def test_read_up_to_the_lso_across_segments(open_log) -> None:
    log = open_log(LogConfig(segment_bytes=100))  # one batch per segment
    a = Producer(A)
    plain(log)  # 0
    plain(log)  # 1
    append(log, a.batch(1))  # 2, open
    plain(log)  # 3
    plain(log)  # 4
    assert len(log.segments) == 5
    lso = log.last_stable_offset
    assert lso == 2
    got: list[int] = []
    offset = 0
    while True:
        data = log.read(offset, 1 << 20, True, lso)
        if not data:
            break
        got.extend(batch_bases(data))
        offset = list(iter_headers(data))[-1].last_offset + 1
    assert got == [0, 1]
    assert log.read(2, 1 << 20, True, lso) == b""
    assert log.read(4, 1 << 20, True, lso) == b""


def test_append_marker_without_an_open_transaction_returns_none(open_log) -> None:
    log = open_log()
    a = Producer(A)
    plain(log)
    assert log.append_marker(A, 0, commit=True) is None  # never wrote here
    append(log, a.batch(1, transactional=False))  # idempotent, not transactional
    assert log.append_marker(A, 0, commit=False) is None
    append(log, a.batch(1))
    assert log.append_marker(A, 0, commit=True) == 3
    end = log.log_end_offset
    assert log.append_marker(A, 0, commit=True) is None  # a repeated EndTxn writes nothing
    assert log.append_marker(A, 0, commit=False) is None
    assert log.log_end_offset == end
    assert log.aborted_transactions(0, end) == []


def test_abort_marker_at_a_bumped_epoch_fences_the_old_epoch(open_log) -> None:
    log = open_log()
    a = Producer(A)
    append(log, a.batch(2))
    log.append_marker(A, 1, commit=False)  # the coordinator fenced A (timeout or a new instance)
    with pytest.raises(SequenceError) as exc:
        append(log, a.batch(1))
    assert exc.value.kind == "invalid_epoch"
    fresh = Producer(A, epoch=1)
    assert append(log, fresh.batch(1)).base_offset == 3  # the new epoch starts at sequence 0


def test_transaction_after_a_completed_one_gets_its_own_first_offset(open_log) -> None:
    log = open_log()
    a = Producer(A)
    append(log, a.batch(1))  # 0
    log.append_marker(A, 0, commit=False)  # 1
    plain(log)  # 2
    append(log, a.batch(1))  # 3
    assert log.last_stable_offset == 3
    log.append_marker(A, 0, commit=False)  # 4
    assert log.aborted_transactions(0, 10) == [AbortedTxn((A, 0, 1)), AbortedTxn((A, 3, 4))]


# ---- restarts -------------------------------------------------------------------------------------------


def build_history(log: PartitionLog) -> None:
    """A committed, two aborted and one still open transaction, interleaved with plain writes."""
    a, b, c = Producer(A), Producer(B), Producer(C)
    plain(log, 2)
    append(log, a.batch(2))
    append(log, b.batch(1))
    plain(log)
    log.append_marker(A, 0, commit=True)
    append(log, c.batch(3))  # C stays open to the end
    append(log, b.batch(2))
    log.append_marker(B, 0, commit=False)
    plain(log)
    append(log, a.batch(1))
    log.append_marker(A, 0, commit=False)
    plain(log, 2)


CONFIGS = {"one-segment": LogConfig(), "many-segments": LogConfig(segment_bytes=200)}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("clean", [True, False], ids=["clean", "crash"])
def test_transaction_state_survives_restart(open_log, config: LogConfig, clean: bool) -> None:
    log = open_log(config)
    build_history(log)
    before = txn_view(log)
    assert before[2] < before[1] and before[4] == [C]  # the open transaction holds the LSO
    assert len(before[3]) == 2
    if config.segment_bytes < 1000:
        assert len(log.segments) > 3
    if clean:
        log.close()
    else:
        log.flush()  # a crash: no close, no snapshot at the log end
    again = open_log(config, clean=clean)
    assert txn_view(again) == before
    # The reopened log goes on: C's commit releases the LSO, and nothing is aborted twice.
    marker = again.append_marker(C, 0, commit=True)
    assert marker == before[0]
    assert again.last_stable_offset == again.high_watermark
    assert again.aborted_transactions(0, again.log_end_offset) == before[3]


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_crash_after_a_clean_restart_rederives_later_aborts(open_log, config: LogConfig) -> None:
    log = open_log(config)
    build_history(log)
    log.close()
    again = open_log(config)  # a snapshot at the old log end exists now
    b = Producer(B)
    b.seq = 3
    append(again, b.batch(1))
    again.append_marker(B, 0, commit=False)
    append(again, Producer(B, epoch=1).batch(1))  # open again, after the abort
    before = txn_view(again)
    assert before[4] == [B, C]
    assert len(before[3]) == 3
    again.flush()
    crashed = open_log(config, clean=False)
    assert txn_view(crashed) == before


def test_crash_without_any_snapshot_replays_the_whole_log(open_log, tmp_path: Path) -> None:
    log = open_log(LogConfig(segment_bytes=200))
    build_history(log)
    before = txn_view(log)
    log.flush()
    for snapshot in (tmp_path / "topic-0").glob("*.snapshot"):
        snapshot.unlink()
    again = open_log(LogConfig(segment_bytes=200), clean=False)
    assert txn_view(again) == before


def test_producer_coordinator_epoch_is_minus_one_until_a_marker_then_the_markers(open_log) -> None:
    """As Kafka's ProducerStateEntry (DescribeProducers shows it); kept across a restart."""
    log = open_log()
    a = Producer(A)
    append(log, a.batch(2))
    assert log.producer_state.producers[A].coordinator_epoch == -1
    log.append_marker(A, 0, commit=True, coordinator_epoch=5)
    assert log.producer_state.producers[A].coordinator_epoch == 5
    log.close()
    again = open_log()
    assert again.producer_state.producers[A].coordinator_epoch == 5
