"""Time as the broker sees it. Nothing else reads the wall clock, so tests can move time."""

from __future__ import annotations

import time


class Clock:
    """Wall-clock milliseconds (timestamps) and monotonic seconds (timeouts)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock(Clock):
    """A clock that only moves when told to; for unit tests of timeouts."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._ms = start_ms

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._ms / 1000.0

    def advance(self, ms: int) -> None:
        self._ms += ms
