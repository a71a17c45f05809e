"""The transaction coordinator and producer-state expiry as the broker wires them (BrokerState).

``data/transactions-a927f89.log`` was written by the coordinator before records.py (commit a927f89):
three ids, one of them decided (PrepareCommit) but not completed when the broker stopped.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkalite.broker.broker import BrokerState
from kafkalite.clock import ManualClock
from kafkalite.config import BrokerConfig
from kafkalite.coordinator.txn import TxnState
from kafkalite.records.batch import validate_batches
from kafkalite.storage.metadata_log import MetadataLog
from tests.helpers import BASE_TS, simple_batch

OLD_LOG = Path(__file__).with_name("data") / "transactions-a927f89.log"
T0 = 1_700_000_000_100


def broker_state(data: Path, clock: ManualClock, **props: str) -> BrokerState:
    state = BrokerState(BrokerConfig.from_properties({"log.dirs": str(data), **props}), clock)
    state.open()
    return state


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    """A data dir with topics ``a`` (2 partitions) and ``b``, closed cleanly."""
    state = broker_state(tmp_path / "data", ManualClock(T0))
    state.cluster.create_topic("a", 2)
    state.cluster.create_topic("b", 1)
    state.close()
    yield tmp_path / "data"


def test_a_transactions_log_written_before_records_loads(data: Path) -> None:
    shutil.copy(OLD_LOG, data / "transactions.log")
    state = broker_state(data, ManualClock(T0))
    try:
        done, open_, decided = (state.txns.describe(t) for t in ("done", "open", "decided"))
        assert done is not None and (done.producer_id, done.producer_epoch, done.state) == (
            4000, 0, TxnState.COMPLETE_COMMIT
        )
        assert open_ is not None and open_.state == TxnState.ONGOING
        assert (open_.partitions, open_.groups, open_.start_ms) == (
            {("a", 0), ("a", 1)}, {"g"}, 1_700_000_000_004
        )
        # Decided before the stop: start-up finished it and recorded the completion.
        assert decided is not None and decided.state == TxnState.COMPLETE_COMMIT
        assert state.txns.init_producer_id(T0, "done", 60_000) == (0, 4000, 1)
    finally:
        state.close()
    lines = list(MetadataLog(data / "transactions.log").replay())
    assert lines[: len(OLD_LOG.read_text().splitlines())] == list(MetadataLog(OLD_LOG).replay())
    assert [(d["id"], d["state"]) for d in lines[-2:]] == [("decided", "CompleteCommit"), ("done", "Empty")]


@pytest.mark.parametrize(("policy", "fsync"), [("always", True), ("interval", False), ("never", False)])
def test_fsync_always_applies_to_transaction_records(data: Path, policy: str, fsync: bool) -> None:
    state = broker_state(data, ManualClock(T0), **{"kafkalite.fsync": policy})
    try:
        assert state.txns.log.fsync is fsync
    finally:
        state.close()


def test_expiry_settings_have_kafkas_defaults_and_can_be_set(data: Path) -> None:
    state = broker_state(data, ManualClock(T0))
    assert (state.txns.transactional_id_expiration_ms, state.txns.remove_expired_interval_ms) == (604800000, 3600000)
    assert state.producer_id_expiration_ms == 86400000
    state.close()
    state = broker_state(data, ManualClock(T0), **{
        "transactional.id.expiration.ms": "5000",
        "transactions.remove.expired.transaction.cleanup.interval.ms": "100",
        "producer.id.expiration.ms": "7000",
        "producer.id.expiration.check.interval.ms": "200",
    })
    assert (state.txns.transactional_id_expiration_ms, state.txns.remove_expired_interval_ms) == (5000, 100)
    assert state.producer_id_expiration_ms == 7000
    state.close()


def test_transactional_id_expires_through_tick_and_stays_gone_after_restart(data: Path) -> None:
    clock = ManualClock(T0)
    props = {"transactional.id.expiration.ms": "5000",
             "transactions.remove.expired.transaction.cleanup.interval.ms": "100"}
    state = broker_state(data, clock, **props)
    _, pid, _ = state.txns.init_producer_id(clock.now_ms(), "idle", 60_000)
    state.tick()
    clock.advance(4_999)
    state.tick()
    assert state.txns.describe("idle") is not None
    clock.advance(101)
    state.tick()
    assert state.txns.describe("idle") is None
    state.close()
    state = broker_state(data, clock, **props)
    try:
        assert state.txns.describe("idle") is None
        code, new_pid, epoch = state.txns.init_producer_id(clock.now_ms(), "idle", 60_000)
        assert (code, epoch) == (0, 0) and new_pid != pid
    finally:
        state.close()


def _append(state: BrokerState, pid: int, seq: int, ts: int, transactional: bool = False) -> None:
    plog = state.cluster.partition("a", 0)
    assert plog is not None
    data = simple_batch(1, start_ts=ts, producer_id=pid, producer_epoch=0, base_sequence=seq,
                        transactional=transactional)
    plog.append(data, validate_batches(data))


def test_idle_producers_expire_on_the_check_interval_unless_in_a_transaction(data: Path) -> None:
    clock = ManualClock(BASE_TS)
    state = broker_state(data, clock, **{"producer.id.expiration.ms": "10000",
                                          "producer.id.expiration.check.interval.ms": "1000"})
    try:
        _append(state, 1, 0, BASE_TS)
        _append(state, 2, 0, BASE_TS, transactional=True)  # open transaction: kept however idle
        _append(state, 3, 0, BASE_TS + 5_000)
        producers = state.cluster.partition("a", 0).producer_state.producers  # type: ignore[union-attr]
        clock.advance(9_999)
        state.tick()  # a check: nobody idle for 10 s yet
        assert sorted(producers) == [1, 2, 3]
        clock.advance(1)
        state.tick()
        assert sorted(producers) == [1, 2, 3]  # producer 1 is idle long enough, but the check runs every second
        clock.advance(1_000)
        state.tick()
        assert sorted(producers) == [2, 3]
        clock.advance(5_000)
        state.tick()
        assert sorted(producers) == [2]
        # The expired producer is unknown now: its next batch is taken whatever its sequence (Kafka 4.4).
        _append(state, 1, 57, clock.now_ms())
        assert producers[1].last_seq == 57
    finally:
        state.close()
