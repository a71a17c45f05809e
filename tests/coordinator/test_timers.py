"""KeyedTimers: one deadline per key, rescheduling replaces, cancelled or stale entries never fire."""

from __future__ import annotations

from kafkalite.coordinator.timers import KeyedTimers


def test_empty_timers_have_nothing_due():
    timers = KeyedTimers()
    assert timers.pop_due(10**12) == []
    assert timers.next_deadline() is None
    assert timers.deadline("k") is None


def test_pop_due_is_inclusive_and_keeps_future_timers():
    timers = KeyedTimers()
    timers.schedule("a", 100)
    timers.schedule("b", 200)
    assert timers.pop_due(99) == []
    assert timers.pop_due(100) == ["a"]
    assert timers.deadline("a") is None
    assert timers.deadline("b") == 200
    assert timers.next_deadline() == 200


def test_pop_due_returns_earliest_first_and_ties_in_schedule_order():
    timers = KeyedTimers()
    timers.schedule(("heartbeat", "g", "m2"), 300)
    timers.schedule(("join", "g"), 100)
    timers.schedule(("heartbeat", "g", "m1"), 300)
    timers.schedule(("sync", "g"), 200)
    assert timers.pop_due(1000) == [("join", "g"), ("sync", "g"), ("heartbeat", "g", "m2"), ("heartbeat", "g", "m1")]
    assert timers.pop_due(1000) == []
    assert timers.next_deadline() is None


def test_rescheduling_later_replaces_the_old_deadline():
    timers = KeyedTimers()
    timers.schedule("k", 100)
    timers.schedule("k", 500)
    assert timers.deadline("k") == 500
    assert timers.pop_due(100) == []
    assert timers.next_deadline() == 500
    assert timers.pop_due(500) == ["k"]
    assert timers.pop_due(10_000) == []


def test_rescheduling_earlier_fires_once_at_the_new_deadline():
    timers = KeyedTimers()
    timers.schedule("k", 500)
    timers.schedule("k", 100)
    assert timers.next_deadline() == 100
    assert timers.pop_due(100) == ["k"]
    assert timers.pop_due(500) == []
    assert timers.next_deadline() is None


def test_cancel_prevents_firing_and_is_idempotent():
    timers = KeyedTimers()
    timers.schedule("k", 100)
    timers.schedule("other", 150)
    timers.cancel("k")
    timers.cancel("k")
    timers.cancel("never-scheduled")
    assert timers.deadline("k") is None
    assert timers.next_deadline() == 150
    assert timers.pop_due(1000) == ["other"]


def test_cancel_then_schedule_again_fires_exactly_once():
    timers = KeyedTimers()
    timers.schedule("k", 100)
    timers.cancel("k")
    timers.schedule("k", 100)
    assert timers.pop_due(100) == ["k"]
    assert timers.pop_due(100) == []


def test_key_can_be_scheduled_again_after_firing():
    timers = KeyedTimers()
    timers.schedule("k", 100)
    assert timers.pop_due(100) == ["k"]
    timers.schedule("k", 300)
    assert timers.pop_due(200) == []
    assert timers.pop_due(300) == ["k"]


def test_next_deadline_skips_stale_entries():
    timers = KeyedTimers()
    timers.schedule("a", 10)
    timers.schedule("b", 20)
    timers.schedule("a", 30)
    timers.cancel("b")
    assert timers.next_deadline() == 30
    assert timers.pop_due(29) == []
    assert timers.pop_due(30) == ["a"]
