"""Blocking storage work handed to a worker thread: fsyncs, file writes, removals.

The event loop owns every segment, index and list of segments, so a job must never reach
back into them. Each job is built on the loop from what it needs and nothing else: a
duplicate of a file descriptor (``os.dup``: it stays valid whatever the loop does with the
original), the bytes to write, or the paths of files and directories already renamed out of
the live log (``.deleted`` segments, ``-delete`` directories). The worker only runs
``run()``; whoever schedules it (the broker's executor, or the caller itself when there is no
event loop) decides where.

Jobs never raise for files that vanished meanwhile (a partition deleted while its roll was
being synced): there is nothing left to make durable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kafkalite.storage import catalog
from kafkalite.storage.fs import REAL_FS, FileSystem

log = logging.getLogger(__name__)


class Job(Protocol):
    """Blocking work that touches no live storage object."""

    def run(self) -> None: ...

    def discard(self) -> None:
        """Release what the job holds (duplicated descriptors) without running it."""
        ...


#: Runs a job somewhere (a worker thread in the broker, inline without an event loop).
Submit = Callable[[Job], None]


def run_inline(job: Job) -> None:
    """The default scheduler: run at once, on the caller's thread (tools and unit tests)."""
    job.run()


def fsync_path(path: Path, directory: bool = False, fs: FileSystem = REAL_FS) -> None:
    """fsync a file or directory by path; a path that no longer exists is skipped."""
    try:
        if directory:
            catalog.fsync_dir(path)
            return
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fs.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class FsyncJob:
    """fsync duplicated descriptors (segment logs) and files by path (their indexes)."""

    fds: list[int] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)  # directories whose renames must be durable
    after: list[Job] = field(default_factory=list)  # run once the fsyncs are done (a snapshot)
    fs: FileSystem = REAL_FS  # the broker's file system seam (a test's FaultyFS fails syncs here too)

    def run(self) -> None:
        try:
            for fd in self.fds:
                self.fs.fsync(fd)
        finally:
            self.discard_fds()
        for path in self.paths:
            fsync_path(path, fs=self.fs)
        for directory in self.dirs:
            fsync_path(directory, directory=True)
        for job in self.after:
            job.run()

    def discard_fds(self) -> None:
        fds, self.fds = self.fds, []
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def discard(self) -> None:
        self.discard_fds()
        for job in self.after:
            job.discard()

    def __bool__(self) -> bool:
        return bool(self.fds or self.paths or self.dirs or self.after)


@dataclass
class WriteFileJob:
    """Replace a file atomically (write, fsync, rename, fsync the directory)."""

    path: Path
    data: bytes
    failed: bool = False  # set by the worker: whoever made the job writes the file again later
    fs: FileSystem = REAL_FS

    def run(self) -> None:
        try:
            catalog.atomic_write(self.path, self.data, self.fs)
        except FileNotFoundError:  # the directory was deleted meanwhile
            return
        except OSError:
            self.failed = True
            raise

    def discard(self) -> None:
        return None


@dataclass
class SnapshotJob:
    """Write a producer snapshot into a partition directory held open by descriptor, keep the newest.

    The directory descriptor is taken on the loop: if the partition is deleted (its directory
    renamed to ``-delete``) or even recreated under the same name before the job runs, the
    snapshot still lands in the directory it describes, never in a newer one.
    """

    dir_fd: int
    name: str
    data: bytes
    keep: int = 2
    fs: FileSystem = REAL_FS  # writes and syncs go through it; the open is relative to ``dir_fd``

    def run(self) -> None:
        try:
            tmp = self.name + ".tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=self.dir_fd)
            try:
                view = memoryview(self.data)
                while view:
                    view = view[self.fs.write(fd, view) :]
                self.fs.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            os.fsync(self.dir_fd)
            snapshots = sorted(n for n in os.listdir(self.dir_fd) if n.endswith(".snapshot") and n[:-9].isdigit())
            for old in snapshots[: -self.keep]:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(old, dir_fd=self.dir_fd)
        finally:
            self.discard()

    def discard(self) -> None:
        fd, self.dir_fd = self.dir_fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class RemoveJob:
    """Remove files and directories that were renamed out of the live log first."""

    paths: list[Path] = field(default_factory=list)

    def run(self) -> None:
        for path in self.paths:
            try:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
            except OSError:
                log.exception("could not remove %s; a restart removes it", path)

    def discard(self) -> None:
        return None

    def __bool__(self) -> bool:
        return bool(self.paths)
