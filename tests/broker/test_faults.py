"""The fault registry's rules (kafkalite/broker/faults.py): names, matching, counts, order, arming."""

from __future__ import annotations

import errno
import os
from types import SimpleNamespace

import pytest

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.faults import FaultError, api_key_of, error_code_of
from kafkalite.errors import ErrorCode
from kafkalite.storage.fs import SwitchableFS


def produce(*topics: str) -> SimpleNamespace:
    return SimpleNamespace(topic_data=[SimpleNamespace(name=t, topic_id=None) for t in topics], acks=1)


def join(group: str) -> SimpleNamespace:
    return SimpleNamespace(group_id=group)


def test_names_and_numbers() -> None:
    assert api_key_of("Produce") == api_key_of("produce") == api_key_of(0) == api_key_of("0") == 0
    assert api_key_of("offset_for_leader_epoch") == api_key_of("OffsetForLeaderEpoch") == 23
    assert error_code_of("not_leader_or_follower") == error_code_of(6) == error_code_of("6") == ErrorCode(6)
    with pytest.raises(FaultError, match="unknown API key 99"):
        api_key_of(99)
    with pytest.raises(FaultError, match="unknown error code 9999"):
        error_code_of(9999)
    with pytest.raises(FaultError, match="unknown API True"):
        api_key_of(True)


def test_nothing_armed_until_a_rule_and_after_it_is_used(state: BrokerState) -> None:
    faults = state.faults
    assert not faults.armed
    faults.fail("Produce", "NOT_LEADER_OR_FOLLOWER", count=2)
    assert faults.armed
    assert faults.match(0, "c", 1, produce("a")).error == ErrorCode.NOT_LEADER_OR_FOLLOWER  # type: ignore[union-attr]
    assert faults.match(1, "c", 1, None) is None  # another API
    assert faults.match(0, "c", 1, produce("a")) is not None
    assert faults.match(0, "c", 1, produce("a")) is None
    assert not faults.armed and faults.list() == []


def test_filters(state: BrokerState) -> None:
    faults = state.faults
    node = state.nodes.ids[0]
    by_client = faults.fail("Produce", 6, client_id="app")
    by_topic = faults.fail("Produce", 7, topic="b")
    by_group = faults.coordinator_loading(group="g1")
    assert faults.match(0, "other", node, produce("a")) is None
    assert faults.match(0, "app", node, produce("a")).error == 6  # type: ignore[union-attr]
    assert faults.match(0, "other", node, produce("a", "b")).error == 7  # type: ignore[union-attr]
    assert faults.match(11, "x", node, join("g2")) is None
    assert faults.match(11, "x", node, join("g1")).error == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS  # type: ignore[union-attr]
    assert (by_client.hits, by_topic.hits, by_group.hits) == (1, 1, 1)
    assert by_client.remaining is None  # until cleared
    faults.fail("Fetch", 6, node=node)
    assert faults.match(1, "x", node, SimpleNamespace(topics=[])) is not None
    with pytest.raises(FaultError, match="unknown node 42"):
        faults.fail("Fetch", 6, node=42)
    faults.clear()
    assert not faults.armed and faults.list() == []


def test_first_set_acts_first(state: BrokerState) -> None:
    faults = state.faults
    faults.fail_sequence("Produce", ["NOT_LEADER_OR_FOLLOWER", "NONE", 7])
    faults.throttle("Produce", 100, count=1)
    hits = [faults.match(0, "", 1, produce("a")) for _ in range(5)]
    assert [(h.action, h.error) if h else None for h in hits] == [
        ("error", ErrorCode.NOT_LEADER_OR_FOLLOWER), ("pass", None), ("error", ErrorCode.REQUEST_TIMED_OUT),
        ("throttle", None), None]


@pytest.mark.parametrize(("call", "message"), [
    (lambda f: f.add("Produce", "error"), "needs an error code"),
    (lambda f: f.add("Produce", "error", error="NONE"), "NONE is not an error"),
    (lambda f: f.add("Produce", "delay"), "needs delay_ms > 0"),
    (lambda f: f.add("Produce", "throttle", throttle_ms=-1), "throttle_ms must be an integer >= 0"),
    (lambda f: f.add("Produce", "drop", error=6), "takes no error code"),
    (lambda f: f.add([], "drop"), "at least one API"),
    (lambda f: f.fail_sequence("Produce", [6], count=2), "no count"),
    (lambda f: f.coordinator_loading(), "exactly one of group or transactional_id"),
    (lambda f: f.node_action(1, "explode"), "unknown node action"),
])
def test_refusals(state: BrokerState, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FaultError, match=message):
        call(state.faults)
    assert state.faults.list() == [] and not state.faults.armed


def test_disk_faults_switch_the_file_system(state: BrokerState) -> None:
    fs = state.fs
    assert isinstance(fs, SwitchableFS) and not fs.engaged
    assert fs.pwrite is os.pwrite  # released: the os call itself, nothing in between
    state.faults.disk_full()
    assert fs.engaged and fs.faulty.full
    fd = fs.open(state.config.data_dir / "probe", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError) as info:
            fs.write(fd, b"x")
    finally:
        fs.close(fd)
    assert info.value.errno == errno.ENOSPC
    state.faults.clear_disk()
    assert not fs.engaged and fs.pwrite is os.pwrite


def test_latency_arms(state: BrokerState) -> None:
    node = state.nodes.ids[0]
    state.nodes.set_latency(node, 5)
    assert state.faults.armed and state.faults.latency_ms(node) == 5
    state.faults.set_latency(node, 0)
    assert not state.faults.armed
