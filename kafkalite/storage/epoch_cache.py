"""The leader epoch cache of one partition log (Kafka's LeaderEpochFileCache).

Owns the ordered (epoch, start offset) entries of a partition: the first offset each leader
epoch wrote. Followers find where their log diverged from the leader's with it
(OffsetForLeaderEpoch), and consumers detect truncation after an unclean election.

Persisted as Kafka's ``leader-epoch-checkpoint`` in the partition directory: a version line
(0), an entry count, then ``epoch start_offset`` lines. Written atomically (temporary file,
rename) through the storage FileSystem. As in Kafka, a new entry (``assign``) is written at
once, so the file never misses an entry after a kill -9; its fsync (power loss) is a job
handed to ``submit`` (a worker thread in the broker: a leader election over thousands of
partitions must not fsync each on the event loop; inline without one). Truncations are
written without an fsync (the loader truncates stale entries to the log's range anyway).
A write that fails (a full disk) removes the file instead, so a restart rebuilds the
entries from the batches' partitionLeaderEpoch rather than trusting a stale file; the next
change (or ``flush``) writes it again.

Knows nothing of segments: the partition log calls it (``storage/log.py``).
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
from pathlib import Path
from typing import NamedTuple

from kafkalite.storage.fs import REAL_FS, FileSystem, write_all
from kafkalite.storage.jobs import FsyncJob, Submit

log = logging.getLogger(__name__)

LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class EpochEntry(NamedTuple):
    epoch: int
    start_offset: int


def encode_entries(entries: list[EpochEntry]) -> bytes:
    """Kafka's leader-epoch-checkpoint: ``0``, the count, then ``epoch start_offset`` per line."""
    lines = ["0", str(len(entries))] + [f"{e.epoch} {e.start_offset}" for e in entries]
    return ("\n".join(lines) + "\n").encode()


def decode_entries(text: str) -> list[EpochEntry] | None:
    """Entries of a checkpoint file; None if it is not one (unknown version, torn, garbled)."""
    lines = text.splitlines()
    if len(lines) < 2 or lines[0].strip() != "0":
        return None
    try:
        count = int(lines[1])
        rows = lines[2 : 2 + count]
        if len(rows) != count:
            return None
        entries = []
        for row in rows:
            epoch, offset = row.split()
            entries.append(EpochEntry(int(epoch), int(offset)))
    except ValueError:
        return None
    return entries


