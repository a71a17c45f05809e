"""Open segment files, bounded per broker: a least-recently-used cache of file descriptors.

Kafka keeps every segment file open and asks for a high ``ulimit -n``; kfake opens segments
lazily. Here a segment's ``.log`` costs a file descriptor only while it is in use: a
``LazyFile`` opens its file on first use and registers the descriptor with the broker's
``FileHandles``, which closes the least recently used one when more than ``capacity`` are open
and, on the server's periodic sweep, those not used since the sweep before. A closed file is
reopened on the next use, transparently. Data is always written with ``pwrite`` at explicit
positions and fsync works on the file, not the descriptor, so closing and reopening loses
nothing.

Owned by one broker (``BrokerState.file_handles``); two brokers in one process have two caches.
The event loop is the only user: a worker thread that must fsync uses ``fsync_detached``, which
opens a descriptor of its own and so never races the cache.
"""

from __future__ import annotations

import errno
import os
import resource
from collections import OrderedDict
from pathlib import Path

#: Descriptors kept free for sockets, metadata logs and short-lived files when the cap is
#: derived from RLIMIT_NOFILE.
SOCKET_RESERVE = 256
MIN_CAPACITY = 16


def default_capacity() -> int:
    """Half the soft ``RLIMIT_NOFILE``, and at least ``SOCKET_RESERVE`` descriptors left over."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 1 << 20
    return max(MIN_CAPACITY, min(soft // 2, soft - SOCKET_RESERVE))


class FileHandles:
    """The open descriptors of one broker's segment files, least recently used first."""

    def __init__(self, capacity: int | None = None) -> None:
        """``capacity`` None or below 1: derived from RLIMIT_NOFILE (``default_capacity``)."""
        self.capacity = capacity if capacity is not None and capacity > 0 else default_capacity()
        self._open: OrderedDict[LazyFile, None] = OrderedDict()
        self.generation = 0  # advanced by every idle sweep; a file remembers the one it was last used in
        self.opened = 0  # descriptors opened so far (reopens included): for tests and metrics
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._open)

    def _register(self, f: LazyFile) -> None:
        self.opened += 1
        self._open[f] = None
        while len(self._open) > self.capacity:
            oldest = next(iter(self._open))
            if oldest is f:  # capacity below 1 cannot happen, but never close what is being handed out
                break
            self.evicted += 1
            oldest._release()

    def _touch(self, f: LazyFile) -> None:
        self._open.move_to_end(f)

    def _forget(self, f: LazyFile) -> None:
        self._open.pop(f, None)

    def shrink(self, count: int) -> int:
        """Close the ``count`` least recently used files; returns how many were closed."""
        closed = 0
        while self._open and closed < count:
            next(iter(self._open))._release()
            closed += 1
        self.evicted += closed
        return closed

    def sweep_idle(self) -> int:
        """Close the files not used since the previous sweep; returns how many were closed."""
        current = self.generation
        self.generation += 1
        closed = 0
        while self._open:
            oldest = next(iter(self._open))
            if oldest._used >= current:
                break
            oldest._release()
            closed += 1
        return closed

    def close_all(self) -> None:
        while self._open:
            next(iter(self._open))._release()


class LazyFile:
    """One file opened read-write (created if missing) only when a descriptor is asked for."""

    __slots__ = ("_fd", "_handles", "_used", "path")

    def __init__(self, path: Path, handles: FileHandles) -> None:
        self.path = path
        self._handles = handles
        self._fd = -1
        self._used = 0

    @property
    def is_open(self) -> bool:
        return self._fd >= 0

    def fd(self) -> int:
        """A descriptor valid until the next call that may open another file: use it at once."""
        handles = self._handles
        self._used = handles.generation
        fd = self._fd
        if fd >= 0:
            handles._touch(self)
            return fd
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            # Out of descriptors (sockets took more than the cap left them): give back half of
            # the cache and try once more, rather than fail the read or append.
            if exc.errno not in (errno.EMFILE, errno.ENFILE) or not handles.shrink(len(handles) // 2 + 1):
                raise
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self._fd = fd
        handles._register(self)
        return fd

    def _release(self) -> None:
        fd, self._fd = self._fd, -1
        self._handles._forget(self)
        if fd >= 0:
            os.close(fd)

    def close(self) -> None:
        self._release()

    def fsync_detached(self) -> None:
        """fsync through a descriptor of its own (safe in a worker thread); a removed file is a no-op."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
