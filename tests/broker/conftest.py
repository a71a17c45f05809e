"""Broker states for handler tests that call one handler directly: ``state`` with two topics, or
``make_state`` for a state with settings of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kafkalite.broker.broker import BrokerState
from kafkalite.clock import ManualClock
from kafkalite.config import BrokerConfig


@pytest.fixture
def state(tmp_path: Path) -> Iterator[BrokerState]:
    """Topics ``a`` (3 partitions) and ``b`` (1 partition) on a manual clock."""
    config = BrokerConfig.from_properties({"log.dirs": str(tmp_path / "data")})
    state = BrokerState(config, ManualClock())
    state.open()
    state.cluster.create_topic("a", 3)
    state.cluster.create_topic("b", 1)
    yield state
    state.close()


@pytest.fixture
def make_state(tmp_path: Path) -> Iterator[Callable[..., BrokerState]]:
    """``make_state(**props)``: an open state with these server.properties settings (closed after)."""
    states: list[BrokerState] = []

    def _make(**props: str) -> BrokerState:
        config = BrokerConfig.from_properties({"log.dirs": str(tmp_path / "data"), **props})
        state = BrokerState(config, ManualClock())
        state.open()
        states.append(state)
        return state

    yield _make
    for state in states:
        state.close()
