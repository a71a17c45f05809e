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
for that partition only. The connection, having written everything pending, asks the segment
whether a response's bytes were dropped (``LogSegment.lost_since``) before it sends it.

The log directory's health is logged here, once when writes start failing and once when they
work again, not once per request; a disk that hovers at full (small writes fit, large ones do
not) starts a new episode at most once a minute in the log, the failures between are counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

#: A new episode of failing writes is logged at most this often (ms of the broker's clock).
REPORT_INTERVAL_MS = 60_000


class PendingWrites(Protocol):
    def write_pending(self) -> None: ...


class WriteBehind:
    """The segments holding appended bytes not yet written; owned by the broker state."""

    def __init__(self, now_ms: Callable[[], int] | None = None) -> None:
        self._pending: list[PendingWrites] = []
        self._scheduled = False
        #: Writes to the log directory are failing (set by the first failure, cleared by a success).
        self.failing = False
        self.failures = 0  # since the last report
        self._now_ms = now_ms or (lambda: 0)
        self._reported_ms: int | None = None  # when the last episode was logged
        self._episode_reported = False

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
        """Write every segment's pending bytes; a segment whose write fails drops them."""
        pending = self._pending
        while pending:
            pending.pop().write_pending()

    # ---- log directory health ----------------------------------------------------------------

    def failed(self, path: Path, exc: OSError) -> None:
        """A write under the log directory failed; said once until writes work again."""
        self.failures += 1
        if self.failing:
            return
        self.failing = True
        now = self._now_ms()
        self._episode_reported = self._reported_ms is None or now - self._reported_ms >= REPORT_INTERVAL_MS
        if self._episode_reported:
            self._reported_ms = now
            log.error(
                "writing to the log directory %s failed (%s): appends answer KAFKA_STORAGE_ERROR until it works again",
                path.parent.parent,
                exc,
            )

    def recovered(self, path: Path) -> None:
        """A write worked after failures; said if the failure was."""
        self.failing = False
        if self._episode_reported:
            log.warning(
                "writing to the log directory %s works again after %d failed write(s)",
                path.parent.parent,
                self.failures,
            )
            self.failures = 0
