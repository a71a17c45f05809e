"""Appends gathered per segment and handed to the OS once per event-loop turn.

With many partitions and many producers, most batches are a record or two, and one ``pwrite``
per batch was the largest cost of a Produce. Segments given a WriteBehind keep appended bytes
in memory and register here; everything registered is written at the end of the loop turn,
so batches that reach one partition from many connections in the same turn cost one system
call. Nothing is acknowledged before it is written: the connection calls ``write_all`` before
it sends any response, and a segment writes its own pending bytes before anything reads its
file (fetch, lookups, fsync, close).
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class PendingWrites(Protocol):
    def write_pending(self) -> None: ...


class WriteBehind:
    """The segments holding appended bytes not yet written; owned by the broker state."""

    def __init__(self) -> None:
        self._pending: list[PendingWrites] = []
        self._scheduled = False

    def mark(self, segment: PendingWrites) -> None:
        """``segment`` has just started holding unwritten bytes."""
        self._pending.append(segment)
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (tools, tests): write through at once
            self.write_all()
            return
        self._scheduled = True
        loop.call_soon(self._end_of_turn)

    def _end_of_turn(self) -> None:
        self._scheduled = False
        self.write_all()

    def write_all(self) -> None:
        """Write every segment's pending bytes; on an OSError the rest stay pending and it raises."""
        pending = self._pending
        while pending:
            pending[-1].write_pending()
            pending.pop()
