import pytest

from kafkalite.records.batch import BatchHeader, validate_batches
from kafkalite.storage.producer_state import RETAINED_BATCHES, ProducerStateManager, SequenceError
from tests.helpers import simple_batch

PID = 77


def header(n: int, seq: int, base_offset: int = 0, epoch: int = 0, pid: int = PID) -> BatchHeader:
    (h,) = validate_batches(simple_batch(n, producer_id=pid, producer_epoch=epoch, base_sequence=seq))
    return h._replace(base_offset=base_offset)


@pytest.fixture
def state():
    return ProducerStateManager()


def test_unknown_producer_accepts_any_sequence(state):
    state.check(header(1, 0))
    state.check(header(1, 12345))
    assert state.find_duplicate(header(1, 0)) is None


def test_update_then_find_duplicate(state):
    state.update(header(3, 0, base_offset=10))
    state.update(header(2, 3, base_offset=20))
    assert state.find_duplicate(header(3, 0)) == (10, 12)
    assert state.find_duplicate(header(2, 3)) == (20, 21)
    assert state.find_duplicate(header(2, 0)) is None  # same first seq, different last seq
    assert state.find_duplicate(header(3, 0, epoch=1)) is None
    assert state.find_duplicate(header(3, 0, pid=PID + 1)) is None
    assert state.producers[PID].last_seq == 4


def test_only_last_five_batches_are_retained(state):
    for i in range(RETAINED_BATCHES + 1):
        state.update(header(1, i, base_offset=100 + i))
    assert RETAINED_BATCHES == 5
    assert state.find_duplicate(header(1, 0)) is None
    assert state.find_duplicate(header(1, 1)) == (101, 101)
    assert state.find_duplicate(header(1, 5)) == (105, 105)


def test_check_expects_next_sequence(state):
    state.update(header(3, 0))
    state.check(header(1, 3))
    for bad in (2, 4, 0):
        with pytest.raises(SequenceError) as exc:
            state.check(header(1, bad))
        assert exc.value.kind == "out_of_order"


def test_check_older_epoch(state):
    state.update(header(1, 0, epoch=3))
    with pytest.raises(SequenceError) as exc:
        state.check(header(1, 1, epoch=2))
    assert exc.value.kind == "invalid_epoch"


def test_check_newer_epoch_requires_sequence_zero(state):
    state.update(header(1, 0, epoch=3))
    state.check(header(1, 0, epoch=4))
    with pytest.raises(SequenceError) as exc:
        state.check(header(1, 1, epoch=4))
    assert exc.value.kind == "out_of_order"


def test_newer_epoch_replaces_entry(state):
    state.update(header(2, 0, epoch=0, base_offset=0))
    state.update(header(1, 0, epoch=1, base_offset=2))
    entry = state.producers[PID]
    assert entry.epoch == 1
    assert len(entry.batches) == 1
    assert state.find_duplicate(header(2, 0, epoch=0)) is None
    assert state.find_duplicate(header(1, 0, epoch=1)) == (2, 2)


def test_sequence_wraps_at_int32(state):
    top = 2**31 - 3
    state.update(header(3, top))  # sequences 2**31-3 .. 2**31-1
    assert state.producers[PID].last_seq == 2**31 - 1
    state.check(header(1, 0))
    with pytest.raises(SequenceError):
        state.check(header(1, 2**31 - 1))


def test_non_idempotent_batches_are_ignored(state):
    (h,) = validate_batches(simple_batch(2))
    state.update(h)
    assert state.producers == {}


def test_producers_are_independent(state):
    state.update(header(2, 0, pid=1))
    state.update(header(5, 0, pid=2))
    state.check(header(1, 2, pid=1))
    state.check(header(1, 5, pid=2))
    with pytest.raises(SequenceError):
        state.check(header(1, 5, pid=1))



def test_marker_sets_last_timestamp(state):
    """Kafka's DescribeProducers shows the marker's timestamp once a transaction ends."""
    data = header(1, 0)._replace(attributes=0x10, max_timestamp=1_700_000_000_000)  # transactional
    state.update(data)
    marker = data._replace(base_offset=1, max_timestamp=1_800_000_000_000, attributes=0x30)
    assert state.complete_txn(marker, coordinator_epoch=0) == 0
    entry = state.producers[PID]
    assert (entry.last_timestamp, entry.coordinator_epoch, entry.txn_first_offset) == (1_800_000_000_000, 0, None)


def test_duplicate_keeps_the_batch_timestamp_across_snapshots(state):
    h = header(3, 0, base_offset=10)
    state.update(h)
    assert state.duplicate_of(header(3, 0)) == (10, 12, h.max_timestamp)
    restored = ProducerStateManager.from_bytes(state.to_bytes())
    assert restored.duplicate_of(header(3, 0)) == (10, 12, h.max_timestamp)


def test_snapshot_without_batch_timestamps_still_loads():
    restored = ProducerStateManager.from_bytes(b'{"77":[0,[[0,2,10,12]],null,-1,-1]}')
    assert restored.duplicate_of(header(3, 0)) == (10, 12, -1)


def test_remove_expired_uses_the_last_batch_timestamp_and_keeps_open_transactions(state):
    """Kafka's removeExpiredProducers: idle since the last batch's timestamp, no open transaction here."""
    ts = header(1, 0).max_timestamp
    state.update(header(1, 0, pid=1))
    state.update(header(1, 0, pid=2)._replace(attributes=0x10))  # transactional, still open
    state.update(header(1, 0, pid=3)._replace(max_timestamp=ts + 500))
    assert state.remove_expired(ts + 999, 1_000) == []
    assert state.remove_expired(ts + 1_000, 1_000) == [1]
    assert sorted(state.producers) == [2, 3]
    assert state.remove_expired(ts + 10_000, 1_000) == [3]
    assert sorted(state.producers) == [2]
    # Expired means unknown: any sequence is accepted again, and no earlier batch is a duplicate.
    state.check(header(1, 41, pid=1))
    assert state.find_duplicate(header(1, 0, pid=1)) is None


def test_expired_producers_are_left_out_of_snapshots(state):
    ts = header(1, 0).max_timestamp
    state.update(header(1, 0, pid=1))
    state.remove_expired(ts + 1_000, 1_000)
    assert ProducerStateManager.from_bytes(state.to_bytes()).producers == {}
