"""An append-only log of JSON records for coordinator state (groups, offsets).

The Kafka way: state changes are appended before they are acknowledged and replayed on
start. Each line is ``<crc32c hex> <json>``; a torn or corrupt tail (a crash mid-write) is
truncated on replay. When the log grows past ``compact_bytes`` it is rewritten from a
snapshot of the live state, atomically.

Compaction runs off the event loop (``compaction_job`` / ``finish_compaction``): the snapshot
is serialised on the loop, written and fsynced to ``<name>.compact`` by a worker, and records
appended meanwhile are copied after it (another fsync in the worker) before the loop renames
the file into place, so no record acknowledged in the old file is missing from the new one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafkalite.records.checksum import crc32c
from kafkalite.storage.fs import REAL_FS, FileSystem, atomic_write, write_all
from kafkalite.storage.jobs import FsyncJob

log = logging.getLogger(__name__)


def unsaved_message(exc: OSError) -> str:
    """The error_message of an admin change answered KAFKA_STORAGE_ERROR because its record could not be written."""
    return f"could not be saved: {exc.strerror or exc}"


def _line(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, separators=(",", ":")).encode()
    return b"%08x %s\n" % (crc32c(body), body)


#: Rounds of copying records that arrived during a compaction before the loop copies the rest itself.
_COMPACTION_ROUNDS = 3


@dataclass
class CompactionJob:
    """Write (first round) or extend (later rounds) the compacted file, then fsync it: worker thread only."""

    path: Path
    data: bytes
    copied: int  # bytes of the live log that ``path`` holds the equivalent of, once this job ran
    first: bool = True
    rounds: int = 0
    fs: FileSystem = REAL_FS  # the broker's file system seam

    def run(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if self.first else os.O_APPEND)
        fd = self.fs.open(self.path, flags, 0o644)
        try:
            write_all(self.fs, fd, self.data)
            self.fs.fsync(fd)
        finally:
            self.fs.close(fd)

    def discard(self) -> None:
        return None


class MetadataLog:
    def __init__(self, path: Path, compact_bytes: int = 16 * 1024 * 1024, fs: FileSystem = REAL_FS) -> None:
        self.path = path
        self._fs = fs
        self.compact_bytes = compact_bytes
        self._fd: int | None = None
        self._size = 0
        self._compaction: CompactionJob | None = None
        self._compact_path = path.with_name(path.name + ".compact")

    def replay(self) -> Iterator[dict[str, Any]]:
        """Yield every intact record, then truncate whatever follows the last one."""
        self._compact_path.unlink(missing_ok=True)  # an interrupted compaction: the log itself is whole
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

    def append_durably(self, records: list[dict[str, Any]], sync: bool) -> None:
        """``append_batch``, then (``sync``: ``--fsync always``) fsync; all-or-nothing either way.

        A failed fsync cuts the records back off too: the caller answers that nothing changed,
        so they must not come back at the next replay.
        """
        before = self._size
        self.append_batch(records)
        if not sync:
            return
        try:
            self.flush()
        except OSError:
            assert self._fd is not None
            try:
                self._fs.ftruncate(self._fd, before)
                self._size = before
            except OSError:
                log.exception("could not cut back %s after a failed fsync", self.path)
            raise

    def compact_quietly(self, snapshot: Callable[[], list[dict[str, Any]]]) -> None:
        """``maybe_compact`` after a change already durable: its failure (a full disk) is no error of the change.

        The log is whole either way (the rewrite is an atomic replace); compaction is tried again
        after the next change.
        """
        try:
            self.maybe_compact(snapshot)
        except OSError as exc:
            log.warning("could not compact %s: %s", self.path, exc)

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

    def compaction_job(self, snapshot: Callable[[], list[dict[str, Any]]]) -> CompactionJob | None:
        """Start compacting once the log has grown past the threshold: run the job in a worker."""
        if self._size < self.compact_bytes or self._compaction is not None or self._fd is None:
            return None
        data = b"".join(_line(r) for r in snapshot())
        self._compaction = CompactionJob(self._compact_path, data, self._size, fs=self._fs)
        return self._compaction

    def finish_compaction(self) -> CompactionJob | FsyncJob:
        """On the loop, after the job ran: another round for records appended meanwhile, or the swap.

        Returns the next job: a CompactionJob to run again, or (the swap done) the FsyncJob
        that makes the rename durable.
        """
        job = self._compaction
        assert job is not None, "compaction_job() first"
        tail = b""
        if self._size > job.copied:
            with open(self.path, "rb") as fh:
                fh.seek(job.copied)
                tail = fh.read(self._size - job.copied)
        if tail and job.rounds < _COMPACTION_ROUNDS:
            job.data, job.copied, job.first = tail, self._size, False
            job.rounds += 1
            return job
        if tail:  # appends outpace the worker: copy the last bit here
            job.data, job.copied, job.first = tail, self._size, False
            job.run()
        self._compaction = None
        os.replace(self._compact_path, self.path)
        if self._fd is not None:
            os.close(self._fd)
        self.open()
        return FsyncJob(dirs=[self.path.parent], fs=self._fs)

    def abandon_compaction(self) -> None:
        """The job failed: keep the log as it is, try again later."""
        self._compaction = None
        self._compact_path.unlink(missing_ok=True)

    def flush(self) -> None:
        if self._fd is not None:
            self._fs.fsync(self._fd)

    def close(self) -> None:
        """fsync and close; the file is closed even when the fsync fails (which is raised)."""
        if self._compaction is not None:
            self.abandon_compaction()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                self._fs.fsync(fd)
            finally:
                self._fs.close(fd)
