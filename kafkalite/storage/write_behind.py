"""Appends gathered per segment and handed to the OS once per event-loop turn.

With many partitions and many producers, most batches are a record or two, and one ``pwrite``
per batch was the largest cost of a Produce. Segments given a WriteBehind keep appended bytes
in memory and register here; everything registered is written at the end of the loop turn,
so batches that reach one partition from many connections in the same turn cost one system
call. A segment also writes its own pending bytes before anything reads its file (fetch,
lookups, fsync, close), and the connection calls ``write_all`` before it sends any response.

Nothing is acknowledged before it is written, and a write that fails (a full disk, EIO) is
contained to its segment: the segment cuts its file back and forgets the appends (see
``LogSegment.write_pending``), and a Produce that appended there answers KAFKA_STORAGE_ERROR
for that partition only. A Produce learns the outcome by awaiting ``written()``, one future
shared by every request of the loop turn, then asking its segment (``LogSegment.lost_since``).

The log directory's health is logged here, once when writes start failing and once when they
work again, not once per request.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class PendingWrites(Protocol):
    def write_pending(self) -> None: ...


class WriteBehind:
    """The segments holding appended bytes not yet written; owned by the broker state."""

    def __init__(self) -> None:
        self._pending: list[PendingWrites] = []
        self._scheduled = False
        self._turn: asyncio.Future[None] | None = None
        #: Writes to the log directory are failing (set by the first failure, cleared by a success).
        self.failing = False
        self.failures = 0

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

    def written(self) -> asyncio.Future[None]:
        """A future done once everything pending now has been written (or dropped)."""
        turn = self._turn
        if turn is None:
            turn = self._turn = asyncio.get_running_loop().create_future()
            if not self._pending:
                self._finish_turn()
        return turn

    def _end_of_turn(self) -> None:
        self._scheduled = False
        self.write_all()

    def write_all(self) -> None:
        """Write every segment's pending bytes; a segment whose write fails drops them."""
        pending = self._pending
        while pending:
            pending.pop().write_pending()
        if self._turn is not None:
            self._finish_turn()

    def _finish_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None and not turn.done():
            turn.set_result(None)

    # ---- log directory health ----------------------------------------------------------------

    def failed(self, path: Path, exc: OSError) -> None:
        """A write under the log directory failed; said once until writes work again."""
        self.failures += 1
        if not self.failing:
            self.failing = True
            log.error(
                "writing to the log directory %s failed (%s): appends answer KAFKA_STORAGE_ERROR until it works again",
                path.parent.parent,
                exc,
            )

    def recovered(self, path: Path) -> None:
        self.failing = False
        log.warning(
            "writing to the log directory %s works again after %d failed write(s)", path.parent.parent, self.failures
        )
        self.failures = 0
