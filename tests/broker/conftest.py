"""A broker state with two topics, for handler tests that call one handler directly."""

from __future__ import annotations

from collections.abc import Iterator
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
