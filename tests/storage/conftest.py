"""Fixtures shared by the storage tests."""

import pytest

from kafkalite.clock import ManualClock
from tests.helpers import START_MS


@pytest.fixture
def clock() -> ManualClock:
    """Storage time that moves only when a test moves it."""
    return ManualClock(START_MS)
