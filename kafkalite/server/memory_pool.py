"""The broker-wide cap on bytes held in received, unhandled requests (``queued.max.request.bytes``).

Kafka's SocketServer allocates every incoming request from one MemoryPool; when the pool is
exhausted, connections that would start reading a new request are muted until memory is
released (after the request was handled), and then all of them are unmuted. This is the same
for kafkalite's connections:

- a connection takes from the pool the bytes of every whole frame it queued, and the declared
  size of the frame it is in the middle of receiving, once granted (Kafka allocates the whole
  request when it has read the size prefix; a granted frame is always read to its end, so
  memory held by half-received frames always comes free);
- a frame is granted only while the pool has room; while the pool is full, a connection that
  holds request bytes (queued, in processing) and no grant stops reading (muted). Like Kafka's
  non-strict pool, a grant may take the pool past its capacity, and bytes already read when the
  pool filled are kept (at most one socket read per connection);
- a frame's bytes are released when its request has been handled, or when the connection
  closes; when the pool drops below capacity, every muted connection resumes reading, and a
  muted connection whose requests have all been handled resumes at once.

One difference from Kafka, on purpose: Kafka reads nothing at all while its pool is exhausted,
but it also reads only one request per connection at a time, while kafkalite reads up to 16
pipelined requests ahead. Here the pool caps that read-ahead: a connection holding no request
bytes may still read its next request, so a client whose requests are being answered keeps
being answered while another's pipelined flood waits. Memory held is then bounded by the pool
plus one request (at most ``socket.request.max.bytes``) per connection.

Capacity -1 (Kafka's default) means no pool at all: connections skip the accounting.
"""

from __future__ import annotations

from typing import Protocol


class Mutable(Protocol):
    def memory_available(self) -> None: ...


class RequestMemoryPool:
    """Owned by one server; the event loop is its only user."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self.peak = 0  # the most ever held: for tests and metrics
        self._muted: set[Mutable] = set()

    @property
    def exhausted(self) -> bool:
        return self.used >= self.capacity

    @property
    def muted(self) -> int:
        return len(self._muted)

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.peak:
            self.peak = self.used

    def release(self, n: int) -> None:
        was_exhausted = self.exhausted
        self.used -= n
        if was_exhausted and not self.exhausted and self._muted:
            muted, self._muted = self._muted, set()
            for conn in muted:
                conn.memory_available()

    def wait(self, conn: Mutable) -> None:
        """``conn`` stopped reading; it is told when memory comes free."""
        self._muted.add(conn)

    def forget(self, conn: Mutable) -> None:
        self._muted.discard(conn)
