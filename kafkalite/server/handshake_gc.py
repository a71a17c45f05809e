"""Freeing what failed TLS handshakes leave behind, soon after a burst of them.

A TLS connection whose handshake fails or times out (garbage on an SSL port, a handshake flood)
never reaches the broker's connection bookkeeping, and what it allocated is not all freed at once:

- asyncio before Python 3.11.8 / 3.12.1 (CPython gh-109534) leaves each failed handshake in a
  reference cycle (the error's traceback holds the accept frame, its waiter and protocol, and the
  OpenSSL state). Only a full collection frees it, and with the startup objects frozen (app.py)
  those come rarely: memory grows ~10 KiB a connection until then.
- uvloop frees its objects at once, but glibc keeps the freed memory of hundreds of short-lived
  TLS sessions (their 256 KiB read buffers) in its heap: the process never gets smaller.

So the server counts TLS connections accepted and those whose handshake completed; once 64 more
have not completed, it waits one handshake timeout (they have all completed or failed by then)
and runs one full collection and ``malloc_trim`` (glibc only; skipped elsewhere). The cost is a
few milliseconds per burst; a broker without failed handshakes never pays it.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable

#: Handshakes not completed since the last collection that make the next one worth running.
BURST = 64


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class FailedHandshakeCollector:
    """Counts TLS handshakes begun and completed; ``tick`` frees a burst of failures once it is over."""

    def __init__(self, handshake_timeout_s: float) -> None:
        self.handshake_timeout_s = handshake_timeout_s
        self.accepted = 0
        self.completed = 0
        self.collections = 0
        self._counted = 0  # accepted - completed at the last scheduling
        self._due: float | None = None
        self._trim = _find_malloc_trim()

    def tick(self, now: float) -> None:
        """Called periodically with a monotonic time (seconds)."""
        if self._due is not None:
            if now >= self._due:
                self._due = None
                self.release()
            return
        unfinished = self.accepted - self.completed
        if unfinished - self._counted >= BURST:
            self._counted = unfinished
            self._due = now + self.handshake_timeout_s + 0.5

    def release(self) -> None:
        self.collections += 1
        gc.collect()
        if self._trim is not None:
            self._trim(0)
