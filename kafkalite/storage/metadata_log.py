"""An append-only log of JSON records for coordinator state (groups, offsets).

The Kafka way: state changes are appended before they are acknowledged and replayed on
start. Each line is ``<crc32c hex> <json>``; a torn or corrupt tail (a crash mid-write) is
truncated on replay. When the log grows past ``compact_bytes`` it is rewritten from a
snapshot of the live state, atomically.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kafkalite.records.checksum import crc32c
from kafkalite.storage.fs import REAL_FS, FileSystem, atomic_write

log = logging.getLogger(__name__)


def _line(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, separators=(",", ":")).encode()
    return b"%08x %s\n" % (crc32c(body), body)


class MetadataLog:
    def __init__(self, path: Path, compact_bytes: int = 16 * 1024 * 1024, fs: FileSystem = REAL_FS) -> None:
        self.path = path
        self._fs = fs
        self.compact_bytes = compact_bytes
        self._fd: int | None = None
        self._size = 0

    def replay(self) -> Iterator[dict[str, Any]]:
        """Yield every intact record, then truncate whatever follows the last one."""
        data = self.path.read_bytes() if self.path.exists() else b""
        good = 0
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n") or len(raw) < 10:
                break
            try:
                crc = int(raw[:8], 16)
                body = raw[9:-1]
                if crc32c(body) != crc:
                    break
                record = json.loads(body)
            except ValueError:
                break
            good += len(raw)
            yield record
        if good != len(data):
            log.warning("truncating %d bytes of torn tail from %s", len(data) - good, self.path)
            with open(self.path, "r+b") as fh:
                fh.truncate(good)
        self._size = good

    def open(self) -> None:
        self._fd = self._fs.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size

    def append(self, record: dict[str, Any]) -> None:
        assert self._fd is not None, "open() first"
        line = _line(record)
        self._fs.write(self._fd, line)
        self._size += len(line)

    def append_batch(self, records: list[dict[str, Any]]) -> None:
        """Append several records with one write; on failure (ENOSPC, EIO) the file is cut back, nothing lands."""
        assert self._fd is not None, "open() first"
        data = b"".join(_line(r) for r in records)
        try:
            written = self._fs.write(self._fd, data)
            if written != len(data):
                raise OSError(28, "short write to the metadata log")
        except OSError:
            try:
                self._fs.ftruncate(self._fd, self._size)
            except OSError:
                log.exception("could not cut back %s after a failed write", self.path)
            raise
        self._size += len(data)

    def maybe_compact(self, snapshot: Callable[[], list[dict[str, Any]]]) -> bool:
        """Rewrite the log from ``snapshot()`` once it has grown past the threshold."""
        if self._size < self.compact_bytes:
            return False
        records = snapshot()
        atomic_write(self.path, b"".join(_line(r) for r in records), self._fs)
        if self._fd is not None:
            self._fs.close(self._fd)
        self.open()
        return True

    def flush(self) -> None:
        if self._fd is not None:
            self._fs.fsync(self._fd)

    def close(self) -> None:
        """fsync and close; the file is closed even when the fsync fails (which is raised)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                self._fs.fsync(fd)
            finally:
                self._fs.close(fd)