class LeaderEpochCache:
    """(epoch, start offset) entries, both strictly increasing; see the module docstring."""

    def __init__(
        self,
        directory: Path,
        fs: FileSystem = REAL_FS,
        entries: list[EpochEntry] | None = None,
        submit: Submit | None = None,
    ) -> None:
        self.path = directory / LEADER_EPOCH_CHECKPOINT
        self._fs = fs
        self._submit = submit  # where fsyncs run (None: inline, before the rename)
        self._entries: list[EpochEntry] = list(entries or [])
        self._epochs: list[int] = [e.epoch for e in self._entries]  # for bisection
        self.dirty = False  # the file does not hold the entries (a write failed); ``flush`` retries

    # ---- loading -------------------------------------------------------------------------------

    @classmethod
    def read(cls, directory: Path, fs: FileSystem = REAL_FS, submit: Submit | None = None) -> LeaderEpochCache | None:
        """The cache persisted in ``directory``; None when there is no usable file (rebuild it)."""
        path = directory / LEADER_EPOCH_CHECKPOINT
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            log.warning("unreadable %s: rebuilt from the log", path)
            return None
        entries = decode_entries(text)
        if entries is None:
            log.warning("malformed %s: rebuilt from the log", path)
            return None
        cache = cls(directory, fs, submit=submit)
        for entry in entries:  # through assign's rules, as Kafka reads it: a bad file cannot break order
            if entry.epoch >= 0 and entry.start_offset >= 0:
                cache._assign(entry)
        return cache

    # ---- reading -------------------------------------------------------------------------------

    @property
    def entries(self) -> list[EpochEntry]:
        """A copy of the entries, oldest first."""
        return list(self._entries)

    @property
    def latest_epoch(self) -> int:
        """The newest epoch, or -1 (UNDEFINED) when there is none."""
        return self._entries[-1].epoch if self._entries else UNDEFINED_EPOCH

    def latest_entry(self) -> EpochEntry | None:
        return self._entries[-1] if self._entries else None

    def previous_epoch(self, epoch: int) -> int | None:
        """The largest epoch below ``epoch`` (Kafka's previousEpoch(epoch))."""
        i = bisect.bisect_left(self._epochs, epoch)
        return self._epochs[i - 1] if i > 0 else None

    def epoch_for_offset(self, offset: int) -> int | None:
        """The epoch that wrote ``offset``: the entry with the largest start offset <= ``offset``."""
        found = None
        for entry in self._entries:
            if entry.start_offset > offset:
                break
            found = entry.epoch
        return found

    def end_offset_for(self, requested_epoch: int, log_end_offset: int) -> tuple[int, int]:
        """(epoch, end offset) for OffsetForLeaderEpoch, by Kafka's rules (``endOffsetFor``).

        - UNDEFINED (-1) requested, or an epoch above every known one: (-1, -1);
        - the latest epoch: (it, the log end offset) -- the leader is still writing it;
        - otherwise the largest known epoch <= the requested one, ended by the next epoch's start
          offset; below every known epoch: (the requested epoch, the first epoch's start offset).
        """
        entries = self._entries
        if requested_epoch == UNDEFINED_EPOCH:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if entries and entries[-1].epoch == requested_epoch:
            return requested_epoch, log_end_offset
        higher = bisect.bisect_right(self._epochs, requested_epoch)
        if higher == len(entries):
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if higher == 0:
            return requested_epoch, entries[0].start_offset
        return entries[higher - 1].epoch, entries[higher].start_offset

    # ---- changing ------------------------------------------------------------------------------

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that ``epoch`` starts at ``start_offset``; written (and fsynced) at once if it changed.

        Kafka's rules: nothing changes when ``epoch`` is already the latest and starts no later;
        otherwise entries that would break monotonicity (epoch >= ``epoch`` or start offset >=
        ``start_offset``) are removed first. Returns whether the entries changed.
        """
        if epoch < 0 or start_offset < 0:
            raise ValueError(f"invalid leader epoch entry ({epoch}, {start_offset})")
        if not self._assign(EpochEntry(epoch, start_offset)):
            return False
        self.write(sync=True)
        return True

    def assign_unsaved(self, epoch: int, start_offset: int) -> bool:
        """``assign`` without writing the file (rebuilding many entries: ``write`` once after)."""
        return self._assign(EpochEntry(epoch, start_offset))

    def _assign(self, entry: EpochEntry) -> bool:
        latest = self._entries[-1] if self._entries else None
        if latest is not None and latest.epoch == entry.epoch and entry.start_offset >= latest.start_offset:
            return False
        removed = 0
        while self._entries and (
            self._entries[-1].epoch >= entry.epoch or self._entries[-1].start_offset >= entry.start_offset
        ):
            gone = self._entries.pop()
            self._epochs.pop()
            removed += 1
            if removed > 1 or gone.start_offset != entry.start_offset:
                log.warning("new epoch entry %s truncated the conflicting entry %s of %s", entry, gone, self.path)
        self._entries.append(entry)
        self._epochs.append(entry.epoch)
        return True

    def truncate_from_end(self, end_offset: int) -> bool:
        """Remove entries starting at or after ``end_offset`` (the log was truncated there)."""
        if end_offset < 0 or not self._entries or self._entries[-1].start_offset < end_offset:
            return False
        while self._entries and self._entries[-1].start_offset >= end_offset:
            self._entries.pop()
            self._epochs.pop()
        self.write(sync=False)
        return True

    def truncate_from_start(self, start_offset: int) -> bool:
        """Drop entries wholly below ``start_offset``; the epoch covering it now starts there.

        Exclusive, as Kafka's: truncating from 6 keeps an entry starting at 6.
        """
        removed: EpochEntry | None = None
        while self._entries and self._entries[0].start_offset <= start_offset:
            removed = self._entries.pop(0)
            self._epochs.pop(0)
        if removed is None:
            return False
        self._entries.insert(0, EpochEntry(removed.epoch, start_offset))
        self._epochs.insert(0, removed.epoch)
        self.write(sync=False)
        return True

    def clear(self) -> None:
        """Forget every entry (the log was truncated fully)."""
        if self._entries:
            self._entries.clear()
            self._epochs.clear()
            self.write(sync=False)

    # ---- persistence ---------------------------------------------------------------------------

    def write(self, sync: bool = True) -> bool:
        """Replace the checkpoint file with the entries; on failure remove it (see the module doc).

        Returns whether the file now holds the entries. Never raises for a full disk or an I/O
        error: the cache in memory stays right, ``dirty`` says a write is due.
        """
        tmp = self.path.with_name(self.path.name + ".tmp")
        fs = self._fs
        try:
            fd = fs.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                write_all(fs, fd, encode_entries(self._entries))
                if sync and self._submit is None:
                    fs.fsync(fd)
            finally:
                fs.close(fd)
            fs.replace(tmp, self.path)
            if sync and self._submit is not None:
                # Inline (tools, tests) a failed fsync raises here; in a worker it is logged there.
                self._submit(FsyncJob(paths=[self.path], dirs=[self.path.parent], fs=fs))
        except FileNotFoundError:  # the partition directory is gone (deleted, moved): nothing to keep
            self.dirty = False
            return False
        except OSError as exc:
            log.warning("could not write %s (%s): removed, rebuilt from the log at the next start", self.path, exc)
            for path in (tmp, self.path):
                with contextlib.suppress(OSError):
                    fs.unlink(path)
            self.dirty = True
            return False
        self.dirty = False
        return True

    def flush(self) -> bool:
        """Write the file again if a previous write failed; True when it is up to date."""
        return self.write(sync=True) if self.dirty else True
